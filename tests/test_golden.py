"""build/ is the committed output of `make templates` for the default config, byte for byte."""

from __future__ import annotations

import difflib

import pytest

from enrollcfn.compiler import BUILD_DIR, compile
from enrollcfn.config import Config


def test_build_dir_holds_exactly_the_compiled_templates(compiled):
    on_disk = {p.stem for p in BUILD_DIR.glob("*.yaml")}
    assert on_disk == set(compiled.stacks), "run `make templates` and commit build/"


@pytest.mark.parametrize("name", sorted(compile(Config()).stacks))
def test_build_file_matches_the_compiler(compiled, name):
    golden = (BUILD_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    fresh = compiled[name].text
    diff = "".join(difflib.unified_diff(golden.splitlines(True), fresh.splitlines(True), f"build/{name}.yaml", "compiled"))
    assert fresh == golden, f"build/{name}.yaml is stale; run `make templates`:\n{diff}"


def test_compiling_twice_gives_the_same_bytes(compiled):
    assert compile(Config()).bodies() == compiled.bodies()


def test_foundation_templates_are_present(compiled):
    assert {"root", "bootstrap", "network", "security"} <= set(compiled.stacks)
