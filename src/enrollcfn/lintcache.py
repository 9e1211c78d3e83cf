"""The lint cache: findings per template, keyed by everything they depend on.

One JSON file per key under `$XDG_CACHE_HOME/enrollcfn/lint` (default `~/.cache/enrollcfn/lint`).
A missing, unreadable or corrupt entry is a miss and is rewritten; writes are atomic (temp file +
rename), so a concurrent reader never sees half an entry; a cache directory that cannot be
written only costs the next run a re-lint. Nothing here imports cfn-lint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

CACHE_FORMAT = 1  # bump when what an entry means changes (e.g. how templates are served to cfn-lint)
NO_CACHE_ENV = "ENROLLCFN_NO_CACHE"


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/enrollcfn/lint`, or `~/.cache/enrollcfn/lint` (XDG: a relative value is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "enrollcfn" / "lint"


def cache_keys(templates: Mapping[str, str], regions: Iterable[str], rc_file: Path | None) -> dict[str, str]:
    """Stack name -> cache key: sha256 of the template bytes, cfn-lint's version, the `.cfnlintrc`
    bytes and the regions, and for a template that names siblings (the root's TemplateURLs) what
    it reads of each: E3043 reads the child's Parameters, E6101/E1010 its Output names, and no
    other rule opens a nested template. So a parent's key takes each child's top-level
    `Parameters:` and `Outputs:` sections (`_interface`), or the child's whole key when the text is
    not block YAML; a child change elsewhere re-lints the child alone.

    A sibling counts as nested when `<name>.yaml` occurs anywhere in the text: broader than the
    TemplateURLs themselves, which only ever costs a needless re-lint, never a stale result. One
    approximation: cfn-lint skips the nested checks when the child no longer parses, so a parent
    with nested findings keeps them from the cache while the child's own parse error fails the
    lint anyway."""
    rc = rc_file.read_bytes() if rc_file and rc_file.is_file() else b""
    base = hashlib.sha256(json.dumps([CACHE_FORMAT, cfn_lint_version(), sorted(regions)]).encode())
    base.update(hashlib.sha256(rc).digest())
    keys: dict[str, str] = {}

    def key(name: str, seen: tuple[str, ...]) -> str:
        if name not in keys:
            h = base.copy()
            h.update(hashlib.sha256(templates[name].encode("utf-8")).digest())
            for child in sorted(templates):
                if child not in seen and child != name and f"{child}.yaml" in templates[name]:
                    read = _interface(templates[child])
                    h.update(f"\0{child}\0{key(child, (*seen, name)) if read is None else read}".encode())
            keys[name] = h.hexdigest()
        return keys[name]

    for name in templates:
        key(name, ())
    return keys


def cfn_lint_version() -> str:
    """The installed cfn-lint's version, without importing it (its __init__ loads the whole linter).

    Read from the package's `.dist-info` directory, the record `importlib.metadata` reads; that
    module itself takes about 40 ms to import, a tenth of a warm build, so it is only the fallback."""
    from importlib.util import find_spec

    spec = find_spec("cfnlint")
    site = Path(spec.origin).parent.parent if spec and spec.origin else None
    for info in sorted(site.glob("cfn_lint-*.dist-info")) if site else ():
        for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    from importlib.metadata import version

    return version("cfn-lint")


def _interface(text: str) -> str | None:
    """sha256 of a template's top-level Parameters and Outputs sections, or None unless the text is
    block YAML with top-level keys at column 0 (how troposphere renders every template)."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        head = re.match(r"([A-Za-z][A-Za-z0-9]*):", line)
        if head:
            current = sections.setdefault(head.group(1), [])
        elif line.strip() and not line.startswith((" ", "#")):
            return None  # flow style, JSON, a document marker: read it all
        current.append(line)
    if "Resources" not in sections:
        return None
    picked = "\n".join(sections.get("Parameters", [])) + "\0" + "\n".join(sections.get("Outputs", []))
    return hashlib.sha256(picked.encode("utf-8")).hexdigest()


class Store:
    """One JSON file per key; a bad entry reads as a miss, a failed write is dropped."""

    def __init__(self, directory: Path):
        self.directory = directory

    def get(self, key: str) -> list[tuple] | None:
        """The cached (line, rule, severity, message) findings, or None: missing, unreadable, corrupt."""
        try:
            data = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
            matches = [tuple(m) for m in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        shape_ok = all(len(m) == 4 and isinstance(m[0], int) and all(isinstance(x, str) for x in m[1:]) for m in matches)
        return matches if data.get("format") == CACHE_FORMAT and shape_ok else None

    def put(self, key: str, matches: list[tuple]) -> None:
        """Write atomically (temp file + rename), so a reader never sees half an entry."""
        import tempfile

        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": CACHE_FORMAT, "findings": [list(m) for m in matches]}, f)
            os.replace(tmp, self.directory / f"{key}.json")
        except OSError:  # a read-only or full cache directory only costs the next run a re-lint
            if tmp:
                Path(tmp).unlink(missing_ok=True)


def store(cache: bool | Path) -> Store | None:
    """The cache `lint(cache=...)` asks for: True the user's, a Path that one, False (or
    ENROLLCFN_NO_CACHE set to anything but "" or "0") none."""
    if cache is False or os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    return Store(cache_dir() if cache is True else Path(cache))
