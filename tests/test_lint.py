"""cfn-lint gates build/: clean apart from .cfnlintrc's reasoned ignores, and it really checks
the nesting (a broken wiring in the root is reported)."""

from __future__ import annotations

import re
import shutil

import pytest

from enrollcfn.compiler import BUILD_DIR, LINT_CONFIG
from enrollcfn.config import Config
from enrollcfn.lint import Linter, ignored_checks
from tests.conftest import intrinsics


@pytest.fixture(scope="module")
def linter():
    return Linter([Config().region], LINT_CONFIG)


def test_build_dir_lints_clean(linter):
    findings = linter.lint_dir(BUILD_DIR)
    assert findings == [], "\n".join(map(str, findings))


def test_every_ignore_in_cfnlintrc_has_a_reason():
    lines = [l for l in LINT_CONFIG.read_text().splitlines() if re.match(r"\s*-\s*[EWI]\d{4}", l)]
    assert lines, "expected at least the W3002 ignore"
    for line in lines:
        assert re.search(r"#\s*\S.{15,}", line), f"ignore without a reason: {line.strip()}"
    assert len(lines) == len(ignored_checks(LINT_CONFIG))


def test_lint_reports_a_parameter_the_child_does_not_declare(linter, tmp_path):
    for path in BUILD_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    root = tmp_path / "root.yaml"
    root.write_text(root.read_text().replace("        VpcId: !GetAtt", "        VpcIdTypo: !GetAtt", 1))
    rules = {f.rule for f in linter.lint_files([root])}
    assert "E3043" in rules


def test_every_nested_output_the_root_reads_exists_in_the_child(rendered):
    """cfn-lint 1.58 accepts any `GetAtt Stack.Outputs.X`, so the compiler guarantees it."""
    root = rendered["root"]
    stacks = {k: v["Properties"]["TemplateURL"][:-5] for k, v in root["Resources"].items()}
    reads = [(res, attr[len("Outputs.") :]) for res, attr in intrinsics(root, "Fn::GetAtt")]
    assert reads
    for logical_id, name in reads:
        assert name in rendered[stacks[logical_id]].get("Outputs", {}), f"{logical_id} has no output {name}"
