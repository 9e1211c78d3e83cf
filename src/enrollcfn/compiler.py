"""Compile a Config into one immutable `Build`: every stack's template, YAML bytes, content hash
and contract, plus the cost estimate and the lint findings, each computed once.

Everything downstream (writing build/, cost, packaging, deploy, publish) receives the `Build`;
nothing recompiles a stack or re-parses YAML the compiler produced. `compile(cfg)` is pure: the
same config always gives the same bytes.

Order: the standalone bootstrap stack and the nested children are built first; the cost of all
of them sizes the monthly budget, which the root passes to the monitoring stack as a Parameter
default (an input, so no template builder needs the estimator); the root wires the children; the
catalog stack's launch role is derived last from the product's resource types.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from importlib import resources
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from troposphere import Template

from enrollcfn import cache as _cache
from enrollcfn import cost, price_table
from enrollcfn.config import Config, regions
from enrollcfn.errors import CompileError, LintError
from enrollcfn.templates import CATALOG, DELIVERY, NESTED, ROOT, STANDALONE, catalog, delivery, root
from enrollcfn.templates.monitoring import MONTHLY_BUDGET, OPTIONAL_TYPES

BUILD_DIR = Path("build")  # where `build` writes and `lint` reads by default: the working directory's
# cfn-lint's configuration of the templates, installed with them (enrollcfn.templates).
LINT_CONFIG = Path(str(resources.files("enrollcfn.templates").joinpath(".cfnlintrc")))

# CloudFormation quotas per template (AWS CloudFormation User Guide, "Quotas").
BODY_LIMIT = 51_200  # bytes, a template passed as TemplateBody: the standalone stacks
URL_LIMIT = 1_000_000  # bytes, a template read from S3: the root and its children
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200

STANDALONE_NAMES = frozenset({s.name for s in STANDALONE} | {CATALOG, DELIVERY})
PRODUCT_NAMES = (*(s.name for s in NESTED), ROOT)  # what the root stack (and the catalog product) is made of


@dataclass(frozen=True)
class Contract:
    """What a stack promises its neighbours: the outputs it produces and the parameters it takes."""

    outputs: tuple[str, ...]
    parameters: Mapping[str, Mapping]  # name -> the Parameter's properties (Type, Default, ...)

    @classmethod
    def of(cls, doc: Mapping) -> Contract:
        params = {name: MappingProxyType(dict(p)) for name, p in doc.get("Parameters", {}).items()}
        return cls(tuple(doc.get("Outputs", {})), MappingProxyType(params))

    def defaults(self) -> dict[str, str]:
        """Every parameter's default as the string CloudFormation is sent."""
        return {k: _parameter_text(p["Default"]) for k, p in self.parameters.items() if "Default" in p}


@dataclass(frozen=True)
class Stack:
    """One compiled template. `doc` is the template as plain data, exactly what `body` decodes to
    (intrinsics in long form); treat it as read-only."""

    name: str
    body: bytes
    doc: Mapping
    digest: str  # sha256 of body, hex
    contract: Contract

    @property
    def filename(self) -> str:
        return f"{self.name}.yaml"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def standalone(self) -> bool:
        """Deployed on its own with a TemplateBody (bootstrap, catalog), not read from S3."""
        return self.name in STANDALONE_NAMES

    @property
    def resource_types(self) -> frozenset[str]:
        return frozenset(r["Type"] for r in self.doc.get("Resources", {}).values())


@dataclass(frozen=True)
class Build:
    """The result of one compile: stacks in deploy order, their cost, and the lint findings
    (None when the build was not linted, e.g. for `enrollcfn cost`). `warnings` are (key,
    message) pairs the commands print (an estimate with unpriced lines); `prices` is the price
    table the estimate used (None for a build read back from a directory)."""

    region: str
    stacks: Mapping[str, Stack]
    cost: cost.Estimate
    findings: tuple | None = None
    warnings: tuple[tuple[str, str], ...] = ()
    prices: price_table.PriceTable | None = None

    def __getitem__(self, name: str) -> Stack:
        return self.stacks[name]

    def bodies(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """Stack name -> YAML text, for the named stacks (default all)."""
        return {n: self.stacks[n].text for n in (self.stacks if names is None else names)}

    def product(self) -> dict[str, Stack]:
        """The root and the stacks it nests: what a deploy uploads and Service Catalog launches."""
        return {n: self.stacks[n] for n in PRODUCT_NAMES}

    def with_findings(self, findings: Iterable) -> Build:
        return Build(self.region, self.stacks, self.cost, tuple(sorted(findings)), self.warnings, self.prices)


def compile(cfg: Config, usage: Mapping[str, float] | None = None, cache: bool = True,  # noqa: A001 - the verb is the API
            prices: price_table.PriceTable | None = None) -> Build:
    """Build, render and cost every template for `cfg`, once, with `prices` (default: the
    region's bundled table; a region without one gets unpriced lines and a warning). Raises
    CompileError on bad wiring, a resource type the region lacks or a template over a
    CloudFormation quota."""
    stacks: dict[str, Stack] = {}
    children: dict[str, Template] = {}
    for spec in STANDALONE + NESTED:
        template = _built(spec.name, lambda: spec.build(cfg))
        stacks[spec.name] = _render(spec.name, template, cache)
        children[spec.name] = template
    if cfg.delivery.enabled:  # off by default: build/ of the default config has no delivery.yaml
        stacks[DELIVERY] = _render(DELIVERY, _built(DELIVERY, lambda: delivery.build(cfg)), cache)
    check_region(cfg.region, {t for s in stacks.values() for t in s.resource_types})
    usage = dict(usage or cost.load_usage())
    prices = prices or price_table.for_region(cfg.region)
    docs = {n: s.doc for n, s in stacks.items()}
    before_root = cost.estimate(docs, cfg.region, usage, prices)
    budget = budget_amount(cfg, before_root, lambda: cost.estimate(docs, cfg.region, usage, prices.filled_from(price_table.dearest())))
    warnings = unpriced_warning(cfg, before_root, prices, budget)
    defaults = {MONTHLY_BUDGET: budget}
    nested = {s.name: children[s.name] for s in NESTED}
    stacks[ROOT] = _render(ROOT, _built(ROOT, lambda: root.build(cfg, nested, defaults)), cache)
    types = {t for n in PRODUCT_NAMES for t in stacks[n].resource_types}
    stacks[CATALOG] = _render(CATALOG, _built(CATALOG, lambda: catalog.build(cfg, types)), cache)
    # The root and the catalog stack hold no priced resources, so the estimate is complete.
    return Build(cfg.region, MappingProxyType(stacks), before_root, warnings=warnings, prices=prices)


def checked(cfg: Config, skip: Iterable[str] = (), cache: bool = True, prices: price_table.PriceTable | None = None) -> Build:
    """`compile(cfg)`, then cfn-lint over every stack but `skip` (in memory, results cached by
    content unless `cache` is False); LintError on any finding.

    No AWS call is made: every local check passes before a deploy or publish asks AWS anything."""
    from enrollcfn.lint import lint

    build = compile(cfg, cache=cache, prices=prices)
    used = {n: s.text for n, s in build.stacks.items() if n not in set(skip)}
    findings = lint(used, [cfg.region], LINT_CONFIG, cache=cache)
    if findings:
        raise LintError("cfn-lint", f"{len(findings)} finding(s); fix them or add a reasoned ignore to .cfnlintrc", at_keys(findings, used, cfg))
    return build.with_findings(findings)


def at_keys(findings: Iterable, bodies: Mapping[str, str], cfg: Config) -> list:
    """Each finding that traces back to a config value (lint.trace) as a ConfigError at its key,
    one bounded line saying the value and cfn-lint's complaint; the others as they are."""
    from enrollcfn.errors import ConfigError
    from enrollcfn.lint import one_line, trace

    leaves = config_leaves(cfg.model_dump())
    keys = trace(findings, bodies, leaves)
    out: list = []
    said_at: set[str] = set()  # one line per key, however many resources the value reaches
    for finding in findings:
        key = keys.get(finding)
        if key is None:
            out.append(finding)
            continue
        if key in said_at:
            continue
        said_at.add(key)
        value = leaves[key]
        said = finding.message.replace(repr(str(value)), "the value") if isinstance(value, str) else finding.message
        out.append(ConfigError(key, f"{one_line(repr(value), 60)} is refused by CloudFormation's schema ({finding.file}:{finding.line}: "
                                    f"{finding.rule} {one_line(said, 160)}); use a value the resource accepts"))
    return out


def config_leaves(data: object, key: str = "") -> dict[str, object]:
    """Dotted config key -> scalar, for every scalar in the dumped config."""
    out: dict[str, object] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(config_leaves(v, f"{key}.{k}" if key else str(k)))
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            out.update(config_leaves(v, f"{key}[{i}]"))
    else:
        out[key] = data
    return out


def check_region(region: str, types: set[str]) -> None:
    """CompileError keyed `region` when its CloudFormation lacks a resource type the stacks use
    (CloudFormation would refuse the whole template); nothing to check when cfn-lint has no list
    for the region. The root and catalog stacks add only types every region has."""
    offered = regions.cloudformation_types(region)
    # Custom:: types are the templates' own custom resources, backed by their Lambda functions.
    missing = sorted(t for t in types - offered if not t.startswith("Custom::")) if offered is not None else []
    if missing:
        fixes = [f"set {OPTIONAL_TYPES[t]} to build without it" for t in missing if t in OPTIONAL_TYPES]
        raise CompileError("region", f"CloudFormation in {region} offers no {', '.join(missing)}; {'; '.join(fixes) or 'choose another region'}")


def budget_amount(cfg: Config, estimate: cost.Estimate, with_fallback: Callable[[], cost.Estimate]) -> float | int:
    """monitoring.monthly_budget_usd, or the estimate in whole dollars rounded up, so a month on
    estimate does not cross 100 %. An unpriced line counts at the dearest bundled price file's
    figure (`with_fallback`): a budget a little high beats one that alerts every month; a line
    no file prices counts nothing."""
    if cfg.monitoring.monthly_budget_usd:
        amount = cfg.monitoring.monthly_budget_usd
    elif estimate.unpriced:
        amount = max(1, math.ceil(with_fallback().total))  # the Parameter's MinValue is 1
    else:
        amount = math.ceil(estimate.total)
    return int(amount) if float(amount).is_integer() else amount


def unpriced_warning(cfg: Config, estimate: cost.Estimate, prices: price_table.PriceTable, budget: float | int) -> tuple[tuple[str, str], ...]:
    """The one warning line for an estimate with unpriced lines (none when every line is priced)."""
    if not estimate.unpriced:
        return ()
    items = [line.item for line in estimate.unpriced]
    what = "no price data" if prices.empty else f"no figure for {', '.join(items[:3])}{', ...' if len(items) > 3 else ''}"
    note = f"; MonthlyBudgetUsd defaults to {budget} USD, those lines at the dearest bundled price (monitoring.monthly_budget_usd sets it)"
    return (("cost", f"{len(estimate.unpriced)} cost line(s) unpriced in {cfg.region} ({what}); "
             f"`enrollcfn prices --region {cfg.region} --out FILE` and --prices FILE price them"
             f"{'' if cfg.monitoring.monthly_budget_usd or not cfg.monitoring.budget else note}"),)  # fmt: skip


def stack_from_body(name: str, body: bytes) -> Stack:
    """A Stack read back from YAML written by a previous build (see output.read_build)."""
    from cfn_flip import load_yaml

    doc = json.loads(json.dumps(load_yaml(body.decode("utf-8"))))
    return Stack(name, body, doc, hashlib.sha256(body).hexdigest(), Contract.of(doc))


def _render(name: str, template: Template, cache: bool = True) -> Stack:
    """One to_dict, one JSON text, one YAML rendering; quotas checked on the result."""
    text = json.dumps(template.to_dict(), indent=1, sort_keys=True, separators=(",", ": "))
    body = _yaml(text, cache).encode("utf-8")
    doc = json.loads(text)
    check_quotas(name, doc, body, BODY_LIMIT if name in STANDALONE_NAMES else URL_LIMIT)
    return Stack(name, body, doc, hashlib.sha256(body).hexdigest(), Contract.of(doc))


YAML_FORMAT = 1  # bump when how the YAML is rendered changes (cfn-flip's options below)


def _yaml(text: str, use_cache: bool) -> str:
    """cfn-flip's short-form YAML of the template JSON `text`: half of a warm build's time, so it
    is kept in the user cache, keyed by the JSON and the versions of cfn-flip and PyYAML that
    render it (a changed template, or an upgrade, renders again)."""
    if not use_cache or _cache.disabled():
        return _flip(text)
    path = _cache.root() / "yaml" / f"{hashlib.sha256((_renderer() + text).encode('utf-8')).hexdigest()}.json"
    entry = _cache.read(path)
    if entry is not None and isinstance(entry.get("yaml"), str):
        return entry["yaml"]
    body = _flip(text)
    _cache.write(path, {"yaml": body})
    return body


def _flip(text: str) -> str:
    import cfn_flip

    return cfn_flip.to_yaml(text, clean_up=False, long_form=False)


@functools.cache
def _renderer() -> str:
    """What the YAML depends on besides the JSON: the format and the renderers' versions."""
    return f"{YAML_FORMAT}|{_cache.dist_version('cfn_flip', 'cfn-flip')}|{_cache.dist_version('yaml', 'PyYAML')}|"


def _built(name: str, build: Callable[[], Template]) -> Template:
    """Run one builder; troposphere's own quota checks raise ValueError, reported per template."""
    try:
        return build()
    except ValueError as exc:
        if "Maximum number of" in str(exc):
            raise CompileError(name, f"{exc}; CloudFormation's quota per template") from None
        # troposphere's own validators (a value the config's checks let through, a gap there):
        # one line naming the template and what troposphere refused, never a traceback.
        from enrollcfn.lint import one_line

        raise CompileError(name, f"a value is refused by troposphere's checks: {one_line(exc, 200)}") from None


def check_quotas(name: str, doc: Mapping, body: bytes, byte_limit: int) -> None:
    """Raise CompileError naming the template when it is over a CloudFormation quota."""
    how = "a TemplateBody" if byte_limit == BODY_LIMIT else "an S3 template"
    checks = (
        (len(body), byte_limit, f"bytes ({how})"),
        (len(doc.get("Resources", {})), MAX_RESOURCES, "resources"),
        (len(doc.get("Parameters", {})), MAX_PARAMETERS, "parameters"),
        (len(doc.get("Outputs", {})), MAX_OUTPUTS, "outputs"),
    )
    for value, limit, what in checks:
        if value > limit:
            raise CompileError(name, f"template has {value} {what}; CloudFormation allows at most {limit}")


def _parameter_text(value: object) -> str:
    """CloudFormation receives every parameter value as a string; whole floats without '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
