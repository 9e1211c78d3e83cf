"""Root wiring errors and CloudFormation quotas are compile errors that name the stacks."""

from __future__ import annotations

import pytest
from troposphere import Output, Parameter, Ref, Template
from troposphere.sqs import Queue

from enrollcfn import compiler
from enrollcfn.compiler import BODY_LIMIT, URL_LIMIT, check_quotas
from enrollcfn.config import Config
from enrollcfn.errors import CompileError
from enrollcfn.templates import StackSpec, root


def _template(params=(), outputs=()) -> Template:
    t = Template(Description="test")
    for p in params:
        t.add_parameter(Parameter(p, Type="String", Description=p))
    t.add_resource(Queue("Q"))
    for o in outputs:
        t.add_output(Output(o, Value=Ref("Q"), Description=o))
    return t


def _build_root(monkeypatch, children: dict[str, Template]) -> Template:
    monkeypatch.setattr(root, "NESTED", tuple(StackSpec(n, lambda cfg: None) for n in children))
    monkeypatch.setattr(root, "ROOT_OUTPUTS", {})
    return root.build(Config(), children, {"MonthlyBudgetUsd": 100})


def test_a_parameter_nothing_produces_names_the_consumer(monkeypatch):
    with pytest.raises(CompileError) as err:
        _build_root(monkeypatch, {"a": _template(outputs=["X"]), "b": _template(params=["Y"])})
    assert err.value.key == "b" and "Y" in err.value.message


def test_a_parameter_produced_later_names_both_stacks(monkeypatch):
    with pytest.raises(CompileError) as err:
        _build_root(monkeypatch, {"a": _template(params=["X"]), "b": _template(outputs=["X"])})
    assert err.value.key == "a" and "produced by b" in err.value.message


def test_an_output_produced_twice_names_both_stacks(monkeypatch):
    with pytest.raises(CompileError) as err:
        _build_root(monkeypatch, {"a": _template(outputs=["X"]), "b": _template(outputs=["X"])})
    assert err.value.key == "b" and "also produced by a" in err.value.message


def test_wired_parameters_come_from_the_producers_outputs(monkeypatch):
    t = _build_root(monkeypatch, {"a": _template(outputs=["X"]), "b": _template(params=["X"])})
    params = t.resources["BStack"].properties["Parameters"]
    assert params["X"].to_dict() == {"Fn::GetAtt": ["AStack", "Outputs.X"]}


@pytest.mark.parametrize(
    "resources, params, outputs, body, limit, words",
    [
        (1, 0, 0, "x" * (BODY_LIMIT + 1), BODY_LIMIT, "51200"),
        (1, 0, 0, "x" * (URL_LIMIT + 1), URL_LIMIT, "1000000"),
        (501, 0, 0, "", URL_LIMIT, "501 resources"),
        (1, 201, 0, "", URL_LIMIT, "201 parameters"),
        (1, 0, 201, "", URL_LIMIT, "201 outputs"),
    ],
)
def test_quota_errors_name_the_template(resources, params, outputs, body, limit, words):
    t = Template()  # filled directly: troposphere's add_* refuse to go over the quotas
    t.resources = {f"Q{i}": Queue(f"Q{i}") for i in range(resources)}
    t.parameters = {f"P{i}": Parameter(f"P{i}", Type="String") for i in range(params)}
    t.outputs = {f"O{i}": Output(f"O{i}", Value="x") for i in range(outputs)}
    with pytest.raises(CompileError) as err:
        check_quotas("service", t.to_dict(), body.encode(), limit)
    assert err.value.key == "service" and words in err.value.message


def test_a_builder_over_troposphere_limits_is_a_compile_error_naming_it(monkeypatch):

    def too_big(cfg):
        t = Template()
        for i in range(501):
            t.add_resource(Queue(f"Q{i}"))
        return t

    monkeypatch.setattr(compiler, "STANDALONE", (StackSpec("bootstrap", too_big),))
    with pytest.raises(CompileError) as err:
        compiler.compile(Config())
    assert err.value.key == "bootstrap" and "resources" in err.value.message


def test_rendered_yaml_is_cached_by_content_and_a_bad_entry_is_rendered_again(tmp_path, monkeypatch):
    from enrollcfn import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = compiler.compile(Config(), cache=False).bodies()
    assert not (tmp_path / "enrollcfn" / "yaml").exists()  # cache=False writes nothing
    assert compiler.compile(Config()).bodies() == fresh
    entries = sorted((cache.root() / "yaml").glob("*.json"))
    assert len(entries) == len(fresh)
    for entry in entries:
        entry.write_text("{not json")
    assert compiler.compile(Config()).bodies() == fresh  # corrupt entries are misses, rewritten
    assert all(cache.read(e) for e in entries)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    for entry in entries:
        entry.write_text('{"yaml": "stale"}')
    assert compiler.compile(Config()).bodies() == fresh  # the switch bypasses what is there
