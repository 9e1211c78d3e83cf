"""cfn-lint over rendered templates, in memory, each template decoded once, results cached by content.

`lint(templates, regions, rc_file)` takes the YAML text of every stack (stack name -> text, exactly
as written to build/<name>.yaml) and returns the findings. Nothing is written to a staging
directory: each template is served to cfn-lint from memory at a path in a virtual directory under
the working directory, so the root's local `TemplateURL: network.yaml` resolves to its sibling and
E3043 (nested parameters), E6101/E1010 (`GetAtt Stack.Outputs.X`) check the wiring. cfn-lint asks
for a child three times per lint of the root (its own lint, E3043, the nested-stack GetAtt
context); `cfnlint.decode.cfn_yaml.load`, the one function all three go through, is replaced by
one that decodes each served text once per process and hands the same object back (cfn-lint only
reads it: transforms, the one thing that rewrites a template, run only for a `Transform`, which
these templates never declare). Paths outside the virtual directory still go to the original.

Results are cached per template (see `cache_keys`), so an unchanged rebuild never imports
cfn-lint. Misses are linted in forked workers sized by the CPUs this process may run on; each
worker inherits the loaded rules, so nothing is loaded twice.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}
CACHE_FORMAT = 1  # bump when what an entry means changes (e.g. how templates are served to cfn-lint)
NO_CACHE_ENV = "ENROLLCFN_NO_CACHE"
VIRTUAL_DIR = ".enrollcfn-lint"  # never created on disk; see _serve


@dataclass(frozen=True, order=True)
class Finding:
    """One cfn-lint match."""

    file: str
    line: int
    rule: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} ({self.severity}) {self.message}"


def ignored_checks(rc_file: Path) -> list[str]:
    """The rule ids `ignore_checks` lists in a `.cfnlintrc` file."""
    import yaml

    data = yaml.safe_load(rc_file.read_text(encoding="utf-8")) or {}
    return [str(x) for x in data.get("ignore_checks", [])]


def lint(
    templates: Mapping[str, str], regions: Iterable[str], rc_file: Path | None, cache: bool | Path = True
) -> tuple[Finding, ...]:
    """cfn-lint findings for every template, sorted by file and line.

    `cache`: True for the user cache directory (`cache_dir()`), a Path for another one, False for
    none; `ENROLLCFN_NO_CACHE=1` turns it off whatever is passed. A template whose entry is
    missing, unreadable or corrupt is linted and its entry rewritten."""
    regions = sorted(set(regions))
    store = _store(cache)
    keys = cache_keys(templates, regions, rc_file) if store else {}
    found: dict[str, list[tuple]] = {}
    for name in templates:
        hit = store.get(keys[name]) if store else None
        if hit is not None:
            found[name] = hit
    misses = [name for name in templates if name not in found]
    if misses:
        for name, matches in _lint_uncached(templates, misses, regions, rc_file).items():
            found[name] = matches
            if store:
                store.put(keys[name], matches)
    return tuple(sorted(Finding(f"{name}.yaml", *m) for name in templates for m in found[name]))


def lint_dir(directory: Path, regions: Iterable[str], rc_file: Path | None, cache: bool | Path = True) -> tuple[Finding, ...]:
    """Findings for every `*.yaml` template in `directory` (siblings resolve as TemplateURLs)."""
    templates = {p.stem: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}
    return lint(templates, regions, rc_file, cache)


# --- the cache -------------------------------------------------------------------------------


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


class _Store:
    """One JSON file per key; a bad entry reads as a miss, a failed write is dropped."""

    def __init__(self, directory: Path):
        self.directory = directory

    def get(self, key: str) -> list[tuple] | None:
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


def _store(cache: bool | Path) -> _Store | None:
    if cache is False or os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return None
    return _Store(cache_dir() if cache is True else Path(cache))


# --- linting the misses ----------------------------------------------------------------------


def allowed_cpus() -> int:
    """CPUs this process may run on (`taskset`, cgroup cpusets), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _lint_uncached(templates: Mapping[str, str], names: list[str], regions: list[str], rc_file: Path | None) -> dict[str, list[tuple]]:
    """Lint `names` (each nested sibling still resolvable), in workers when more than one CPU is allowed."""
    import multiprocessing

    global _WORK
    linter = _linter(regions, rc_file)
    directory = os.path.join(os.getcwd(), VIRTUAL_DIR)  # under cwd: cfn-lint resolves nested GetAtts only there
    _serve({os.path.join(directory, f"{n}.yaml"): text for n, text in templates.items()})
    # Parents first (the root lints slowest for its size: it reads every child), then largest first.
    order = sorted(names, key=lambda n: (not _nests(templates, n), -len(templates[n])))
    jobs = min(allowed_cpus(), len(order))
    work = [(n, os.path.join(directory, f"{n}.yaml")) for n in order]
    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {name: linter.run(path) for name, path in work}
    _WORK = linter
    # gc.freeze: the loaded rules and schemas move to the permanent generation, so a worker's
    # collections never touch (and copy-on-write-copy) the pages it inherited. Python's gc docs
    # recommend it before fork() without exec(); measured here it cuts the workers' CPU by a quarter.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return dict(pool.imap_unordered(_lint_in_worker, work))
    finally:
        gc.unfreeze()
        _WORK = None


def _nests(templates: Mapping[str, str], name: str) -> bool:
    return any(f"{child}.yaml" in templates[name] for child in templates if child != name)


def _linter(regions: list[str], rc_file: Path | None) -> _Linter:
    """One loaded rule set per (regions, `.cfnlintrc` content) in this process: loading is 0.4 s."""
    rc = rc_file.read_bytes() if rc_file and rc_file.is_file() else None
    key = (tuple(regions), str(rc_file), rc)
    if key not in _LINTERS:
        _LINTERS[key] = _Linter(regions, rc_file)
    return _LINTERS[key]


class _Linter:
    """cfn-lint with its rules loaded once, for the given regions and exactly this `.cfnlintrc`."""

    def __init__(self, regions: list[str], rc_file: Path | None):
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner import Runner

        # config_file: read this file only, not whatever ~/.cfnlintrc or ./.cfnlintrc exists (the
        # cache key covers this file's bytes and nothing else).
        extra = {"config_file": str(rc_file)} if rc_file and rc_file.is_file() else {}
        self._config = ConfigMixIn(regions=regions, **extra)
        self._rules = Runner(self._config).rules

    def run(self, path: str) -> list[tuple]:
        """(line, rule, severity, message) of every match in the template served at `path`."""
        from cfnlint.runner.template.runner import run_template_by_file_path

        return [
            (m.linenumber, m.rule.id, m.rule.severity, m.message)
            for m in run_template_by_file_path(path, self._config, self._rules, False)
        ]


_LINTERS: dict[tuple, _Linter] = {}
_WORK: _Linter | None = None  # the parent's linter, inherited by forked workers
_SOURCES: dict[str, str] = {}  # virtual path -> YAML text
_DECODED: dict[str, Any] = {}  # virtual path -> decoded template, once per process


def _lint_in_worker(item: tuple[str, str]) -> tuple[str, list[tuple]]:
    name, path = item
    return name, _WORK.run(path)


def _serve(sources: dict[str, str]) -> None:
    """Make cfn-lint read these paths from memory; a path in the virtual directory that is not
    served is "not found", as it would be in a staging directory holding only these templates."""
    from cfnlint.decode import cfn_yaml

    _SOURCES.clear()
    _SOURCES.update(sources)
    _DECODED.clear()
    if getattr(cfn_yaml.load, "served_by_enrollcfn", False):
        return
    original = cfn_yaml.load

    def load(filename):
        if filename in _SOURCES:
            if filename not in _DECODED:
                _DECODED[filename] = cfn_yaml.loads(_SOURCES[filename], filename)
            return _DECODED[filename]
        if isinstance(filename, str) and os.path.basename(os.path.dirname(filename)) == VIRTUAL_DIR:
            raise FileNotFoundError(errno.ENOENT, "no such template", filename)
        return original(filename)

    load.served_by_enrollcfn = True
    cfn_yaml.load = load
