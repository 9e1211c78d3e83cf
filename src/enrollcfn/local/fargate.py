"""A local Fargate: the containers of a compiled task definition, run from a local image's root
file system under the rules Fargate applies, so a test can see whether an image can live under
the task definition this project compiles (which the local AWS, never running a container,
cannot show).

What it applies, each from the ECS Developer Guide:
- each container on its own copy-on-write view of the image (an overlay mount, as Docker's
  overlay2), read-only when `readonlyRootFilesystem` is true;
- `user` (a name or uid, `:group` or `:gid`, resolved in the image's /etc/passwd and /etc/group;
  absent, the image's User; absent too, root with Docker's default capabilities);
- each volume a bind mount that starts as an empty directory owned by root, mode 0755, unless the
  image declares VOLUME at that container path, when the image's content, owner and mode are
  copied in first ("Bind mounts", Fargate platform 1.4.0);
- `environment` and `secrets` (Secrets Manager ARNs with a JSON key, read from the local AWS);
- `entryPoint` and `command` with Docker's rule (an entry point given drops the image's CMD);
- `dependsOn` (START, COMPLETE, SUCCESS) and essential containers: when an essential container
  exits, the others get SIGTERM, then SIGKILL after their `stopTimeout` (default 30 s), and the
  task stops with "Essential container in task exited";
- stdout and stderr, line by line, as the awslogs driver ships them: one stream per container,
  `<awslogs-stream-prefix>/<container>/<task id>`;
- the target group's health check (path, matcher, interval, timeout, thresholds) against the
  container port the service registers.

It needs root, bubblewrap and overlayfs (`missing()` says which are absent), shares the host's
network (as awsvpc gives a task its own address, the container's port is bound on 127.0.0.1 of
this machine), and runs the container's processes in their own PID, IPC and UTS namespaces.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

# Docker's default capabilities, which Fargate gives a container (ECS Developer Guide,
# "KernelCapabilities": Fargate adds only SYS_PTRACE to them).
DEFAULT_CAPABILITIES = (
    "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service",
    "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap",
)
ESSENTIAL_EXITED = "Essential container in task exited"
HEALTH_FAILED = "Task failed ELB health checks"
DEFAULT_STOP_TIMEOUT = 30


def missing() -> list[str]:
    """What this machine lacks to run a task: [] when it can."""
    out = []
    if os.geteuid() != 0:
        out.append("root (bind mounts and overlayfs)")
    if not shutil.which("bwrap"):
        out.append("bubblewrap (apt-get install bubblewrap)")
    try:
        if "overlay" not in Path("/proc/filesystems").read_text():
            out.append("overlayfs in the kernel")
    except OSError:
        out.append("/proc/filesystems")
    return out


# --- the task definition, from a Build -------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """What the local Fargate runs from a compiled `Build`: every task definition of the service
    stack (ECS API shape) by logical id, and the target group's health check."""

    task_definitions: Mapping[str, dict]
    health_check: HealthCheck

    @property
    def service(self) -> dict:
        """The task definition the service runs."""
        return self.task_definitions["TaskDefinition"]


def from_build(build, values: Mapping[str, str]) -> Compiled:
    """The service stack's task definitions and the target group's health check, from a compiled
    `Build`: `values` gives what CloudFormation would (see `task_definition`); a service stack
    Parameter left out takes its Default."""
    service, balancer = build["service"].doc, build["load_balancer"].doc
    values = {**{k: str(p["Default"]) for k, p in service.get("Parameters", {}).items() if "Default" in p}, **values}
    target_group = balancer["Resources"]["TargetGroup"]["Properties"]  # the one the service registers in
    taskdefs = {k: task_definition(service, values, k) for k, r in service["Resources"].items() if r["Type"] == "AWS::ECS::TaskDefinition"}
    return Compiled(MappingProxyType(taskdefs), HealthCheck.of(target_group))


def task_definition(doc: Mapping, values: Mapping[str, str], logical_id: str = "TaskDefinition") -> dict:
    """The task definition resource of a compiled template (`Stack.doc`), resolved as CloudFormation
    would with `values` for its Parameters, pseudo parameters (`AWS::Region`, ...) and resources
    (`AppSecret` -> its ARN), in the ECS API's shape (camelCase keys)."""
    conditions = {name: _condition(body, doc, values) for name, body in doc.get("Conditions", {}).items()}
    props = _resolve(doc["Resources"][logical_id]["Properties"], values, conditions)
    return _camel(props)


def _condition(body, doc, values):
    [(fn, args)] = body.items()
    if fn == "Fn::Equals":
        a, b = (_resolve(x, values, {}) for x in args)
        return a == b
    if fn == "Fn::Not":
        return not _evaluate(args[0], doc, values)
    if fn == "Fn::And":
        return all(_evaluate(x, doc, values) for x in args)
    if fn == "Fn::Or":
        return any(_evaluate(x, doc, values) for x in args)
    raise ValueError(f"condition function {fn} is not supported")


def _evaluate(node, doc, values):
    if isinstance(node, dict) and "Condition" in node:
        return _condition(doc["Conditions"][node["Condition"]], doc, values)
    return _condition(node, doc, values)


def _resolve(node, values, conditions):
    if isinstance(node, list):
        return [_resolve(x, values, conditions) for x in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        [(key, arg)] = node.items()
        if key == "Ref":
            return _value(values, arg)
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], _resolve(arg[1], values, conditions))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(local.get(m.group(1)) or _value(values, m.group(1))), text)
        if key == "Fn::If":
            name, yes, no = arg
            return _resolve(yes if conditions[name] else no, values, conditions)
        if key == "Fn::Join":
            return arg[0].join(str(x) for x in _resolve(arg[1], values, conditions))
        if key == "Fn::GetAtt":
            return _value(values, ".".join(arg) if isinstance(arg, list) else arg)
    return {k: _resolve(v, values, conditions) for k, v in node.items()}


def _value(values, name):
    if name not in values:
        raise KeyError(f"no value for {name}: pass it in `values`")
    return values[name]


def _camel(node):
    if isinstance(node, list):
        return [_camel(x) for x in node]
    if isinstance(node, dict):
        # Options of a log configuration keep their keys (awslogs-group, ...).
        return {(k[0].lower() + k[1:] if k[:1].isupper() else k): (v if k == "Options" else _camel(v)) for k, v in node.items()}
    return node


@dataclass(frozen=True)
class HealthCheck:
    """A target group's health check (Elastic Load Balancing: TargetGroup properties)."""

    path: str = "/"
    matcher: str = "200"
    interval: float = 30
    timeout: float = 5
    healthy: int = 5
    unhealthy: int = 2

    @classmethod
    def of(cls, target_group: Mapping) -> HealthCheck:
        """From a TargetGroup resource's Properties (ELB's defaults for what is left out)."""
        p = target_group
        return cls(
            path=p.get("HealthCheckPath", "/"), matcher=str(p.get("Matcher", {}).get("HttpCode", "200")),
            interval=float(p.get("HealthCheckIntervalSeconds", 30)), timeout=float(p.get("HealthCheckTimeoutSeconds", 5)),
            healthy=int(p.get("HealthyThresholdCount", 5)), unhealthy=int(p.get("UnhealthyThresholdCount", 2)),
        )

    def accepts(self, status: int) -> bool:
        """Whether `status` matches the matcher: codes and ranges, comma-separated ("200,302", "200-399")."""
        for part in self.matcher.split(","):
            lo, _, hi = part.strip().partition("-")
            if int(lo) <= status <= int(hi or lo):
                return True
        return False


# --- the image ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """A local image: its root file system and its OCI config (`User`, `Volumes`, `Entrypoint`,
    `Cmd`, `WorkingDir`, `Env`, as `docker inspect` spells them)."""

    rootfs: Path
    config: Mapping
    name: str = ""  # e.g. the stand-in's variant, "seed" or "ported"

    def user(self, spec: str | None) -> tuple[int, int, tuple[int, ...], str]:
        """uid, gid, supplementary gids and home of `spec` (name or uid, optionally :group or :gid),
        resolved in the image; None is the image's User, and an empty one is root."""
        spec = spec or self.config.get("User") or "root"
        name, _, group = spec.partition(":")
        passwd = _table(self.rootfs / "etc/passwd")
        groups = _table(self.rootfs / "etc/group")
        entry = next((e for e in passwd if e[0] == name or (name.isdigit() and e[2] == str(int(name)))), None)
        if entry is None and not name.isdigit():
            raise TaskError(f"unable to find user {name}: no matching entries in passwd file")
        uid = int(entry[2]) if entry else int(name)
        gid = int(entry[3]) if entry else 0
        if group:
            found = next((g for g in groups if g[0] == group or (group.isdigit() and g[2] == str(int(group)))), None)
            if found is None and not group.isdigit():
                raise TaskError(f"unable to find group {group}: no matching entries in group file")
            gid = int(found[2]) if found else int(group)
        extra = tuple(int(g[2]) for g in groups if entry and entry[0] in g[3].split(",") and int(g[2]) != gid)
        return uid, gid, extra, entry[5] if entry else "/"

    @property
    def volumes(self) -> frozenset[str]:
        return frozenset(self.config.get("Volumes") or {})


def _table(path: Path) -> list[list[str]]:
    try:
        return [line.split(":") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    except OSError:
        return []


class TaskError(Exception):
    """A task that cannot be started as asked (the message is what ECS would report)."""


# --- a running task ----------------------------------------------------------------------------------


@dataclass
class LogEvent:
    timestamp: float
    stream: str  # the awslogs stream: <prefix>/<container>/<task id>
    message: str


@dataclass
class Container:
    name: str
    definition: dict
    process: subprocess.Popen | None = None
    exit_code: int | None = None
    reason: str | None = None
    started: bool = False
    merged: Path | None = None
    threads: list = field(default_factory=list)


SecretReader = Callable[[str], str]  # a Secrets Manager secret id -> its SecretString


class Task:
    """One task of `taskdef` from `image`; a context manager that stops it on exit.

    `secrets` reads a secret's string (the local AWS's Secrets Manager); `binds` adds read-only
    host files to every container ({container path: host path}: what an image would hold, such as
    a CA bundle baked in by a Dockerfile); `workdir` holds the task's volumes and each container's
    writable layer.
    """

    def __init__(self, taskdef: Mapping, image: Image, workdir: Path, secrets: SecretReader | None = None,
                 binds: Mapping[str, Path] | None = None, overrides: Mapping[str, list[str]] | None = None):
        self.taskdef = taskdef
        self.image = image
        self.id = uuid.uuid4().hex
        self.workdir = Path(workdir) / self.id
        self.secrets = secrets
        self.binds = dict(binds or {})
        self.overrides = dict(overrides or {})  # container name -> command (RunTask containerOverrides)
        self.containers = {c["name"]: Container(c["name"], c) for c in taskdef["containerDefinitions"]}
        self.logs: list[LogEvent] = []
        self.last_status = "PROVISIONING"
        self.stopped_reason: str | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._scheduler: threading.Thread | None = None

    # lifecycle

    def __enter__(self) -> Task:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop("Task stopped by the test")
        self.wait()
        self._cleanup()

    def start(self) -> None:
        problems = missing()
        if problems:
            raise TaskError(f"the local Fargate needs {', '.join(problems)}")
        self.workdir.mkdir(parents=True)
        # ECS fetches every container's secrets before any container starts (a missing one stops
        # the task with ResourceInitializationError).
        self._secrets = {c.name: {s["name"]: self._secret(s["valueFrom"]) for s in c.definition.get("secrets", [])} for c in self.containers.values()}
        self._volumes = self._prepare_volumes()
        self.last_status = "PENDING"
        self._scheduler = threading.Thread(target=self._schedule, daemon=True)
        self._scheduler.start()

    def wait(self, timeout: float = 300) -> str:
        """Until the task has STOPPED; its stopped reason."""
        if self._scheduler:
            self._scheduler.join(timeout)
            if self._scheduler.is_alive():
                raise TimeoutError(f"task {self.id} still {self.last_status} after {timeout} s")
        return self.stopped_reason or ""

    def stop(self, reason: str) -> None:
        """StopTask: SIGTERM to every running container, SIGKILL after its stopTimeout."""
        with self._lock:
            if self.stopped_reason is None:
                self.stopped_reason = reason
        self._stopping.set()

    # what a test reads

    def exit_codes(self) -> dict[str, int | None]:
        return {c.name: c.exit_code for c in self.containers.values()}

    def log_text(self, container: str | None = None) -> str:
        with self._lock:
            return "\n".join(e.message for e in self.logs if container is None or f"/{container}/" in e.stream)

    def volume(self, container_path: str, container: str | None = None) -> Path:
        """The host directory behind `container_path` of a container (default: the essential one)."""
        c = self.containers[container or self.essential()]
        for m in c.definition.get("mountPoints", []):
            if m["containerPath"] == container_path:
                return self._volumes[m["sourceVolume"]]
        raise KeyError(container_path)

    def essential(self) -> str:
        return next(c.name for c in self.containers.values() if c.definition.get("essential", True))

    def port(self) -> int:
        return self.containers[self.essential()].definition["portMappings"][0]["containerPort"]

    def wait_healthy(self, check: HealthCheck, scale: float = 1.0, grace: float = 0, limit: int = 50) -> list[int | str]:
        """Run the target group's health check (its interval and timeout times `scale`) until the
        target is healthy (`healthy` passes in a row) or unhealthy (`unhealthy` failures in a row
        after `grace` seconds, ECS's healthCheckGracePeriodSeconds), or the task stops. Returns
        each probe's status; an unhealthy target stops the task as ECS does."""
        url = f"http://127.0.0.1:{self.port()}{check.path}"
        seen: list[int | str] = []
        ok = bad = 0
        started = time.monotonic()
        while len(seen) < limit and self.stopped_reason is None:
            status = _probe(url, check.timeout * max(scale, 0.2))
            seen.append(status)
            if isinstance(status, int) and check.accepts(status):
                ok, bad = ok + 1, 0
                if ok >= check.healthy:
                    self.last_status = "RUNNING"
                    return seen
            else:
                ok, bad = 0, bad + (time.monotonic() - started >= grace)
                if bad >= check.unhealthy:
                    self.stop(f"{HEALTH_FAILED} (health check {check.path}: {status})")
                    return seen
            time.sleep(check.interval * scale)
        return seen

    # internals

    def _prepare_volumes(self) -> dict[str, Path]:
        out = {}
        declared = self.image.volumes
        for volume in self.taskdef.get("volumes", []):
            name = volume["name"]
            path = self.workdir / "volumes" / name
            path.mkdir(parents=True)
            os.chown(path, 0, 0)
            path.chmod(0o755)
            out[name] = path
            # Fargate copies the image's content into a volume mounted where the image declares VOLUME.
            paths = {m["containerPath"] for c in self.containers.values() for m in c.definition.get("mountPoints", []) if m["sourceVolume"] == name}
            for container_path in sorted(paths & declared):
                source = self.image.rootfs / container_path.lstrip("/")
                if source.is_dir():
                    subprocess.run(["cp", "-a", f"{source}/.", f"{path}/"], check=True)
                    st = source.stat()
                    os.chown(path, st.st_uid, st.st_gid)
                    path.chmod(st.st_mode & 0o7777)
        return out

    def _schedule(self) -> None:
        try:
            while True:
                if self._stopping.is_set():
                    break
                self._start_ready()
                essential_done = [c for c in self.containers.values() if c.definition.get("essential", True) and c.exit_code is not None]
                if essential_done:
                    self.stop(ESSENTIAL_EXITED)
                    break
                blocked = [c for c in self.containers.values() if c.reason and c.definition.get("essential", True)]
                if blocked:
                    self.stop(f"container {blocked[0].name} did not start: {blocked[0].reason}")
                    break
                time.sleep(0.05)
            self._terminate()
        except Exception as exc:  # noqa: BLE001 - a task that could not run still stops, with the reason
            with self._lock:
                self.stopped_reason = self.stopped_reason or f"CannotStartContainerError: {exc}"
            self._terminate()
        self.last_status = "STOPPED"

    def _start_ready(self) -> None:
        for c in self.containers.values():
            if c.started or c.reason:
                continue
            ready = True
            for dep in c.definition.get("dependsOn", []):
                other, condition = self.containers[dep["containerName"]], dep["condition"]
                if condition == "START":
                    ready &= other.started
                elif condition in ("COMPLETE", "SUCCESS"):
                    if other.exit_code is None:
                        ready = False
                    elif condition == "SUCCESS" and other.exit_code != 0:
                        c.reason = f"dependency {other.name} exited {other.exit_code} (condition SUCCESS)"
                        ready = False
                else:
                    raise TaskError(f"dependsOn condition {condition} is not supported by the local Fargate")
            if ready and not c.reason:
                self._launch(c)
        self.last_status = "RUNNING" if any(c.started and c.exit_code is None for c in self.containers.values()) else self.last_status

    def _launch(self, c: Container) -> None:
        d = c.definition
        uid, gid, groups, home = self.image.user(d.get("user"))
        c.merged = self._overlay(c.name)
        mounts = []
        for m in d.get("mountPoints", []):
            target = c.merged / m["containerPath"].lstrip("/")
            target.mkdir(parents=True, exist_ok=True)  # Docker creates a mount point in the container layer
            mounts += ["--ro-bind" if m.get("readOnly") else "--bind", str(self._volumes[m["sourceVolume"]]), m["containerPath"]]
        for container_path, host in self.binds.items():
            target = c.merged / container_path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch(exist_ok=True)
            mounts += ["--ro-bind", str(host), container_path]
        env = self._environment(d, home, self._secrets[c.name])
        argv = self._argv(d, c.name)
        caps = ",".join(["-all", *(f"+{cap}" for cap in DEFAULT_CAPABILITIES)])
        drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups",
                f"--bounding-set={caps}", "--"]
        cmd = ["bwrap", "--bind", str(c.merged), "/", *mounts, "--proc", "/proc", "--dev", "/dev",
               *(["--remount-ro", "/"] if d.get("readonlyRootFilesystem") else []),
               "--unshare-pid", "--as-pid-1", "--unshare-ipc", "--unshare-uts", "--hostname", f"ip-{self.id[:8]}", "--die-with-parent",
               "--chdir", d.get("workingDirectory") or self.image.config.get("WorkingDir") or "/", "--clearenv",
               *(x for k, v in env.items() for x in ("--setenv", k, v)), *drop, *argv]
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (out_w, err_w):  # as runc does, so a non-root process can open /dev/stdout
            os.fchown(fd, uid, gid)
        c.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, close_fds=True)
        os.close(out_w)
        os.close(err_w)
        c.started = True
        prefix = d.get("logConfiguration", {}).get("options", {}).get("awslogs-stream-prefix", "ecs")
        stream = f"{prefix}/{c.name}/{self.id}"
        for fd in (out_r, err_r):
            t = threading.Thread(target=self._read, args=(fd, stream), daemon=True)
            t.start()
            c.threads.append(t)
        threading.Thread(target=self._reap, args=(c,), daemon=True).start()

    def _argv(self, d: Mapping, name: str) -> list[str]:
        entry = d.get("entryPoint")
        command = self.overrides.get(name) or d.get("command")
        if entry:
            argv = [*entry, *(command or [])]  # Docker: an entry point given drops the image's CMD
        else:
            argv = [*(self.image.config.get("Entrypoint") or []), *(command or self.image.config.get("Cmd") or [])]
        if not argv:
            raise TaskError(f"container {name}: no command (neither the task definition nor the image gives one)")
        return argv

    def _environment(self, d: Mapping, home: str, secrets: Mapping[str, str]) -> dict[str, str]:
        env = dict(e.split("=", 1) for e in self.image.config.get("Env") or [] if "=" in e)
        env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        env.update({"HOSTNAME": f"ip-{self.id[:8]}", "HOME": home})
        env.update({e["name"]: e["value"] for e in d.get("environment", [])})
        env.update(secrets)
        return env

    def _secret(self, value_from: str) -> str:
        """arn:...:secret:name-XXXXXX[:json-key:version-stage:version-id] (ECS: "Pass Secrets Manager secrets")."""
        if self.secrets is None:
            raise TaskError("the task definition has secrets but no secret reader was given")
        parts = value_from.split(":")
        arn, key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
        text = self.secrets(arn)
        if not key:
            return text
        try:
            return str(json.loads(text)[key])
        except (ValueError, KeyError) as exc:
            raise TaskError(f"ResourceInitializationError: unable to retrieve secret from asm: key {key} not found in {arn}") from exc

    def _overlay(self, name: str) -> Path:
        base = self.workdir / "containers" / name
        for sub in ("upper", "work", "merged"):
            (base / sub).mkdir(parents=True)
        options = f"lowerdir={self.image.rootfs},upperdir={base / 'upper'},workdir={base / 'work'}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(base / "merged")], check=True)
        return base / "merged"

    def _read(self, fd: int, stream: str) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for raw in pipe:
                with self._lock:
                    self.logs.append(LogEvent(time.time(), stream, raw.decode("utf-8", "replace").rstrip("\n")))

    def _reap(self, c: Container) -> None:
        code = c.process.wait()
        for t in c.threads:
            t.join(5)
        c.exit_code = code if code >= 0 else 128 - code  # killed by signal N: 128+N, as Docker reports

    def _terminate(self) -> None:
        running = [c for c in self.containers.values() if c.process and c.exit_code is None]
        for c in running:
            child = _child(c.process.pid)
            if child:
                _signal(child, signal.SIGTERM)
        for c in running:
            deadline = time.monotonic() + c.definition.get("stopTimeout", DEFAULT_STOP_TIMEOUT)
            while c.exit_code is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if c.exit_code is None:
                _signal(c.process.pid, signal.SIGKILL)  # bwrap's child dies with it (--die-with-parent)
                c.process.wait()
                while c.exit_code is None:
                    time.sleep(0.01)

    def _cleanup(self) -> None:
        for c in self.containers.values():
            if c.merged:
                subprocess.run(["umount", "-l", str(c.merged)], check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _child(pid: int) -> int | None:
    """The container's PID 1: bwrap's child (bwrap runs with --as-pid-1)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _probe(url: str, timeout: float) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return type(getattr(exc, "reason", exc)).__name__
