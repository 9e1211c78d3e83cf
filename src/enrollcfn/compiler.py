"""Compile a Config into CloudFormation YAML, check quotas, and write build/.

`compile_all(cfg)` is pure: the same config always gives the same bytes. Writing touches only
files whose content changed, so running `make templates` twice leaves git clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from troposphere import Template

from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from templates import NESTED, ROOT, STANDALONE, catalog, root

CATALOG = "catalog"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / "build"
LINT_CONFIG = PROJECT_ROOT / ".cfnlintrc"

# CloudFormation quotas (per template).
BODY_LIMIT = 51_200  # bytes, a template passed as TemplateBody: the standalone stacks
URL_LIMIT = 1_000_000  # bytes, a template read from S3: the root and its children
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200


@dataclass(frozen=True)
class Compiled:
    """The rendered templates in deploy order (standalone, nested children, root, catalog)."""

    templates: dict[str, str]
    objects: dict[str, Template]

    def filenames(self) -> dict[str, str]:
        return {name: f"{name}.yaml" for name in self.templates}


def compile_all(cfg: Config) -> Compiled:
    """Build every template for `cfg` and render it to YAML. Raises CompileError on bad wiring
    or a template over a CloudFormation quota."""
    objects: dict[str, Template] = {}
    for spec in STANDALONE + NESTED:
        objects[spec.name] = _built(spec.name, lambda: spec.build(cfg))
    objects[ROOT] = _built(ROOT, lambda: root.build(cfg, {s.name: objects[s.name] for s in NESTED}))
    # Derived last: the launch role may do what provisioning the product (root + children) needs.
    objects[CATALOG] = _built(CATALOG, lambda: catalog.build(cfg, product_resource_types(objects)))
    rendered = {name: t.to_yaml(long_form=False) for name, t in objects.items()}
    standalone = {s.name for s in STANDALONE} | {CATALOG}
    for name, t in objects.items():
        check_quotas(name, t, rendered[name], BODY_LIMIT if name in standalone else URL_LIMIT)
    return Compiled(templates=rendered, objects=objects)


def product_resource_types(objects: dict[str, Template]) -> set[str]:
    """The resource types of the Service Catalog product: the root and its nested children."""
    return {r.resource_type for name in (ROOT, *(s.name for s in NESTED)) for r in objects[name].resources.values()}


def _built(name: str, build) -> Template:
    """Run one builder; troposphere's own quota checks raise ValueError, reported per template."""
    try:
        return build()
    except ValueError as exc:
        if "Maximum number of" in str(exc):
            raise CompileError(name, f"{exc}; CloudFormation's quota per template") from None
        raise


def check_quotas(name: str, t: Template, body: str, byte_limit: int) -> None:
    """Raise CompileError naming the template when it is over a CloudFormation quota."""
    size = len(body.encode("utf-8"))
    how = "a TemplateBody" if byte_limit == BODY_LIMIT else "an S3 template"
    checks = (
        (size, byte_limit, f"bytes ({how})"),
        (len(t.resources), MAX_RESOURCES, "resources"),
        (len(t.parameters), MAX_PARAMETERS, "parameters"),
        (len(t.outputs), MAX_OUTPUTS, "outputs"),
    )
    for value, limit, what in checks:
        if value > limit:
            raise CompileError(name, f"template has {value} {what}; CloudFormation allows at most {limit}")


def write(templates: dict[str, str], out_dir: Path) -> list[Path]:
    """Write each template to `out_dir/<name>.yaml`; remove stale templates. Returns changed files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in templates.items():
        path = out_dir / f"{name}.yaml"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in sorted(out_dir.glob("*.yaml")):
        if stale.stem not in templates:
            stale.unlink()
            changed.append(stale)
    return changed
