"""cfn-lint gates build/: clean apart from .cfnlintrc's reasoned ignores, it really checks the
nesting (a broken wiring in the root or in a child's outputs is reported), serving templates from
memory finds what cfn-lint finds reading the files itself, and the content cache never hides a
change."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enrollcfn import cli
from enrollcfn import lint as lint_module
from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG
from enrollcfn.config import Config
from enrollcfn import lintcache
from enrollcfn.lint import ignored_checks, lint, lint_dir
from enrollcfn.cache import NO_CACHE_ENV
from enrollcfn.lintcache import cache_dir
from tests.conftest import intrinsics

REGIONS = [Config().region]


@pytest.fixture(autouse=True)
def own_cache_home(tmp_path, monkeypatch):
    """Every test gets an empty user cache directory and the cache switched on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(NO_CACHE_ENV, raising=False)


@pytest.fixture(scope="module")
def warm(tmp_path_factory, compiled):
    """A cache directory holding a clean run over every compiled template."""
    directory = tmp_path_factory.mktemp("warm-cache")
    assert lint(compiled.bodies(), REGIONS, LINT_CONFIG, cache=directory) == ()
    return directory


@pytest.fixture
def cache(warm, tmp_path):
    """A private copy of the warm cache, so a test may change it."""
    return shutil.copytree(warm, tmp_path / "cache")


@pytest.fixture
def linted(monkeypatch):
    """The names of the templates that were really linted (cache misses), per call."""
    calls: list[set[str]] = []
    real = lint_module._lint_uncached

    def spy(templates, names, regions, rc_file):
        calls.append(set(names))
        return real(templates, names, regions, rc_file)

    monkeypatch.setattr(lint_module, "_lint_uncached", spy)
    return calls


def renamed_output(text: str, old: str, new: str) -> str:
    changed = text.replace(f"\n  {old}:\n", f"\n  {new}:\n", 1)
    assert changed != text, f"no output {old}"
    return changed


def test_build_dir_lints_clean():
    findings = lint_dir(BUILD_DIR, REGIONS, LINT_CONFIG, cache=False)
    assert findings == (), "\n".join(map(str, findings))


def test_every_ignore_in_cfnlintrc_has_a_reason():
    lines = [l for l in LINT_CONFIG.read_text().splitlines() if re.match(r"\s*-\s*[EWI]\d{4}", l)]
    assert lines, "expected at least the W3002 ignore"
    for line in lines:
        assert re.search(r"#\s*\S.{15,}", line), f"ignore without a reason: {line.strip()}"
    assert len(lines) == len(ignored_checks(LINT_CONFIG))


def test_lint_reports_a_parameter_the_child_does_not_declare(compiled, cache):
    templates = dict(compiled.bodies())
    templates["root"] = templates["root"].replace("        VpcId: !GetAtt", "        VpcIdTypo: !GetAtt", 1)
    rules = {f.rule for f in lint(templates, REGIONS, LINT_CONFIG, cache=cache) if f.file == "root.yaml"}
    assert "E3043" in rules


def test_in_memory_findings_equal_cfn_lint_reading_the_files(compiled, cache, tmp_path, monkeypatch):
    """The same findings as cfn-lint's own command line over the files, for a broken child."""
    templates = dict(compiled.bodies())
    templates["network"] = renamed_output(templates["network"], "VpcId", "VpcIdRenamed")
    ours = {(f.file, f.line, f.rule) for f in lint(templates, REGIONS, LINT_CONFIG, cache=cache)}
    work = tmp_path / "files"
    work.mkdir()
    for name in ("root", "network", *(n for n in templates if f"{n}.yaml" in templates["root"])):
        (work / f"{name}.yaml").write_text(templates[name], encoding="utf-8")
    cfn_lint = shutil.which("cfn-lint", path=os.path.dirname(sys.executable))
    out = subprocess.run([cfn_lint, "--format", "parseable", "--config-file", str(LINT_CONFIG), "--regions", *REGIONS,
                          "--", "root.yaml", "network.yaml"], cwd=work, capture_output=True, text=True).stdout
    theirs = {(line.split(":")[0], int(line.split(":")[1]), line.split(":")[5]) for line in out.splitlines()}
    assert theirs, "cfn-lint found nothing: the broken output should be reported"
    assert ours == theirs


def test_every_nested_output_the_root_reads_exists_in_the_child(rendered):
    """Independent of cfn-lint: each `GetAtt Stack.Outputs.X` in the root names an output of the child."""
    root = rendered["root"]
    stacks = {k: v["Properties"]["TemplateURL"][:-5] for k, v in root["Resources"].items()}
    reads = [(res, attr[len("Outputs.") :]) for res, attr in intrinsics(root, "Fn::GetAtt")]
    assert reads
    for logical_id, name in reads:
        assert name in rendered[stacks[logical_id]].get("Outputs", {}), f"{logical_id} has no output {name}"


def test_an_unchanged_rebuild_lints_nothing(compiled, cache, linted):
    assert lint(compiled.bodies(), REGIONS, LINT_CONFIG, cache=cache) == ()
    assert linted == []


def test_a_changed_template_is_linted_again(compiled, cache, linted):
    templates = dict(compiled.bodies())
    # An SQS queue with a retention beyond the documented maximum of 1,209,600 s (14 days).
    templates["cluster"] = templates["cluster"].replace("\nResources:\n", "\nResources:\n  Extra:\n    Type: AWS::SQS::Queue\n"
                                                        "    Properties:\n      MessageRetentionPeriod: 1209601\n", 1)
    findings = lint(templates, REGIONS, LINT_CONFIG, cache=cache)
    assert {f.file for f in findings} == {"cluster.yaml"}
    assert "cluster" in linted[0] and "network" not in linted[0]
    assert lint(templates, REGIONS, LINT_CONFIG, cache=cache) == findings  # a cached finding is a finding


def test_the_root_is_linted_again_when_a_child_changes(compiled, cache, linted):
    templates = dict(compiled.bodies())
    templates["network"] = renamed_output(templates["network"], "VpcId", "VpcIdRenamed")
    findings = lint(templates, REGIONS, LINT_CONFIG, cache=cache)
    assert linted == [{"network", "root"}]
    assert {f.rule for f in findings if f.file == "root.yaml"} >= {"E6101"}, findings
    assert all("Outputs.VpcId" in f.message for f in findings)


def test_a_child_change_outside_its_parameters_and_outputs_re_lints_the_child_only(compiled, cache, linted):
    """E3043 reads a nested template's Parameters, E6101/E1010 its Output names; nothing else."""
    templates = dict(compiled.bodies())
    templates["load_balancer"] = templates["load_balancer"].replace("HealthCheckIntervalSeconds: 15", "HealthCheckIntervalSeconds: 20")
    assert templates["load_balancer"] != compiled["load_balancer"].text
    assert lint(templates, REGIONS, LINT_CONFIG, cache=cache) == ()
    assert linted == [{"load_balancer"}]


def test_the_root_is_linted_again_when_a_child_parameter_changes(compiled, cache, linted):
    templates = dict(compiled.bodies())
    first = re.search(r"\nParameters:\n  (\w+):\n", templates["database"]).group(1)
    templates["database"] = templates["database"].replace(f"\nParameters:\n  {first}:\n", f"\nParameters:\n  {first}Renamed:\n", 1)
    rules = {f.rule for f in lint(templates, REGIONS, LINT_CONFIG, cache=cache) if f.file == "root.yaml"}
    assert linted == [{"database", "root"}]
    assert "E3043" in rules


def test_a_corrupt_entry_is_ignored_and_rewritten(compiled, cache, linted):
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == len(compiled.bodies())
    entries[0].write_text("{not json")
    entries[1].write_bytes(b"\xff\xfe")
    entries[2].write_text(json.dumps({"format": lintcache.CACHE_FORMAT, "findings": [["x"]]}))
    assert lint(compiled.bodies(), REGIONS, LINT_CONFIG, cache=cache) == ()
    assert len(linted[0]) == 3
    assert all(json.loads(e.read_text())["findings"] == [] for e in entries)
    assert not list(cache.glob(".tmp-*")), "a temporary file was left behind"


def test_an_unwritable_cache_is_not_an_error(compiled, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert lint({"cluster": compiled["cluster"].text}, REGIONS, LINT_CONFIG, cache=blocker / "sub") == ()


def test_the_environment_variable_turns_the_cache_off(compiled, cache, linted, monkeypatch):
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    assert lint(compiled.bodies(), REGIONS, LINT_CONFIG, cache=cache) == ()
    assert linted == [set(compiled.bodies())]


def test_the_cfn_lint_version_is_the_installed_distribution_s():
    from importlib.metadata import version

    assert lintcache.cfn_lint_version() == version("cfn-lint")


def test_the_default_cache_is_in_xdg_cache_home(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "xdg" / "enrollcfn" / "lint"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # XDG: a relative path is ignored
    assert cache_dir() == Path.home() / ".cache" / "enrollcfn" / "lint"


@pytest.mark.parametrize("command", [["build", "--out", "{out}"], ["lint", str(BUILD_DIR)]])
def test_the_no_cache_flag_turns_the_cache_off(command, tmp_path, linted, capsys):
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in command]
    assert cli.main(argv) == 0
    assert cache_dir().is_dir(), "the first run should fill the cache"
    assert cli.main(argv) == 0
    assert cli.main([*argv, "--no-cache"]) == 0
    assert [len(names) for names in linted] == [11, 11], "the second run hits; --no-cache lints all again"


def test_a_cache_hit_does_not_import_cfn_lint(compiled, cache):
    code = (
        "import json, sys; from pathlib import Path; from enrollcfn.lint import lint\n"
        f"t = json.loads({json.dumps(json.dumps(compiled.bodies()))})\n"
        f"assert lint(t, {REGIONS!r}, Path({str(LINT_CONFIG)!r}), cache=Path({str(cache)!r})) == ()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cfnlint', 'sympy', 'networkx', 'yaml')))\n"
    )
    # the script on stdin: one argv string is capped at 128 KiB (Linux MAX_ARG_STRLEN)
    out = subprocess.run([sys.executable, "-"], input=code, check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("load, expected", [(0.0, 2), (1.0, 2), (2.0, 1), (3.5, 1)])
def test_workers_are_the_allowed_cpus_capped_by_the_free_ones(load, expected, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert lint_module.workers(11) == expected
    assert lint_module.workers(1) == 1


def test_one_allowed_cpu_lints_in_this_process(compiled, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(multiprocessing, "get_context", lambda *a: pytest.fail("forked on one CPU"))
    assert lint_module.allowed_cpus() == 1
    assert lint(compiled.bodies(), REGIONS, LINT_CONFIG, cache=False) == ()


EARLY = r"""
import json, os, sys
from pathlib import Path
from enrollcfn import lint, lintearly
lint.allowed_cpus = lambda: 2  # the early process runs only where more than one CPU is allowed,
os.getloadavg = lambda: (0.0, 0.0, 0.0)  # and one of them is idle
templates, rc, cache = json.loads(sys.stdin.read()), Path(sys.argv[1]), sys.argv[2]
lintearly.start(rc)
assert lint.helper_waiting(), "no early process was started"
found = lint.lint(templates, ["ap-southeast-2"], rc, cache=Path(cache) if cache else False)
try:
    os.waitpid(-1, os.WNOHANG)
    raise SystemExit("a child process is left")
except ChildProcessError:
    pass
assert "cfnlint" not in sys.modules, "linted in this process, not in the early one"
print(json.dumps([[f.file, f.line, f.rule] for f in found]))
"""


@pytest.mark.parametrize("cached", [False, True], ids=["misses go to the early process", "all cached: it is stopped"])
def test_the_early_process_lints_the_misses_or_is_stopped(compiled, cache, cached):
    """cfn-lint loading in a forked process while the caller compiles gives the same findings."""
    templates = dict(compiled.bodies())
    if not cached:
        templates["network"] = renamed_output(templates["network"], "VpcId", "VpcIdRenamed")
    # the templates on stdin: together they are longer than one argument may be (128 KiB on Linux)
    out = subprocess.run([sys.executable, "-c", EARLY, str(LINT_CONFIG), str(cache)], input=json.dumps(templates), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    found = {tuple(f) for f in json.loads(out.stdout)}
    expected = {(f.file, f.line, f.rule) for f in lint(templates, REGIONS, LINT_CONFIG, cache=False)}
    assert found == expected and bool(found) is not cached
