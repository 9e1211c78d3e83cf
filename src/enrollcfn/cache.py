"""The user cache: results that depend only on their inputs, kept between runs.

One JSON file per key under `$XDG_CACHE_HOME/enrollcfn/<kind>` (default `~/.cache/enrollcfn`):
`lint` holds cfn-lint's findings per template, `yaml` the rendered YAML of each template's JSON.
A missing, unreadable or corrupt entry is a miss and is rewritten; writes are atomic (temp file +
rename), so a concurrent reader never sees half an entry; a directory that cannot be written only
costs the next run the work again. `--no-cache` or ENROLLCFN_NO_CACHE=1 turns every kind off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

NO_CACHE_ENV = "ENROLLCFN_NO_CACHE"


def root() -> Path:
    """`$XDG_CACHE_HOME/enrollcfn`, or `~/.cache/enrollcfn` (XDG: a relative value is ignored)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "enrollcfn"


def disabled() -> bool:
    """ENROLLCFN_NO_CACHE set to anything but "" or "0"."""
    return os.environ.get(NO_CACHE_ENV, "") not in ("", "0")


def read(path: Path) -> dict | None:
    """The JSON object at `path`, or None: missing, unreadable or corrupt."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(path: Path, data: dict) -> None:
    """Write atomically (temp file + rename); a read-only or full directory is not an error."""
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def dist_version(package: str, distribution: str) -> str:
    """An installed distribution's version without importing it, from its `.dist-info` (the record
    `importlib.metadata` reads; that module alone takes about 40 ms to import, so it is only the
    fallback)."""
    from importlib.util import find_spec

    spec = find_spec(package)
    site = Path(spec.origin).parent.parent if spec and spec.origin else None
    for info in sorted(site.glob(f"{distribution.replace('-', '_')}-*.dist-info")) if site else ():
        for line in (info / "METADATA").read_text(encoding="utf-8").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    from importlib.metadata import version

    return version(distribution)
