"""How the command line talks: colour only on a terminal without NO_COLOR, --debug's trace and
AWS call log, one line for a fault, and --json on every command that reports."""

from __future__ import annotations

import argparse
import io
import json

import pytest
from botocore.stub import Stubber

from enrollcfn import style
from enrollcfn.cli import _parser, main
from enrollcfn.commands import common

ESC = "\033["


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("line, painted", [
    ("  +   Service  AWS::ECS::Service  Add", True),
    ("-/+   Database  AWS::RDS::DBInstance  Modify  (replacement)", True),
    ("  ~   TaskDefinition  AWS::ECS::TaskDefinition  Modify", True),
    ("se-prod  UPDATE_ROLLBACK_IN_PROGRESS", True),
    ("se-prod  CREATE_COMPLETE", True),
    ("templates: 9 uploaded, 0 unchanged", False),
])
def test_colour_marks_what_a_line_says_on_a_terminal_only(monkeypatch, line, painted):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert (ESC in style.paint_line(line, Terminal())) is painted
    assert style.paint_line(line, io.StringIO()) == line  # a pipe or a file: never


@pytest.mark.parametrize("value", ["1", "0", "false", "yes"])
def test_no_color_with_any_non_empty_value_turns_colour_off(monkeypatch, value):
    # https://no-color.org: "when present and not an empty string ... prevents the addition of ANSI color"
    monkeypatch.setenv("NO_COLOR", value)
    assert style.paint_line("  +   Service  AWS::ECS::Service  Add", Terminal()) == "  +   Service  AWS::ECS::Service  Add"


def test_an_empty_no_color_does_not_turn_colour_off(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.setenv("TERM", "xterm")
    assert ESC in style.paint_line("error: x: y", Terminal())


def test_a_fault_is_one_line_and_debug_adds_the_trace(monkeypatch, capsys):
    def broken(args):
        raise ValueError("boom")

    monkeypatch.setattr("enrollcfn.commands.build.cmd_cost", broken)
    assert main(["cost"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: internal: ValueError: boom (a fault in enrollcfn; run it again with --debug for the trace)"]
    assert main(["cost", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: boom" in err
    assert err.splitlines()[-1].startswith("error: internal: ValueError: boom")


def test_debug_traces_an_ordinary_error_too_and_without_it_there_is_none(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: mars-1\n")
    assert main(["cost", "--config", str(bad)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("ENROLLCFN_DEBUG", "1")
    assert main(["cost", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "error: region:" in err


def test_debug_logs_each_aws_call_by_operation_without_its_data(capsys):
    args = argparse.Namespace(client_factory=None, profile=None, debug=True)
    sm = common.clients(args, region="ap-southeast-2")("secretsmanager")
    with Stubber(sm) as stub:
        stub.add_response("put_secret_value", {"ARN": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:x-AbCdEf", "Name": "x"},
                          {"SecretId": "x", "SecretString": "hunter2-value"})
        sm.put_secret_value(SecretId="x", SecretString="hunter2-value")
    err = capsys.readouterr().err
    assert err.splitlines() == ["debug: aws secretsmanager.PutSecretValue"]
    assert "hunter2" not in err


# Commands whose output is a file's text (a price file, a workflow) rather than a report.
NOT_REPORTS = {"prices", "ci-workflow", "local up", "local down"}  # and the shell lines of local up/down


def _commands():
    subs = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in subs.choices.items():
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for verb, verb_parser in nested[0].choices.items():
                yield f"{name} {verb}", verb_parser
        else:
            yield name, parser


def test_every_command_that_reports_takes_json_and_every_command_takes_debug():
    commands = dict(_commands())
    assert len(commands) > 20
    flags = {name: {o for a in p._actions for o in a.option_strings} for name, p in commands.items()}
    assert [n for n, f in flags.items() if "--debug" not in f] == []
    assert sorted(n for n, f in flags.items() if "--json" not in f) == sorted(NOT_REPORTS)


def test_build_json_lists_what_was_written(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "out"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    written = {f["path"].rsplit("/", 1)[-1] for f in doc["files"]}
    assert {"root.yaml", "bootstrap.yaml", "MANIFEST"} <= written | {"MANIFEST"}
    assert all(f["status"] == "updated" for f in doc["files"]) and doc["monthly_estimate"]["currency"] == "USD"
