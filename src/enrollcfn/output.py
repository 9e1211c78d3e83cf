"""The output directory: write a Build into it safely, and read a previous build back.

A build directory holds the templates, `cost.json` and a manifest (`MANIFEST`) listing every file
the build wrote with its SHA-256. Writing is allowed only into a directory that does not exist
yet, an empty one, or one whose manifest says a previous build made it; nothing is ever deleted
that the manifest does not list, so a foreign file survives and a wrong `--out` is refused with
one line instead of emptying someone's folder. System directories and files are refused.

Writes are two-phase: every changed file is first written beside its target as a temporary
file; only when all of them are on disk are they renamed into place (the manifest last), so a
failure halfway leaves the previous build intact. Unchanged files are not touched, so their
modification times (and `git status`) stay quiet.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from enrollcfn import cost
from enrollcfn.compiler import Build, stack_from_body
from enrollcfn.errors import EnrollcfnError

MANIFEST = "MANIFEST"
GENERATOR = "enrollcfn"
COST_FILE = "cost.json"
# Never a build directory, nor anything below them (the Filesystem Hierarchy Standard's system
# trees). /tmp and /var/tmp stay usable; /var itself and the rest of it do not.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")
SYSTEM_DIRS = ("/", "/home", "/root", "/var", "/opt", "/srv", "/mnt", "/media", "/tmp", "/var/tmp")


class OutputError(EnrollcfnError):
    """The output directory cannot be used, or a previous build cannot be read back."""


@dataclass(frozen=True)
class Written:
    """What a write did: every file of the build, and which of them changed (or were removed)."""

    directory: Path
    files: tuple[Path, ...]
    changed: frozenset[Path]
    removed: tuple[Path, ...]


def files_of(build: Build) -> dict[str, bytes]:
    """The files a build consists of: each template, then cost.json."""
    files = {s.filename: s.body for s in build.stacks.values()}
    files[COST_FILE] = (json.dumps(build.cost.to_dict(), indent=2) + "\n").encode("utf-8")
    return files


def write_build(build: Build, out_dir: Path) -> Written:
    """Write `build` into `out_dir` (see the module docstring for what is allowed)."""
    out = check_target(out_dir)
    files = files_of(build)
    previous = _manifest(out) if (out / MANIFEST).exists() else {}
    manifest = {"generator": GENERATOR, "files": {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}}
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    changed = {name: body for name, body in files.items() if not _same(out / name, body)}
    out.mkdir(parents=True, exist_ok=True)
    _replace_all(out, changed)
    removed = []
    for name in sorted(set(previous) - set(files)):  # stale files of a previous build: ours to remove
        path = out / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    return Written(out, tuple(out / n for n in files if n != MANIFEST), frozenset(out / n for n in changed), tuple(removed))


def check_target(out_dir: Path) -> Path:
    """The resolved output directory; OutputError when it is not safe to write there."""
    out = Path(out_dir).expanduser().resolve()
    text = str(out)
    if text in SYSTEM_DIRS or any(text == t or text.startswith(t + "/") for t in SYSTEM_TREES):
        raise OutputError(str(out_dir), "is a system directory; choose a project directory such as build/ or a new one")
    if out.exists() and not out.is_dir():
        raise OutputError(str(out_dir), "is a file, not a directory; choose a directory (it is created if absent)")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(str(out_dir), "is not writable")
        if (out / MANIFEST).exists():
            _manifest(out)  # a manifest we cannot read is not ours
        elif any(out.iterdir()):
            raise OutputError(str(out_dir), f"holds files of something else (no {MANIFEST} of a previous build); "
                              "choose an empty or new directory, nothing was written")
    elif out.parent.exists() and not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError(str(out_dir), f"cannot be created: {out.parent} is not writable")
    return out


def read_build(directory: Path, region: str) -> Build:
    """A previous build, read once: every file listed in its manifest, checked against its hash.

    The build was linted when it was written (`enrollcfn build` writes only a clean build), so
    its findings are empty; its cost is the cost.json it wrote."""
    path = Path(directory)
    if not (path / MANIFEST).is_file():
        raise OutputError(str(directory), f"is not a build directory (no {MANIFEST}); run `enrollcfn build --out {directory}`")
    listed = _manifest(path)
    stacks, estimate = {}, None
    for name, digest in listed.items():
        try:
            body = (path / name).read_bytes()
        except OSError as exc:
            raise OutputError(f"{directory}/{name}", f"cannot be read: {exc.strerror}") from None
        if hashlib.sha256(body).hexdigest() != digest:
            raise OutputError(f"{directory}/{name}", "was changed after the build; run `enrollcfn build` again")
        if name == COST_FILE:
            estimate = cost.Estimate.from_dict(json.loads(body))
        elif name.endswith(".yaml"):
            stacks[name[: -len(".yaml")]] = stack_from_body(name[: -len(".yaml")], body)
    if estimate is None or estimate.region != region:
        raise OutputError(str(directory), f"was not built for region {region}; build it with this config")
    return Build(region, stacks, estimate, findings=())


def _manifest(out: Path) -> dict[str, str]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        if data.get("generator") != GENERATOR or not isinstance(data.get("files"), dict):
            raise ValueError
        return {str(k): str(v) for k, v in data["files"].items() if "/" not in str(k) and not str(k).startswith(".")}
    except (OSError, ValueError, AttributeError):
        raise OutputError(str(out), f"has a {MANIFEST} that enrollcfn did not write; choose another directory") from None


def _same(path: Path, body: bytes) -> bool:
    try:
        return path.read_bytes() == body
    except OSError:
        return False


def _replace_all(out: Path, files: dict[str, bytes]) -> None:
    """Write every file to a temporary sibling first, then rename them into place; on a failure
    before the renames, remove the temporaries and leave the directory as it was."""
    temps: list[tuple[Path, Path]] = []
    try:
        for name, body in files.items():
            temp = out / f".{name}.{os.getpid()}.tmp"
            temps.append((temp, out / name))
            temp.write_bytes(body)
    except OSError as exc:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        raise OutputError(str(out), f"cannot write the build ({exc.strerror}); the previous build is unchanged") from None
    for temp, target in sorted(temps, key=lambda pair: pair[1].name == MANIFEST):  # the manifest last
        os.replace(temp, target)
