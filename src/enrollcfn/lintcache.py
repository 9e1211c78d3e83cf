"""The lint cache: findings per template, keyed by everything they depend on.

Entries live in the user cache (cache.py) under `lint/`. Nothing here imports cfn-lint.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Iterable, Mapping

from enrollcfn import cache

CACHE_FORMAT = 1  # bump when what an entry means changes (e.g. how templates are served to cfn-lint)


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/enrollcfn/lint`, or `~/.cache/enrollcfn/lint`."""
    return cache.root() / "lint"


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
    """The installed cfn-lint's version, without importing it (its __init__ loads the whole linter)."""
    return cache.dist_version("cfnlint", "cfn-lint")


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
        data = cache.read(self.directory / f"{key}.json")
        try:
            matches = [tuple(m) for m in data["findings"]]  # type: ignore[index]
        except (KeyError, TypeError):
            return None
        shape_ok = all(len(m) == 4 and isinstance(m[0], int) and all(isinstance(x, str) for x in m[1:]) for m in matches)
        return matches if data.get("format") == CACHE_FORMAT and shape_ok else None

    def put(self, key: str, matches: list[tuple]) -> None:
        """Write atomically, so a reader never sees half an entry."""
        cache.write(self.directory / f"{key}.json", {"format": CACHE_FORMAT, "findings": [list(m) for m in matches]})


def store(wanted: bool | Path) -> Store | None:
    """The cache `lint(cache=...)` asks for: True the user's, a Path that one, False (or
    ENROLLCFN_NO_CACHE set to anything but "" or "0") none."""
    if wanted is False or cache.disabled():
        return None
    return Store(cache_dir() if wanted is True else Path(wanted))
