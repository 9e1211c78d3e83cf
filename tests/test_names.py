"""Every name shared between stacks, or between the code and a stack, has exactly one owner.

The names come from the compiled templates in build/ (what CloudFormation sees), not from the
code: each Output and Parameter of every stack. Each must appear as a string literal in exactly
one module of src/, templates/ or lambda/, and that module must bind it to a module-level
constant, which everyone else imports.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from enrollcfn.compiler import BUILD_DIR
from tests.conftest import PROJECT_ROOT
from enrollcfn.output import read_build

SOURCES = sorted(p for d in ("src", "templates", "lambda") for p in (PROJECT_ROOT / d).rglob("*.py"))


def _shared_names() -> set[str]:
    build = read_build(BUILD_DIR, "ap-southeast-2")
    return {n for s in build.stacks.values() for n in (*s.contract.outputs, *s.contract.parameters)}


def _literals(path: Path) -> dict[str, bool]:
    """Each string constant in the module -> whether a module-level NAME = "..." binds it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {n.value: False for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            if all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
                found[node.value.value] = True
    return found


LITERALS = {p: _literals(p) for p in SOURCES}
# The same words in another namespace, AWS's, which no stack of ours owns.
AWS_NAMES = {
    ("templates/monitoring.py", "ClusterName"): "ECS/ContainerInsights metric dimension",
    ("templates/monitoring.py", "ServiceName"): "ECS/ContainerInsights metric dimension",
    ("src/enrollcfn/local/server.py", "LoadBalancerFullName"): "AWS::ElasticLoadBalancingV2::LoadBalancer GetAtt attribute",
    ("src/enrollcfn/local/server.py", "TargetGroupFullName"): "AWS::ElasticLoadBalancingV2::TargetGroup GetAtt attribute",
    ("src/enrollcfn/adopt.py", "RepositoryName"): "AWS::ECR::Repository primaryIdentifier property (ResourcesToImport key)",
    ("src/enrollcfn/local/server.py", "RepositoryName"): "AWS::ECR::Repository primaryIdentifier property (ResourcesToImport key)",
}


@pytest.mark.parametrize("name", sorted(_shared_names()))
def test_a_shared_name_is_written_once_as_its_owners_constant(name):
    holders = [p for p, lits in LITERALS.items() if name in lits
               and (str(p.relative_to(PROJECT_ROOT)), name) not in AWS_NAMES]
    assert len(holders) == 1, f"{name!r} is written in {[str(p.relative_to(PROJECT_ROOT)) for p in holders]}; import it from its owner"
    assert LITERALS[holders[0]][name], f"{name!r} in {holders[0].name} is not a module constant"


def test_the_names_come_from_the_templates():
    # A guard for the test itself: the names it checks include the seed-facing ones a person uses.
    names = _shared_names()
    assert {"VpcId", "ApiUrl", "ImageTag", "ArtifactBucketName", "LaunchRoleArn"} <= names
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+", n) for n in names)
