"""`make bench`: median wall time and peak memory of compiling and linting every template.

Each run is a fresh process (`python -c`), timed from interpreter start to the end of linting,
so the figure includes imports and cfn-lint's rule loading: what `enrollcfn build` costs. The
in-process phases (compile, lint) are reported separately, and the whole is measured twice: with
lint shared out to forked workers (what `enrollcfn build` does) and in the one process only.
Figures are medians over RUNS runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
JOBS = {jobs}
import json, resource, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
from enrollcfn.compiler import LINT_CONFIG, compile_all, write
from enrollcfn.config import Config
from enrollcfn.lint import Linter
t1 = time.perf_counter()
cfg = Config()  # validated as it is built
compiled = compile_all(cfg)
t2 = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    write(compiled.templates, Path(d))
    linter = Linter([cfg.region], LINT_CONFIG)
    t3 = time.perf_counter()
    findings = linter.lint_files(sorted(Path(d).glob("*.yaml")), jobs=JOBS)
t4 = time.perf_counter()
assert not findings, findings
print(json.dumps({"imports": t1 - t0, "compile": t2 - t1, "rules": t3 - t2, "lint": t4 - t3,
                  "templates": len(compiled.templates),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(jobs: int | None) -> dict:
    """Medians over RUNS fresh processes; `jobs` is how many processes lint (None: one per core)."""
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        code = CHILD.replace("{jobs}", repr(jobs))
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
        runs.append({**json.loads(out), "wall": time.perf_counter() - start})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    """Run the benchmark and print medians; exit 1 if compile + lint misses the 1.5 s target."""
    serial = measure(1)
    med = measure(None)
    in_process = med["compile"] + med["rules"] + med["lint"]
    print(f"compile + lint of {int(med['templates'])} templates, median of {RUNS} fresh processes "
          f"(lint shared out to {os.cpu_count()} forked workers):")
    print(f"  whole process (interpreter, imports, compile, lint)  {med['wall']:.2f} s")
    print(f"  imports                                              {med['imports']:.2f} s")
    print(f"  validate config + compile (build, render YAML)       {med['compile']:.2f} s")
    print(f"  cfn-lint rule loading (once per process)             {med['rules']:.2f} s")
    print(f"  cfn-lint of every template                           {med['lint']:.2f} s")
    print(f"  compile + lint after imports                         {in_process:.2f} s   (target < 1.50 s)")
    print(f"  peak memory (RSS)                                    {med['peak_mb']:.0f} MB")
    one = serial["compile"] + serial["rules"] + serial["lint"]
    print(f"  the same, linting in this one process only           {one:.2f} s   (lint {serial['lint']:.2f} s; "
          f"{one / in_process:.2f}x the forked figure)")
    failed = 0 if in_process < 1.5 else 1
    for extra in sorted(ROOT.glob("tests/bench_*.py")):
        failed = subprocess.run([sys.executable, str(extra)], cwd=ROOT).returncode or failed
    return failed


if __name__ == "__main__":
    sys.exit(main())
