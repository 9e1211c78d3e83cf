"""enrollcfn.local.session: a local AWS that outlives the command that started it.

Each test uses a state directory of its own under tmp_path, never the user's. The server is a
real detached process: "stopped" is asserted on the pid and the port, not on the state file.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
import zipfile

import boto3
import pytest

from enrollcfn.config import Config
from enrollcfn.errors import EnrollcfnError
from enrollcfn.local import server as localaws
from enrollcfn.local import session

ZONE = Config().dns.zone_name
REPOSITORY = Config().registry.repository_name


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"


def _not_serving(session_: session.Session) -> bool:
    """Nothing answers on the session's port with its hosted zone. Other test runs on this machine
    start servers on free ports too, so a port freed a moment ago may already be someone else's."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", session_.port)) != 0:
            return True
    try:
        zones = session_.client("route53").list_hosted_zones()["HostedZones"]
    except Exception:  # noqa: BLE001 - not a moto server at all
        return True
    return session_.hosted_zone_id not in {z["Id"].rsplit("/", 1)[-1] for z in zones}


def _exported(text: str) -> dict[str, str]:
    """What `eval "$(...)"` would set, by a real shell."""
    out = subprocess.run(["sh", "-c", text + 'env -0'], capture_output=True, check=True, env={}).stdout
    return dict(line.split("=", 1) for line in out.decode().split("\0") if "=" in line)


def _client(env: dict[str, str], service: str):
    """A client built from the exported variables alone (as the user's shell would)."""
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=env["AWS_SESSION_TOKEN"])


def _invoke_a_function(env: dict[str, str]) -> None:
    """Create and invoke a Lambda function: moto tries docker, which is not there, and says so
    ("error running docker", and inside a container the docker-host probe's prints)."""
    iam, lam = _client(env, "iam"), _client(env, "lambda")
    role = iam.create_role(RoleName="noise", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    lam.create_function(FunctionName="noise", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": code.getvalue()})
    lam.invoke(FunctionName="noise", Payload=b"{}")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One running local AWS for the tests that need one but not its start or stop (each start
    imports moto in a new process: about 2.5 s)."""
    state_dir = tmp_path_factory.mktemp("shared") / "local"
    lines = []
    running = session.up(state_dir, report=lines.append)
    yield running, lines
    session.down(state_dir, report=lambda _text: None)


@pytest.fixture
def state(tmp_path):
    state_dir = tmp_path / "local"
    yield state_dir
    session.down(state_dir, report=lambda _text: None)  # never leave a server behind a failed test


def test_up_exports_an_endpoint_with_the_hosted_zone_a_second_up_reuses_it_and_down_stops_it(state, capfd):
    lines = []
    first = session.up(state, report=lines.append)
    env = _exported(first.exports())
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{first.port}"
    assert {k: env[k] for k in localaws.CREDENTIALS} == localaws.CREDENTIALS
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == localaws.REGION
    zones = _client(env, "route53").list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"]
    assert [(z["Name"], z["Id"].rsplit("/", 1)[-1]) for z in zones] == [(ZONE + ".", first.hosted_zone_id)]
    # the id reaches the user: printed, in a file, exported, and in a config that validates
    assert f"hosted zone {ZONE} is {first.hosted_zone_id} (`enrollcfn init` finds it by name; or --config {state / 'config.yaml'})" in lines
    assert (state / "hosted-zone-id").read_text().strip() == env["ENROLLCFN_LOCAL_HOSTED_ZONE_ID"] == first.hosted_zone_id
    from enrollcfn.config.loading import load

    assert load(state / "config.yaml").dns.hosted_zone_id == first.hosted_zone_id

    lines.clear()
    second = session.up(state, report=lines.append)
    assert (second.pid, second.endpoint, second.hosted_zone_id, second.reused) == (first.pid, first.endpoint, first.hosted_zone_id, True)
    assert lines[0] == f"local AWS already running at {first.endpoint} (pid {first.pid}); reusing it"
    assert len(_client(env, "route53").list_hosted_zones()["HostedZones"]) == 1  # not created twice
    assert session.status(state, report=lines.append).pid == first.pid

    lines.clear()
    assert session.down(state, report=lines.append) is True
    assert _gone(first.pid) and _not_serving(first)
    assert not (state / "local.json").exists() and not (state / "hosted-zone-id").exists()
    assert lines == [f"stopped the local AWS at {first.endpoint} (pid {first.pid})"]
    lines.clear()
    assert session.down(state, report=lines.append) is False
    assert session.status(state, report=lines.append) is None
    assert lines == ["no local AWS running", "no local AWS running"]
    out, err = capfd.readouterr()
    assert out == err == ""  # everything went through `report`; the server's output went to its log


def test_a_live_pid_that_is_not_the_local_aws_is_never_signalled(state):
    """pids are reused: a state file naming another process is stale, not a server to kill."""
    state.mkdir(mode=0o700)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (state / "local.json").write_text(json.dumps({"pid": other.pid, "port": 1, "endpoint": "http://127.0.0.1:1"}))
        lines = []
        assert session.down(state, report=lines.append) is False
        assert other.poll() is None  # still running
        assert lines == [f"no local AWS running (removed the stale state of pid {other.pid})"]
    finally:
        other.kill()
        other.wait()


def test_the_state_files_are_the_users_alone(shared):
    running, _ = shared
    state = running.state_dir
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("local.json", "server.log", "hosted-zone-id", "config.yaml"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    recorded = json.loads((state / "local.json").read_text())
    assert (recorded["pid"], recorded["port"], recorded["endpoint"]) == (running.pid, running.port, running.endpoint)


def test_moto_noise_goes_to_the_servers_log_never_the_terminal(shared, capfd):
    running, lines = shared
    _invoke_a_function(_exported(running.exports()))
    log = running.state_dir / "server.log"
    deadline = time.monotonic() + 5
    while "error running docker" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "error running docker" in log.read_text()  # it was triggered...
    out, err = capfd.readouterr()
    shown = out + err + "\n".join(lines)
    assert "docker" not in shown.lower()  # ...and the user saw none of it
    assert "JSONDecodeError" not in shown and " - - [" not in shown  # nor the probe's prints, nor request lines


def test_in_process_servers_are_quiet_too(capfd):
    with localaws.server() as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint, **localaws.CREDENTIALS, "AWS_REGION": localaws.REGION}
        _invoke_a_function(env)
    out, err = capfd.readouterr()
    assert "docker" not in (out + err).lower() and "JSONDecodeError" not in out + err


def test_push_after_bootstrap_serves_the_stand_in_config_and_keeps_an_immutable_tag(shared):
    """The order: up, the bootstrap stack creates the repository (here: created directly), push."""
    s, _ = shared
    state, lines = s.state_dir, []
    with pytest.raises(EnrollcfnError, match="not on the local AWS yet: the bootstrap stack creates it"):
        session.push(state, REPOSITORY, "release-1", report=lines.append)
    ecr = _client(_exported(s.exports()), "ecr")
    ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    digest = session.push(state, REPOSITORY, "release-1", report=lines.append)
    assert lines[-1] == f"pushed the stand-in seed image as {REPOSITORY}:release-1 ({digest}); deploy it with --image-tag release-1"
    # deploy's preflight reads the image config from the other process's blob server, by the real fetcher
    from enrollcfn import imageconfig

    found = imageconfig.read(ecr, REPOSITORY, {"imageDigest": digest}, "X86_64")
    assert found.architecture == "amd64"
    # a second push of the tag leaves it as it is
    lines.clear()
    session.push(state, REPOSITORY, "release-1", report=lines.append)
    assert lines[-1] == f"{REPOSITORY}:release-1 is already pushed ({digest}); tags are immutable, left as it is"


def test_bad_input_is_one_line(state, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EnrollcfnError, match=f"127.0.0.1:{port} is in use") as exc:
            session.up(state, port=port, report=lambda _text: None)
    assert exc.value.key == "--port"
    with pytest.raises(EnrollcfnError, match="not a TCP port"):
        session.up(state, port=70000)
    link = tmp_path / "link"
    link.symlink_to(state.parent)
    with pytest.raises(EnrollcfnError, match="is a symbolic link"):
        session.up(link)
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(EnrollcfnError, match="cannot create"):
        session.up(a_file / "local")
    with pytest.raises(EnrollcfnError, match="no local AWS running"):
        session.push(state, REPOSITORY, "release-1")


def test_the_command_line_form_evals_in_a_shell_and_replaces_a_stale_state(tmp_path):
    """`eval "$(enrollcfn local up)"`: stdout is shell, progress is stderr; the
    state of a server that no longer runs is replaced."""
    state = tmp_path / "local"
    state.mkdir(mode=0o700)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that ran and is gone
    (state / "local.json").write_text(json.dumps({"pid": dead.pid, "port": 1, "endpoint": "http://127.0.0.1:1"}))
    env = {**os.environ, "ENROLLCFN_LOCAL_STATE": str(state)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "enrollcfn", "local", *args],  # noqa: E731
                                       capture_output=True, text=True, env=env, timeout=60)
    try:
        started = run("up")
        assert started.returncode == 0, started.stderr
        assert all(line.startswith("export ") for line in started.stdout.splitlines())
        progress = started.stderr.splitlines()
        assert progress[0] == f"replacing the stale state of a local AWS that no longer runs (pid {dead.pid})"
        assert [line for line in progress[1:3] if line.startswith("local AWS started at")]  # after "waiting..." if slow
        assert json.loads((state / "local.json").read_text())["pid"] != dead.pid
        shell = subprocess.run(["sh", "-c", started.stdout + 'echo "$AWS_ENDPOINT_URL"'], capture_output=True, text=True)
        assert shell.stdout.strip() == json.loads((tmp_path / "local" / "local.json").read_text())["endpoint"]
    finally:
        stopped = run("down")
    assert stopped.stdout.splitlines()[0] == "unset AWS_ENDPOINT_URL" and "stopped the local AWS" in stopped.stderr
    assert run("down").stderr == "no local AWS running\n"


def test_the_default_state_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ENROLLCFN_LOCAL_STATE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert session.default_state_dir() == tmp_path / "enrollcfn" / "local"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert session.default_state_dir() == tmp_path / "home" / ".local" / "state" / "enrollcfn" / "local"
    monkeypatch.setenv("ENROLLCFN_LOCAL_STATE", str(tmp_path / "mine"))
    assert session.default_state_dir() == tmp_path / "mine"


def test_shell_quoting_of_exported_values(tmp_path):
    odd = session.Session(1, 1, "http://127.0.0.1:1", tmp_path / "a dir; $(touch pwned)", "z", "Z1")
    env = _exported(odd.exports())
    assert env["ENROLLCFN_LOCAL_CONFIG"] == str(tmp_path / "a dir; $(touch pwned)" / "config.yaml")
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")



def test_a_free_port_taken_before_the_server_binds_it_is_replaced(state, monkeypatch):
    """The race between choosing a free port and the server binding it, made certain: the first
    port offered is held by this test; the server says so and up tries another."""
    from enrollcfn import local

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    taken = held.getsockname()[1]
    offered = iter([taken])
    real = local.free_port
    monkeypatch.setattr(local, "free_port", lambda: next(offered, None) or real())
    try:
        running = session.up(state, report=lambda _text: None)
    finally:
        held.close()
    assert next(offered, None) is None  # the held port was offered first
    assert running.port != taken
    assert session.status(state, report=lambda _text: None).port == running.port
