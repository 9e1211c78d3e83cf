"""`make bench`: `enrollcfn build` against the floor of the cfn-lint command line, in one run.

Absolute times on a shared machine move by 2x with load, so every figure is a ratio to the floor
measured in the same run: `cfn-lint` over build/*.yaml (same version, regions and .cfnlintrc).
Each figure is the median over RUNS (at least 5) fresh processes, on all allowed cores and pinned
to one (`taskset -c 0`), timed from process start to exit; the runs are interleaved (one of each
figure per round), so load that comes and goes during the run reaches every figure alike:

  cold      an empty lint cache (a new XDG_CACHE_HOME each run)
  warm      nothing changed since the last build
  changed   one config value that changes one stack (the load balancer's health-check interval)
  3 envs    three environments' `build` in one process, cold (dev, production, staging configs)
  deploy    a no-op `enrollcfn deploy` against the local AWS (tests/bench_deploy.py)

Peak RSS is GNU time's maximum resident set of the largest process in the tree (the CLI or one
of its lint workers). The project's own modules are byte-compiled first, as an installed wheel
would be: this environment sets PYTHONDONTWRITEBYTECODE=1, which would otherwise recompile them
in every run. Exit 1 when a target is missed.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from enrollcfn.compiler import LINT_CONFIG  # the lint configuration enrollcfn build applies

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
RUNS = max(5, int(os.environ.get("BENCH_RUNS", "5")))
PIN = ["taskset", "-c", "0"] if shutil.which("taskset") else None
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
CHANGED = "load_balancer:\n  health_check:\n    interval_seconds: 20\n"  # changes build/load_balancer.yaml only
THREE_ENVS = r"""
import sys
from enrollcfn.cli import main
sys.exit(max(main(["build", "--config", c, "--out", d]) for c, d in zip(sys.argv[1::2], sys.argv[2::2])))
"""
TARGETS = {  # figure -> (ratio to the floor it must not exceed, what it is compared with)
    "cold, all cores": 0.7, "cold, one core": 1.0, "warm, all cores": 0.15, "warm, one core": 0.15,
    "changed, all cores": 0.5, "changed, one core": 0.5, "no-op deploy, all cores": 0.4,
}
RSS_LIMIT_MB = 150
THREE_ENVS_LIMIT = 3.0  # x the cold build on all cores


def run(argv: list[str], env: dict, pinned: bool) -> tuple[float, float | None]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    prefix = (PIN if pinned else [])
    with tempfile.NamedTemporaryFile("r") as rss:
        timer = [GNU_TIME, "-f", "%M", "-o", rss.name] if GNU_TIME else []
        start = time.perf_counter()
        done = subprocess.run([*timer, *prefix, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
        peak = int(rss.read().split()[-1]) / 1024 if GNU_TIME else None
    return wall, peak


def interleaved(plan: dict[str, tuple]) -> dict[str, list]:
    """RUNS rounds, each running every figure once in turn, so that a change in the machine's
    load reaches every figure alike (the ratios compare figures measured side by side).
    `plan`: name -> (argv, env, pinned, before); `before()` (untimed) may return env overrides."""
    results: dict[str, list] = {name: [] for name in plan}
    for _ in range(RUNS):
        for name, (argv, env, pinned, before) in plan.items():
            extra = before() if before else {}
            results[name].append(run(argv, {**env, **(extra or {})}, pinned))
    return results


def scenarios(tmp: Path, region: str) -> dict[str, list]:
    """Every figure's runs, by name."""
    env = {k: v for k, v in os.environ.items() if k != "ENROLLCFN_NO_CACHE"}
    build = [str(BIN / "enrollcfn"), "build", "--out", str(tmp / "out")]
    floor = [str(BIN / "cfn-lint"), "--regions", region, "--config-file", str(LINT_CONFIG), "--", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "build").glob("*.yaml"))]
    changed_cfg = tmp / "changed.yaml"
    changed_cfg.write_text(CHANGED)
    staging = tmp / "staging.yaml"
    staging.write_text("environment: staging\n")
    warm_home = tmp / "warm"
    run(build, {**env, "XDG_CACHE_HOME": str(warm_home)}, False)  # fills the warm cache
    counter = iter(range(10_000))

    def fresh() -> dict:
        return {"XDG_CACHE_HOME": str(tmp / f"cold-{next(counter)}")}

    def warm_copy() -> dict:
        home = tmp / f"copy-{next(counter)}"
        shutil.copytree(warm_home, home)
        return {"XDG_CACHE_HOME": str(home)}

    envs = [str(ROOT / "config/dev.yaml"), str(tmp / "e1"), str(ROOT / "config/production.yaml"), str(tmp / "e2"), str(staging), str(tmp / "e3")]
    plan = {}
    for pinned, where in ((False, "all cores"), (True, "one core")):
        if pinned and not PIN:
            continue
        plan[f"floor, {where}"] = (floor, env, pinned, None)
        plan[f"cold, {where}"] = (build, env, pinned, fresh)
        plan[f"warm, {where}"] = (build, {**env, "XDG_CACHE_HOME": str(warm_home)}, pinned, None)
        plan[f"changed, {where}"] = ([*build, "--config", str(changed_cfg)], env, pinned, warm_copy)
    plan["3 envs, all cores"] = ([sys.executable, "-c", THREE_ENVS, *envs], env, False, fresh)
    return interleaved(plan)


def verdict(ok: bool) -> str:
    """How a target reads in the table."""
    return "met" if ok else "MISSED"


def table(results: dict[str, list], deploy: list[float]) -> int:
    """Print the table; return how many targets were missed."""
    med = {name: statistics.median(w for w, _ in runs) for name, runs in results.items()}
    med["no-op deploy, all cores"] = statistics.median(deploy)
    peak = {name: max((p for _, p in runs if p is not None), default=None) for name, runs in results.items()}
    missed = 0
    print(f"{'figure':<26}{'median':>9}{'x floor':>9}{'peak RSS':>10}   target")
    for name, value in med.items():
        floor = med["floor, one core" if name.endswith("one core") else "floor, all cores"]
        rss = f"{peak[name]:>7.0f} MB" if peak.get(name) else f"{'':>10}"
        line = f"{name:<26}{value:>8.2f}s{value / floor:>8.2f}x{rss}"
        if name in TARGETS:
            ok = value / floor <= TARGETS[name]
            missed += not ok
            line += f"   <= {TARGETS[name]:.2f}x floor: {verdict(ok)}"
        elif name == "3 envs, all cores":
            ratio = value / med["cold, all cores"]
            missed += ratio > THREE_ENVS_LIMIT
            line += f"   <= {THREE_ENVS_LIMIT:.1f}x cold: {ratio:.2f}x, {verdict(ratio <= THREE_ENVS_LIMIT)}"
        print(line)
    peaks = [p for name, runs in results.items() if not name.startswith("floor") for _, p in runs if p is not None]
    if peaks:
        ok = max(peaks) <= RSS_LIMIT_MB
        missed += not ok
        floor_peak = max(p for name, runs in results.items() if name.startswith("floor") for _, p in runs)
        print(f"{'peak RSS, any enrollcfn':<26}{'':>18}{max(peaks):>7.0f} MB   <= {RSS_LIMIT_MB} MB: {verdict(ok)}"
              f" (cfn-lint CLI: {floor_peak:.0f} MB)")
    else:
        print("peak RSS: not measured (no /usr/bin/time)")
    return missed


def main() -> int:
    """Measure everything, print the table; exit 1 when a target is missed."""
    from enrollcfn.config import Config

    compileall.compile_dir(ROOT / "src", quiet=1)
    compileall.compile_dir(ROOT / "templates", quiet=1)
    print(f"enrollcfn build vs the cfn-lint CLI floor: medians of {RUNS} fresh processes; "
          f"{len(os.sched_getaffinity(0))} cores allowed; one core = {'taskset -c 0' if PIN else 'not measured (no taskset)'}")
    print("project modules byte-compiled first (as an installed wheel is); PYTHONDONTWRITEBYTECODE="
          f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} in this environment")
    print("3 envs: one `python -c` process running `enrollcfn build` for config/dev.yaml, config/production.yaml "
          "and environment: staging, cold cache")
    with tempfile.TemporaryDirectory(prefix="enrollcfn-bench-") as tmp:
        results = scenarios(Path(tmp), Config().region)
    from tests import bench_deploy

    deploy = bench_deploy.measure(RUNS)
    missed = table(results, deploy)
    print(f"{missed} target(s) missed" if missed else "every target met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
