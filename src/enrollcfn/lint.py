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

Results are cached per template (`enrollcfn.lintcache`), so an unchanged rebuild never imports
cfn-lint. Misses are linted in forked workers sized by the CPUs this process may run on; each
worker inherits the loaded rules, so nothing is loaded twice. Where `lintearly.start` ran, the
rules were loading in another process while the caller compiled, and the misses are linted there.
"""

from __future__ import annotations

import errno
import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from enrollcfn import lintcache

SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}
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
        return f"{self.file}:{self.line}: {self.rule} ({self.severity}) {one_line(self.message)}"


MAX_MESSAGE = 240  # characters of a finding's message shown; a message may quote a whole value


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut to `limit` characters (errors.one_line)."""
    from enrollcfn.errors import one_line as _one_line

    return _one_line(text, limit)


def trace(findings: Iterable[Finding], bodies: Mapping[str, str], leaves: Mapping[str, object]) -> dict[Finding, str]:
    """The config key each finding can be traced to, by value: the scalar on the finding's line
    of its template equals a config value (ties broken by the words the key shares with the
    property name), or else the message quotes a config value of three or more characters
    (the longest). `leaves`: dotted config key -> scalar value. Findings not traced are left out."""
    import re

    texts = {key: _text(value) for key, value in leaves.items() if _text(value) is not None}
    out: dict[Finding, str] = {}
    for finding in findings:
        lines = bodies.get(finding.file.removesuffix(".yaml"), "").splitlines()
        line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        match = re.fullmatch(r"\s*(?:- )?([A-Za-z0-9]+):\s*(.*?)\s*", line) or re.fullmatch(r"\s*-\s+()(.*?)\s*", line)
        key = None
        if match and match[2]:
            prop, scalar = match[1], match[2].strip("'\"")
            candidates = [k for k, t in texts.items() if t == scalar]
            words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", prop)}
            ranked = sorted(candidates, key=lambda k: -len(words & set(k.rsplit(".", 1)[-1].split("_"))))
            if len(ranked) == 1 or (len(ranked) > 1 and _shared(ranked[0], words) > _shared(ranked[1], words)):
                key = ranked[0]
        if key is None:
            quoted = sorted(((len(t), k) for k, t in texts.items() if len(t) >= 3 and repr(t) in finding.message), reverse=True)
            if quoted and (len(quoted) == 1 or quoted[0][0] > quoted[1][0]):
                key = quoted[0][1]
        if key is not None:
            out[finding] = key
    return out


def _shared(key: str, words: set[str]) -> int:
    return len(words & set(key.rsplit(".", 1)[-1].split("_")))


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def ignored_checks(rc_file: Path) -> list[str]:
    """The rule ids `ignore_checks` lists in a `.cfnlintrc` file."""
    from enrollcfn import inputs

    try:
        data = inputs.parse_yaml(inputs.read_text(rc_file, str(rc_file), "config"), "config") or {}
    except inputs.YamlProblems as exc:
        raise inputs.InputError(str(rc_file), str(exc)) from None
    return [str(x) for x in data.get("ignore_checks", [])] if isinstance(data, dict) else []


def lint(
    templates: Mapping[str, str], regions: Iterable[str], rc_file: Path | None, cache: bool | Path = True
) -> tuple[Finding, ...]:
    """cfn-lint findings for every template, sorted by file and line.

    `cache`: True for the user cache directory (`cache_dir()`), a Path for another one, False for
    none; `ENROLLCFN_NO_CACHE=1` turns it off whatever is passed. A template whose entry is
    missing, unreadable or corrupt is linted and its entry rewritten."""
    global _helper
    regions = sorted(set(regions))
    store = lintcache.store(cache)
    keys = lintcache.cache_keys(templates, regions, rc_file) if store else {}
    found: dict[str, list[tuple]] = {}
    for name in templates:
        hit = store.get(keys[name]) if store else None
        if hit is not None:
            found[name] = hit
    misses = [name for name in templates if name not in found]
    helper, _helper = _helper, None
    if not misses:
        if helper is not None:
            helper.stop()
    else:
        fresh = (helper.lint(templates, misses, regions, rc_file) if helper else None) or _lint_uncached(templates, misses, regions, rc_file)
        for name, matches in fresh.items():
            found[name] = matches
            if store:
                store.put(keys[name], matches)
    return tuple(sorted(Finding(f"{name}.yaml", *m) for name in templates for m in found[name]))


# A process that began loading the rules early (lintearly.start), handed to the next lint():
# it has `lint(templates, names, regions, rc_file) -> dict | None` and `stop()`. Filled from
# outside, so this module never imports the one that forks.
_helper = None


def hand_off(helper) -> None:
    """Give the next `lint` a helper that lints the misses (or is stopped when there are none)."""
    global _helper
    _helper = helper


def helper_waiting() -> bool:
    return _helper is not None


def lint_dir(directory: Path, regions: Iterable[str], rc_file: Path | None, cache: bool | Path = True) -> tuple[Finding, ...]:
    """Findings for every `*.yaml` template in `directory` (siblings resolve as TemplateURLs)."""
    from enrollcfn import inputs

    templates = {p.stem: inputs.read_text(p, str(p), "template", follow=False) for p in sorted(directory.glob("*.yaml"))}
    return lint(templates, regions, rc_file, cache)


# --- linting the misses ----------------------------------------------------------------------


def allowed_cpus() -> int:
    """CPUs this process may run on (`taskset`, cgroup cpusets), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def free_cpus() -> int:
    """Allowed CPUs not busy by the 1-minute load average (which counts this process too)."""
    cpus = allowed_cpus()
    try:
        return max(0, min(cpus, round(cpus - os.getloadavg()[0])))
    except OSError:  # no load average on this platform
        return cpus


def workers(templates: int) -> int:
    """How many processes lint `templates` templates: one per allowed CPU, but only one more than
    the CPUs that are free. Forked workers each load the resource schemas they meet, about a fifth
    more CPU in all; measured on a shared 2-core machine under a load of about 3, two workers made
    a cold build slower (3.50 s) than one (3.22 s), while on an idle machine they save a third."""
    return max(1, min(allowed_cpus(), templates, free_cpus() + 1))


def _lint_uncached(templates: Mapping[str, str], names: list[str], regions: list[str], rc_file: Path | None) -> dict[str, list[tuple]]:
    """Lint `names` (each nested sibling still resolvable), in workers when more than one CPU is allowed."""
    import multiprocessing

    global _WORK
    linter = _linter(regions, rc_file)
    directory = os.path.join(os.getcwd(), VIRTUAL_DIR)  # under cwd: cfn-lint resolves nested GetAtts only there
    _serve({os.path.join(directory, f"{n}.yaml"): text for n, text in templates.items()})
    # Parents first (the root lints slowest for its size: it reads every child), then largest first.
    order = sorted(names, key=lambda n: (not _nests(templates, n), -len(templates[n])))
    jobs = workers(len(order))
    work = [(n, os.path.join(directory, f"{n}.yaml")) for n in order]
    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {name: linter.run(path) for name, path in work}
    _WORK = linter
    # gc.freeze: the loaded rules and schemas move to the permanent generation, so a worker's
    # collections never touch (and copy-on-write-copy) the pages it inherited. Python's gc docs
    # recommend it before fork() without exec(). Measured on build/: up to a quarter less CPU in the
    # workers within one process, within noise across fresh processes; it never cost anything.
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
    """One linter per (regions, `.cfnlintrc` content) in this process."""
    key = (tuple(regions), *_rc_key(rc_file))
    if key not in _LINTERS:
        _LINTERS[key] = _Linter(regions, rc_file)
    return _LINTERS[key]


def rules(rc_file: Path | None):
    """cfn-lint's rules as this `.cfnlintrc` selects them, loaded once per process (about 0.4 s;
    which rules load does not depend on the regions, which each run takes from its config)."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    key = _rc_key(rc_file)
    if key not in _RULES:
        _RULES[key] = Runner(ConfigMixIn(**_rc_args(rc_file))).rules
    return _RULES[key]


def loaded() -> bool:
    """Whether this process has cfn-lint's rules loaded already."""
    return bool(_RULES)


def _rc_key(rc_file: Path | None) -> tuple:
    return str(rc_file), rc_file.read_bytes() if rc_file and rc_file.is_file() else None


def _rc_args(rc_file: Path | None) -> dict:
    # config_file: read this file only, not whatever ~/.cfnlintrc or ./.cfnlintrc exists (the
    # cache key covers this file's bytes and nothing else).
    return {"config_file": str(rc_file)} if rc_file and rc_file.is_file() else {}


class _Linter:
    """cfn-lint with its rules loaded once, for the given regions and exactly this `.cfnlintrc`."""

    def __init__(self, regions: list[str], rc_file: Path | None):
        from cfnlint.config import ConfigMixIn

        self._config = ConfigMixIn(regions=regions, **_rc_args(rc_file))
        self._rules = rules(rc_file)

    def run(self, path: str) -> list[tuple]:
        """(line, rule, severity, message) of every match in the template served at `path`."""
        from cfnlint.runner.template.runner import run_template_by_file_path

        return [
            (m.linenumber, m.rule.id, m.rule.severity, m.message)
            for m in run_template_by_file_path(path, self._config, self._rules, False)
        ]


_RULES: dict[tuple, Any] = {}
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
