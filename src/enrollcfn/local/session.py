"""A local AWS that keeps running: the patched moto server of enrollcfn.local.server, started
as a detached background process (`enrollcfn local up`) and stopped later (`enrollcfn local down`).

    eval "$(enrollcfn local up)"          # stdout: `export K=V` lines; progress on stderr
    enrollcfn init trial --zone martincaringal.co.nz
    enrollcfn bootstrap trial --yes       # the bootstrap stack: the ECR repository exists now
    enrollcfn local push trial            # the stand-in image as release-1
    enrollcfn deploy trial --image-tag release-1 --yes
    eval "$(enrollcfn local down)"        # stdout: `unset K` lines

Why the push is a step of its own: the ECR repository belongs to the bootstrap stack (a
repository made beforehand would be adopted into it, but then its settings were not the
template's until the update that follows), so the image is pushed once the bootstrap made it.

The state lives in one directory (`default_state_dir()`): `local.json` (pid, port, endpoint,
the hosted zone), `server.log` (everything the server process prints: moto's notes never reach
the user's terminal), `hosted-zone-id` and `config.yaml` (the default config with the local
hosted zone's id). moto assigns a hosted zone its own id, so the id a config's
`dns.hosted_zone_id` must carry is only known once the zone exists: `up` prints it, writes it to
`hosted-zone-id`, exports it as ENROLLCFN_LOCAL_HOSTED_ZONE_ID and writes `config.yaml`, a
config file usable as it is (`--config`). A new server is a new account: its zone id differs.

Functions report human progress through `report` (stderr by default) and return data; the
commands (enrollcfn.commands.local) print shell lines on stdout and everything else on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from enrollcfn.errors import EnrollcfnError

STATE_FILE = "local.json"
LOG_FILE = "server.log"
ZONE_ID_FILE = "hosted-zone-id"
CONFIG_FILE = "config.yaml"
READY = "enrollcfn local AWS ready"  # the line the server process logs once it serves everything
START_TIMEOUT = 60.0  # seconds; importing moto and the patches takes about 1-2 s
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
PORT_TAKEN = 3  # the server's exit code when its port is taken before it binds it
_ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
             "AWS_DEFAULT_REGION", "AWS_REGION", "ENROLLCFN_LOCAL_HOSTED_ZONE_ID", "ENROLLCFN_LOCAL_CONFIG")


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _dir(state_dir: Path | None) -> Path:
    return Path(state_dir) if state_dir is not None else default_state_dir()


def default_state_dir() -> Path:
    """$ENROLLCFN_LOCAL_STATE, else $XDG_STATE_HOME/enrollcfn/local (~/.local/state by default):
    one local AWS per user, wherever the tool is run from."""
    if os.environ.get("ENROLLCFN_LOCAL_STATE"):
        return Path(os.environ["ENROLLCFN_LOCAL_STATE"])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "enrollcfn" / "local"


@dataclass(frozen=True)
class Session:
    """A running local AWS, as its state file records it."""

    pid: int
    port: int
    endpoint: str
    state_dir: Path
    zone_name: str = ""
    hosted_zone_id: str = ""
    reused: bool = False

    def environment(self) -> dict[str, str]:
        """The variables that point AWS SDKs and enrollcfn at this local AWS (dummy credentials)."""
        from enrollcfn.local import environment

        env = environment(self.endpoint)
        if self.hosted_zone_id:
            env["ENROLLCFN_LOCAL_HOSTED_ZONE_ID"] = self.hosted_zone_id
            env["ENROLLCFN_LOCAL_CONFIG"] = str(self.state_dir / CONFIG_FILE)
        return env

    def exports(self) -> str:
        """`export K=V` lines for `eval` (values shell-quoted)."""
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.environment().items())

    def client(self, service: str):
        """A boto3 client of this local AWS (not read from the environment)."""
        import boto3

        env = self.environment()
        return boto3.client(service, endpoint_url=self.endpoint, region_name=env["AWS_REGION"],
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=env["AWS_SESSION_TOKEN"])


def unsets() -> str:
    """`unset K` lines for `eval` after `down`: the variables `exports` sets."""
    return "".join(f"unset {k}\n" for k in _ENV_KEYS)


# --- up / down / status ----------------------------------------------------------------------

def up(state_dir: Path | None = None, *, port: int | None = None, hosted_zone: str | None = None,
       report=_stderr) -> Session:
    """A local AWS: the one recorded in `state_dir` if it still runs, else a new detached server.

    Creates the public hosted zone `hosted_zone` (default: the default config's dns.zone_name) if
    it is not there, and writes its id beside the state. The image is pushed later (`push`), once
    the bootstrap stack made the repository (see the module's note).
    """
    from enrollcfn.config import Config

    state_dir = _usable_dir(_dir(state_dir))
    cfg = Config()
    zone_name = hosted_zone or cfg.dns.zone_name
    if port is not None and not 0 < port < 65536:
        raise EnrollcfnError("--port", f"{port} is not a TCP port (1-65535)")
    current = _running(state_dir, report)
    if current is not None and port is not None and current.port != port:
        raise EnrollcfnError("--port", f"a local AWS already runs at {current.endpoint} (pid {current.pid}); "
                             f"`enrollcfn local down` first to start one on port {port}")
    if current is not None:
        report(f"local AWS already running at {current.endpoint} (pid {current.pid}); reusing it")
        session = Session(current.pid, current.port, current.endpoint, state_dir, reused=True)
    else:
        session = _start(state_dir, port, report)
    session = _with_zone(session, zone_name, report)
    return session


@contextlib.contextmanager
def running(state_dir: Path | None = None, **kwargs):
    """`up`, then `down` on leaving, unless the local AWS was already running (reused)."""
    session = up(state_dir, **kwargs)
    try:
        yield session
    finally:
        if not session.reused:
            down(session.state_dir, report=kwargs.get("report", _stderr))


def down(state_dir: Path | None = None, report=_stderr) -> bool:
    """Stop the local AWS of `state_dir` (SIGTERM, SIGKILL after STOP_TIMEOUT s) and remove its
    state file; False (and a line saying so) when none was running."""
    state_dir = _dir(state_dir)
    recorded = _read_state(state_dir)
    if recorded is None:
        report("no local AWS running")
        return False
    pid = recorded["pid"]
    # Without /proc (macOS) the process cannot be named: the server must also answer on its port.
    if not _is_ours(pid) or (not Path("/proc/self").exists() and not _answers(recorded["endpoint"])):
        # A dead server, or its pid now belongs to another process: nothing of ours to stop.
        _remove_state(state_dir)
        report(f"no local AWS running (removed the stale state of pid {pid})")
        return False
    os.kill(pid, signal.SIGTERM)  # the server resets moto and stops its threads on SIGTERM
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = _alive(pid)
    if killed:
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    _remove_state(state_dir)
    report(f"stopped the local AWS at {recorded['endpoint']} (pid {pid}{', killed after SIGTERM was ignored' if killed else ''})")
    return True


def status(state_dir: Path | None = None, report=_stderr) -> Session | None:
    """The running local AWS of `state_dir`, or None; one line saying which."""
    state_dir = _dir(state_dir)
    current = _running(state_dir, lambda _text: None)
    if current is None:
        report("no local AWS running")
        return None
    zone = f"; hosted zone {current.zone_name} {current.hosted_zone_id}" if current.hosted_zone_id else ""
    report(f"local AWS running at {current.endpoint} (pid {current.pid}){zone}")
    return current


def push(state_dir: Path | None, repository: str, tag: str, report=_stderr) -> str:
    """Push the stand-in of the seed image (enrollcfn.local.standin) to `repository` under `tag`
    on the running local AWS; its digest.

    The local ECR holds manifests and image configs, not layers: what is pushed is the manifest
    with the stand-in's OCI config (what deploy's preflight reads) and one layer digest naming
    the stand-in's build key, so the digest says which stand-in it is. Building the stand-in's
    file system (mmdebstrap, about a minute) is needed only to run it with the local Fargate, so
    a push needs no build. Tags are immutable: a tag already there is left as it is.
    """
    from botocore.exceptions import ClientError

    from enrollcfn.local import server, standin

    state_dir = _dir(state_dir)
    session = _running(state_dir, lambda _text: None)
    if session is None:
        raise EnrollcfnError(str(state_dir), "no local AWS running; start one with `enrollcfn local up`")
    ecr = session.client("ecr")
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "RepositoryNotFoundException":
            raise EnrollcfnError("registry.repository_name", f"{repository} is not on the local AWS yet: the bootstrap stack creates it; "
                                 "run `enrollcfn bootstrap ENV` first, then push") from None
        if code != "ImageNotFoundException":
            raise
        found = []
    if found:
        report(f"{repository}:{tag} is already pushed ({found[0]['imageDigest']}); tags are immutable, left as it is")
        return found[0]["imageDigest"]
    digest = server.push_image(ecr, repository, tag, f"stand-in seed {standin.variant_key('seed')}", config=server.STAND_IN_CONFIG)
    report(f"pushed the stand-in seed image as {repository}:{tag} ({digest}); deploy it with --image-tag {tag}")
    return digest


# --- the server process ----------------------------------------------------------------------

def serve(port: int) -> int:
    """The detached server's body: a patched moto server on 127.0.0.1:`port` until SIGTERM/SIGINT.
    Its output is the log file `up` opened; moto's notes are left in it (quiet_moto=False)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Before importing moto (2 s): moto's server thread would die on a taken port and its start()
    # wait forever.
    if _port_taken(port):
        print(f"127.0.0.1:{port} is in use", flush=True)
        return PORT_TAKEN
    from enrollcfn.local import server
    # moto's notes (enrollcfn.local.server.quiet) stay in the log; werkzeug's line per request
    # would bury them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with server.server(port, quiet_moto=False) as endpoint:
        print(f"{READY} at {endpoint} (pid {os.getpid()})", flush=True)
        stop.wait()
        print("stopped", flush=True)
        # moto's state lives in this process and ends with it: server()'s reset and its threads'
        # shutdown (about a second of werkzeug's polling) would change nothing anyone can see.
        os._exit(0)
    return 0


def _start(state_dir: Path, port: int | None, report) -> Session:
    from enrollcfn.local import free_port

    if port is not None:
        if _port_taken(port):
            raise EnrollcfnError("--port", f"127.0.0.1:{port} is in use; choose another port, or leave --port out for a free one")
        return _spawn(state_dir, port, report)
    # A free port may be taken by another process before the server binds it (other local
    # servers, test runs): the server then exits at once saying so, and another port is tried.
    for attempt in range(3):
        try:
            return _spawn(state_dir, free_port(), report)
        except _PortTaken:
            if attempt == 2:
                raise EnrollcfnError("--port", "three free ports were taken before the local AWS could bind them; try again") from None
    raise AssertionError("unreachable")


class _PortTaken(Exception):
    pass


def _spawn(state_dir: Path, port: int, report) -> Session:
    log_path = state_dir / LOG_FILE
    with _open_private(log_path, truncate=True) as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "enrollcfn.local.session", "serve", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: the shell's Ctrl-C and hang-up do not reach it
            cwd=state_dir, close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    endpoint = f"http://127.0.0.1:{port}"
    started, told = time.monotonic(), False
    while True:
        if READY in _read_text(log_path):
            break
        code = child.poll()
        elapsed = time.monotonic() - started
        if code is not None:
            last = (_read_text(log_path).strip().splitlines() or ["(no output)"])[-1]
            if code == PORT_TAKEN:
                raise _PortTaken(last)
            raise EnrollcfnError(str(log_path), f"the local AWS exited (code {code}) before it answered: {last}")
        if elapsed > START_TIMEOUT:
            child.kill()
            child.wait()
            raise EnrollcfnError(str(log_path), f"the local AWS did not answer within {START_TIMEOUT:.0f} s; it was stopped")
        if elapsed > 2 and not told:
            report("waiting for the local AWS to answer...")
            told = True
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    _write_state(state_dir, {"pid": child.pid, "port": port, "endpoint": endpoint, "log": str(log_path)})
    report(f"local AWS started at {endpoint} (pid {child.pid}{f', {elapsed:.1f} s' if elapsed > 2 else ''}); its log: {log_path}")
    # The child outlives this process; in a long-lived caller (tests, the demo) `down` reaps it.
    child.returncode = 0  # keep Popen.__del__ from warning about a child that still runs, by design
    return Session(child.pid, port, endpoint, state_dir)


def _with_zone(session: Session, zone_name: str, report) -> Session:
    """`session` with the public hosted zone `zone_name`, created if it is not there."""
    from enrollcfn.scaffold import zones_named

    route53 = session.client("route53")
    public, _ = zones_named(route53, zone_name)
    if public:
        zone_id = public[0]
    else:
        created = route53.create_hosted_zone(Name=zone_name.rstrip(".") + ".", CallerReference=f"enrollcfn-local-{time.time_ns()}",
                                             HostedZoneConfig={"Comment": "enrollcfn local up", "PrivateZone": False})
        zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
        report(f"created the hosted zone {zone_name}")
    state_dir = session.state_dir
    _atomic_write(state_dir / ZONE_ID_FILE, zone_id + "\n")
    _atomic_write(state_dir / CONFIG_FILE, "# Written by `enrollcfn local up`: the default config with the local AWS's hosted zone\n"
                  f"dns:\n  zone_name: {json.dumps(zone_name)}\n  hosted_zone_id: {zone_id}\n")
    _write_state(state_dir, {**_read_state(state_dir), "zone_name": zone_name, "hosted_zone_id": zone_id})
    report(f"hosted zone {zone_name} is {zone_id} (`enrollcfn init` finds it by name; or --config {state_dir / CONFIG_FILE})")
    return Session(session.pid, session.port, session.endpoint, state_dir, zone_name, zone_id, session.reused)


def _running(state_dir: Path, report) -> Session | None:
    """The recorded server if its process is ours and it answers; a stale record is removed."""
    recorded = _read_state(state_dir)
    if recorded is None:
        return None
    pid, endpoint = recorded["pid"], recorded["endpoint"]
    if _is_ours(pid) and _answers(endpoint):
        return Session(pid, recorded["port"], endpoint, state_dir, recorded.get("zone_name", ""), recorded.get("hosted_zone_id", ""))
    if _is_ours(pid):
        # Ours but not answering (hung): stop it rather than leave a second server behind.
        down(state_dir, report)
    else:
        _remove_state(state_dir)
        report(f"replacing the stale state of a local AWS that no longer runs (pid {pid})")
    return None


# --- processes and ports ---------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """`pid` runs (a zombie does not: it has exited and waits to be reaped)."""
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child (tests, the demo): reap it
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    return True


def _is_ours(pid: int) -> bool:
    """`pid` runs and is a local AWS server process (pids are reused: never signal another's)."""
    if not _alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): the answering port decides
    except OSError:
        return False
    return b"enrollcfn.local.session" in args and b"serve" in args


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


# --- the state directory ---------------------------------------------------------------------

def _usable_dir(state_dir: Path) -> Path:
    """`state_dir`, created (0700) if missing; refused if it is a symbolic link, not a directory,
    not the user's or not writable: the state names a process `down` will signal."""
    key = str(state_dir)
    if state_dir.is_symlink():
        raise EnrollcfnError(key, "the local AWS's state directory is a symbolic link; use a real directory (ENROLLCFN_LOCAL_STATE)")
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = state_dir.lstat()
    except OSError as exc:
        raise EnrollcfnError(key, f"cannot create the local AWS's state directory: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise EnrollcfnError(key, "is not a directory; the local AWS keeps its state in a directory")
    if info.st_uid != os.getuid():
        raise EnrollcfnError(key, "the local AWS's state directory belongs to another user; use one of your own (ENROLLCFN_LOCAL_STATE)")
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise EnrollcfnError(key, "the local AWS's state directory is not writable")
    return state_dir


def _read_state(state_dir: Path) -> dict | None:
    path = state_dir / STATE_FILE
    try:
        if path.is_symlink():
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and isinstance(data.get("pid"), int) and data["pid"] > 0
            and isinstance(data.get("port"), int) and isinstance(data.get("endpoint"), str)):
        return None  # not a state file this module wrote: treated as none
    return data


def _write_state(state_dir: Path, data: dict) -> None:
    _atomic_write(state_dir / STATE_FILE, json.dumps(data, indent=2) + "\n")


def _remove_state(state_dir: Path) -> None:
    """The state file, and the zone id and config that name a zone of that server (a new server
    is a new account: its zone gets a new id). The log stays, for a look at what happened."""
    for name in (STATE_FILE, ZONE_ID_FILE, CONFIG_FILE):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()


def _atomic_write(path: Path, text: str) -> None:
    """`text` into `path`, mode 0600: a temporary file beside it, then a rename (never a half file,
    never through a link: the rename replaces a link itself)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EnrollcfnError(str(path), f"cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _open_private(path: Path, truncate: bool):
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if truncate else os.O_APPEND)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise EnrollcfnError(str(path), f"cannot open the local AWS's log: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as f:
        yield f


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


# --- command line ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """`python -m enrollcfn.local.session serve --port N`: the detached server process `up` starts
    (the commands themselves are `enrollcfn local up|push|status|down`, enrollcfn.commands.local)."""
    parser = argparse.ArgumentParser(prog="python -m enrollcfn.local.session")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve").add_argument("--port", type=int, required=True)
    return serve(parser.parse_args(argv).port)


if __name__ == "__main__":
    sys.exit(main())
