"""Faults a real run meets: Ctrl-C at the question or while CloudFormation works, and an endpoint
that answers with something other than AWS (a proxy, a web server)."""

from __future__ import annotations

import http.server
import threading

import pytest

from enrollcfn.cli import main
from enrollcfn.errors import Interrupted
from enrollcfn.pipeline import Clients, Console, Options, Run, apply, follow
from tests.test_deploy import CS_ID, NAME, STACK_ID, TAGS, TARGET, cfn, change_set, describe_cs, existing, expect_create, resource  # noqa: F401


def _interrupt(question):
    raise KeyboardInterrupt


def test_ctrl_c_at_the_question_deletes_the_change_set_and_says_so(cfn):
    existing(cfn)
    expect_create(cfn)
    describe_cs(cfn, change_set("CREATE_COMPLETE", changes=[resource("Queue", "AWS::SQS::Queue", "Add")]))
    cfn.stub.add_response("describe_stacks", {"Stacks": []}, {"StackName": STACK_ID})  # plan_of reads the parameters
    cfn.stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
    run = Run(Clients(cfn), Options(stack=NAME), Console(report=lambda line: None, confirm=_interrupt),
              sleep=lambda s: None, clock=lambda: 0.0)
    with pytest.raises(Interrupted) as err:
        apply(run, TARGET, {"new": 1}, TAGS)
    assert "change set was deleted" in err.value.message and "nothing was changed" in err.value.message


def test_ctrl_c_while_executing_leaves_cloudformation_going_and_says_how_to_follow_or_cancel(cfn):
    cfn.stub.add_response("describe_stacks", {"Stacks": [{"StackId": STACK_ID, "StackName": NAME, "CreationTime": "2026-01-01",
                                                          "StackStatus": "UPDATE_IN_PROGRESS"}]}, {"StackName": NAME})
    cfn.stub.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})

    def sleep(seconds):
        raise KeyboardInterrupt

    run = Run(Clients(cfn), Options(stack=NAME), Console(report=lambda line: None), sleep=sleep, clock=lambda: 0.0)
    cfn.stub.add_response("describe_stacks", {"Stacks": [{"StackId": STACK_ID, "StackName": NAME, "CreationTime": "2026-01-01",
                                                          "StackStatus": "UPDATE_IN_PROGRESS"}]}, {"StackName": STACK_ID})
    with pytest.raises(Interrupted) as err:
        follow(run, NAME, lambda: None, cancel_on_timeout=True)
    assert "carries on" in err.value.message
    assert f"cancel-update-stack --stack-name {NAME}" in err.value.message
    assert f"describe-stack-events --stack-name {NAME}" in err.value.message


BODIES = [b"<html><body>Welcome to the proxy</body></html>", b"hello", b'{"ok": true}', b"<?xml version='1.0'?><a><b/></a>"]


class _WebPage(http.server.BaseHTTPRequestHandler):
    body = BODIES[0]

    def _page(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _page

    def log_message(self, *args):
        pass


@pytest.fixture(params=BODIES, ids=["html", "text", "json", "other-xml"])
def web_page(request):
    handler = type("Page", (_WebPage,), {"body": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_an_endpoint_that_is_not_aws_is_one_line_naming_it(web_page, monkeypatch, capsys):
    for key, value in {"AWS_ENDPOINT_URL": web_page, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    assert main(["plan", "--stack", NAME]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: aws: {web_page} answered with something that is not an AWS response; "
                   "check AWS_ENDPOINT_URL, proxies (HTTPS_PROXY) and the network"]


def test_a_bad_flag_is_a_usage_error_not_plans_changes_pending(capsys):
    with pytest.raises(SystemExit) as done:
        main(["plan", "--stack", NAME, "--no-such-flag"])
    assert done.value.code == 64
    assert "error: usage: unrecognized arguments: --no-such-flag" in capsys.readouterr().err
