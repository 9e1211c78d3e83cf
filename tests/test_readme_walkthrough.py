"""The README's "Try it without an account", run as it is written: its shell block, verbatim, in
an empty folder outside the checkout, with the installed `enrollcfn` on PATH and nothing else
set up (a state directory of its own, so a local AWS the user runs is never touched)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _block(heading: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return block


def test_the_readme_walkthrough_runs_verbatim_and_show_prints_the_url(tmp_path):
    script = _block("Try it without an account")
    assert "enrollcfn local up" in script and "enrollcfn destroy" in script
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ENROLLCFN_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", ENROLLCFN_LOCAL_STATE=str(tmp_path / "state"),
               HOME=str(tmp_path / "home"))
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script + '\ntest -z "${AWS_ENDPOINT_URL:-}"\n'], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run([sys.executable, "-m", "enrollcfn", "local", "down"], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"^api +https://trial-server\.martincaringal\.co\.nz$", out, re.M), out[-2000:]
    assert "se-trial: deleted" in out and "se-trial-bootstrap: deleted" in out
    assert "stopped the local AWS" in done.stderr
    assert "Traceback" not in done.stderr and "error running docker" not in done.stderr + out
