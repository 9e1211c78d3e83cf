"""Every output the tool writes, by one set of rules, and a previous build read back.

Single files (`ci-workflow --out`, `prices --out`) go through `write_file`; a build directory
through `write_build`. The rules, for both:

- A file is replaced only when the tool wrote it: a single file when its first line is the
  header the tool writes there (`# Written by `enrollcfn ...``, see `MARKS`); a file of a build
  directory when the directory's MANIFEST lists it. Anything else is refused, nothing written.
- An input given on the same command line (`--config`, `--prices`, ...) is never replaced, by
  whatever path it is named.
- Nothing is written through a symbolic link: a link as the target (or as the build directory)
  is refused. A FIFO, a device or a directory where a file is to go is refused.
- System directories (`SYSTEM_TREES`, `SYSTEM_DIRS`) are refused, as a target and as the folder
  of a target file (a single file may go in /tmp and /var/tmp).
- Writes are atomic: a temporary file in the same directory (created exclusively, never
  through a link) renamed into place with os.replace.
- Every OSError (a name too long, a loop of links, a file where a folder is expected, no
  permission, no space) is one line naming the path; never a traceback.

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

import errno
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from enrollcfn import cost, inputs
from enrollcfn.compiler import Build, stack_from_body
from enrollcfn.errors import EnrollcfnError

MANIFEST = "MANIFEST"
GENERATOR = "enrollcfn"
COST_FILE = "cost.json"
# Never a build directory, nor anything below them (the Filesystem Hierarchy Standard's system
# trees). /tmp and /var/tmp stay usable; /var itself and the rest of it do not.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")
SYSTEM_DIRS = ("/", "/home", "/root", "/var", "/opt", "/srv", "/mnt", "/media", "/tmp", "/var/tmp")
SHARED_TEMP = ("/tmp", "/var/tmp")  # a single file may be written here, a build directory may not
# How each single-file output starts: the tool replaces a file only when its first bytes are one
# of these (the second for prices: what `enrollcfn prices` wrote before its header said so).
MARKS = {
    "ci-workflow": (b"# Written by `enrollcfn ci-workflow",),
    "init": (b"# Written by `enrollcfn init`",),
    "prices": (b"# Written by `enrollcfn prices", b"# Prices for `enrollcfn cost` in "),
}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")  # a file name a build writes: no '/', no '..'
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_LISTED = 100


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


def write_build(build: Build, out_dir: Path, given: Iterable[Path | None] = ()) -> Written:
    """Write `build` into `out_dir` (see the module docstring for what is allowed); `given` are
    the input files of the command, never replaced."""
    out = check_target(out_dir)
    files = files_of(build)
    previous = _manifest(out) if _exists(out / MANIFEST) else {}
    manifest = {"generator": GENERATOR, "files": {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}}
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    inputs_ = _identities(given)
    for name, body in files.items():
        _replaceable(out / name, str(out / name), inputs_, owned=name in previous or name == MANIFEST, body=body)
    changed = {name: body for name, body in files.items() if not _same(out, name, body)}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(out_dir), _failure(exc, "cannot be created")) from None
    _replace_all(out, changed)
    removed = []
    for name in sorted(set(previous) - set(files)):  # stale files of a previous build: ours to remove
        path = out / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
                removed.append(path)
        except OSError:
            pass  # gone already, or not ours to remove
    return Written(out, tuple(out / n for n in files if n != MANIFEST), frozenset(out / n for n in changed), tuple(removed))


def write_file(path: Path, text: str, key: str, writer: str, given: Iterable[Path | None] = ()) -> Path:
    """Write `text` to the file `path` atomically, by the rules in the module docstring;
    `writer` names the command (its header in MARKS); `given` are the command's input files.
    OutputError keyed `key` otherwise, with nothing written."""
    body = text.encode("utf-8")
    if not body.startswith(MARKS[writer][0]):
        raise ValueError(f"{writer} output must start with its header")  # a bug, not input
    target, parent = check_file(path, key, writer, given)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(key, f"{path} {_failure(exc, 'cannot be written: its folder cannot be created')}") from None
    _replace_all(parent, {target.name: body}, key=key, what=str(path))
    return target


def check_file(path: Path, key: str, writer: str, given: Iterable[Path | None] = ()) -> tuple[Path, Path]:
    """The target file and its folder when `write_file` may write there; OutputError otherwise.
    Commands call it before any slow or remote work, so a bad --out fails first."""
    target, parent = _file_target(path, key)
    _replaceable(target, str(path), _identities(given), owned=None, marks=MARKS[writer], key=key)
    return target, parent


def check_target(out_dir: Path) -> Path:
    """The resolved output directory; OutputError when it is not safe to write there."""
    try:
        given = Path(out_dir).expanduser()
        if given.is_symlink():
            raise OutputError(str(out_dir), "is a symbolic link; give the directory itself (nothing is written through links)")
        out = given.resolve()
        if _system(str(out)):
            raise OutputError(str(out_dir), "is a system directory; choose a project directory such as build/ or a new one")
        if out.exists() and not out.is_dir():
            raise OutputError(str(out_dir), "is a file, not a directory; choose a directory (it is created if absent)")
        if out.is_dir():
            if not os.access(out, os.W_OK | os.X_OK):
                raise OutputError(str(out_dir), "is not writable")
            if _exists(out / MANIFEST):
                _manifest(out)  # a manifest we cannot read is not ours
            elif any(out.iterdir()):
                raise OutputError(str(out_dir), f"holds files of something else (no {MANIFEST} of a previous build); "
                                  "choose an empty or new directory, nothing was written")
        else:
            parent = _existing_parent(out)
            if not parent.is_dir():
                raise OutputError(str(out_dir), f"cannot be created: {parent} is a file, not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(str(out_dir), f"cannot be created: {parent} is not writable")
    except OSError as exc:
        raise OutputError(str(out_dir), _failure(exc, "cannot be used")) from None
    except RuntimeError:  # Path.resolve on a loop of links (Python < 3.13)
        raise OutputError(str(out_dir), "cannot be used: it is a loop of symbolic links") from None
    return out


def read_build(directory: Path, region: str, delivery: bool = False) -> Build:
    """A previous build, read once and checked whole before anything uses it: the MANIFEST
    names plain files inside the directory (no '/', no '..'), lists every file a build of the
    product writes (the delivery stack too when `delivery`) and nothing else; every file is a
    regular file (not a link), within its size limit, matches its SHA-256 and parses.

    The build was linted when it was written (`enrollcfn build` writes only a clean build), so
    its findings are empty; its cost is the cost.json it wrote."""
    from enrollcfn.templates import CATALOG, DELIVERY, STANDALONE

    from enrollcfn.compiler import PRODUCT_NAMES

    key = str(directory)
    fd = inputs.open_directory(directory, key)
    try:
        try:
            raw = inputs.read_bytes(MANIFEST, key, "manifest", follow=False, dir_fd=fd, shown=f"{directory}/{MANIFEST}")
        except inputs.InputError as exc:
            if "does not exist" in exc.message:
                raise OutputError(key, f"is not a build directory (no {MANIFEST}); run `enrollcfn build --out {directory}`") from None
            raise
        listed = _listed(raw, directory)
        stacks_needed = [*PRODUCT_NAMES, *(s.name for s in STANDALONE), CATALOG] + ([DELIVERY] if delivery else [])
        needed = [COST_FILE, *(f"{n}.yaml" for n in stacks_needed)]
        allowed = {*needed, f"{DELIVERY}.yaml"}
        missing = [n for n in needed if n not in listed]
        if missing:
            raise OutputError(f"{directory}/{MANIFEST}", f"does not list {', '.join(missing)}; every file of the product must be "
                              f"in the build, run `enrollcfn build --out {directory}` again")  # fmt: skip
        extra = sorted(set(listed) - allowed)
        if extra:
            raise OutputError(f"{directory}/{MANIFEST}", f"lists {extra[0]!r}, which `enrollcfn build` does not write "
                              f"(allowed: {', '.join(sorted(allowed))})")  # fmt: skip
        stacks, estimate = {}, None
        for name, digest in listed.items():
            shown = f"{directory}/{name}"
            body = inputs.read_bytes(name, shown, "cost" if name == COST_FILE else "template", follow=False, dir_fd=fd, shown=shown)
            if hashlib.sha256(body).hexdigest() != digest:
                raise OutputError(shown, "was changed after the build; run `enrollcfn build` again")
            if name == COST_FILE:
                estimate = _estimate(body, shown)
            else:
                stacks[name[: -len(".yaml")]] = _stack(name[: -len(".yaml")], body, shown)
    finally:
        os.close(fd)
    if estimate is None or estimate.region != region:
        raise OutputError(key, f"was not built for region {region}; build it with this config")
    return Build(region, stacks, estimate, findings=())


def _listed(raw: bytes, directory: Path) -> dict[str, str]:
    """The MANIFEST's files, name -> SHA-256, each name a plain file name."""
    where = f"{directory}/{MANIFEST}"
    data = inputs.parse_json(inputs.decode(raw, where, where), where, where)
    if not isinstance(data, dict) or data.get("generator") != GENERATOR or not isinstance(data.get("files"), dict):
        raise OutputError(where, f"was not written by enrollcfn (expected {{\"generator\": \"{GENERATOR}\", \"files\": {{...}}}})")
    files = data["files"]
    if len(files) > MAX_LISTED:
        raise OutputError(where, f"lists {len(files)} files; a build has fewer than {MAX_LISTED}")
    for name, digest in files.items():
        if not _NAME.fullmatch(name) or name in (MANIFEST,):
            raise OutputError(where, f"lists {name[:80]!r}, which is not a plain file name inside the directory "
                              "(no '/', no '..', no absolute path); the build was tampered with")  # fmt: skip
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise OutputError(where, f"gives {name!r} a digest that is not a SHA-256 (64 hex digits)")
    return dict(files)


def _estimate(body: bytes, where: str) -> cost.Estimate:
    data = inputs.parse_json(inputs.decode(body, where, where), where, where)
    try:
        estimate = cost.Estimate.from_dict(data)
        for line in estimate.lines:
            for value in (line.quantity, line.unit_price, line.monthly):
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise TypeError(f"{line.item!r} has a number that is not one")
            if not all(isinstance(v, str) for v in (line.item, line.unit, line.group)):
                raise TypeError("a line's item, unit and group are text")
        if not isinstance(estimate.region, str):
            raise TypeError("region is text")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:100]
        raise OutputError(where, f"is not an estimate as `enrollcfn build` writes it ({detail}); run `enrollcfn build` again") from None
    return estimate


def _stack(name: str, body: bytes, where: str):
    text = inputs.decode(body, where, where)
    try:
        stack = stack_from_body(name, text.encode("utf-8"))
    except RecursionError:
        raise OutputError(where, "is nested too deeply to be a template") from None
    except Exception as exc:  # noqa: BLE001 - cfn-flip's YAML errors and constructors raise many kinds
        raise OutputError(where, f"is not a CloudFormation template: {' '.join(str(exc).split())[:120]}") from None
    if not isinstance(stack.doc, dict) or not isinstance(stack.doc.get("Resources"), dict):
        raise OutputError(where, "is not a CloudFormation template (no Resources mapping)")
    return stack


def _manifest(out: Path) -> dict[str, str]:
    """The files a previous build's MANIFEST lists (read by the rules of read_build)."""
    try:
        return _listed(inputs.read_bytes(out / MANIFEST, str(out), "manifest", follow=False), out)
    except (inputs.InputError, OutputError):
        raise OutputError(str(out), f"has a {MANIFEST} that enrollcfn did not write; choose another directory") from None


def _same(out: Path, name: str, body: bytes) -> bool:
    try:
        return inputs.read_bytes(out / name, name, "template" if name != COST_FILE else "cost", follow=False) == body
    except inputs.InputError:
        return False


# --- the rules every write follows --------------------------------------------------------------


def _system(text: str) -> bool:
    return text in SYSTEM_DIRS or any(text == t or text.startswith(t + "/") for t in SYSTEM_TREES)


def _exists(path: Path) -> bool:
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False


def _existing_parent(path: Path) -> Path:
    """The nearest folder of `path` that exists (or a file standing where one is expected)."""
    for parent in path.parents:
        if _exists(parent):
            return parent
    return Path("/")


def _file_target(path: Path, key: str) -> tuple[Path, Path]:
    """The absolute target (its last component not resolved) and its resolved folder."""
    try:
        given = Path(path).expanduser()
        if _system(os.path.abspath(given)):
            raise OutputError(key, f"{path} is a system directory; write the file in a project directory")
        if given.name in ("", ".", ".."):
            raise OutputError(key, f"{path} names a directory; name the file to write")
        parent = given.parent.resolve()
        target = parent / given.name
        if _system(str(target)) or (_system(str(parent)) and str(parent) not in SHARED_TEMP):
            raise OutputError(key, f"{path} is in a system directory; write it in a project directory")
        existing = _existing_parent(target)
        if not stat.S_ISDIR(os.stat(existing).st_mode):
            raise OutputError(key, f"{path} cannot be written: {existing} is a file, not a directory")
    except OSError as exc:
        raise OutputError(key, f"{path} {_failure(exc, 'cannot be written')}") from None
    except RuntimeError:
        raise OutputError(key, f"{path} cannot be written: its folder is a loop of symbolic links") from None
    return target, parent


def _identities(given: Iterable[Path | None]) -> dict[tuple[int, int], str]:
    out = {}
    for path in given:
        if path is None:
            continue
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            continue
        out[(info.st_dev, info.st_ino)] = str(path)
    return out


def _replaceable(target: Path, shown: str, given: dict[tuple[int, int], str], owned: bool | None,
                 marks: tuple[bytes, ...] = (), body: bytes | None = None, key: str | None = None) -> None:
    """Refuse (OutputError) unless `target` is absent, or a regular file the tool wrote that is
    not one of the command's inputs. `owned` says whether a manifest lists it (None: look for
    one of `marks` at its start)."""
    key = key or shown
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(key, f"{shown} {_failure(exc, 'cannot be written')}") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(key, f"{shown} is a symbolic link; nothing is written through links, remove it or choose another path")
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(key, f"{shown} is a directory; name the file to write")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(key, f"{shown} is not a regular file (a FIFO, a device or a socket); choose another path")
    if (info.st_dev, info.st_ino) in given:
        raise OutputError(key, f"{shown} is {given[(info.st_dev, info.st_ino)]}, an input of this command; "
                          "write the output to another file")  # fmt: skip
    if owned is None:
        try:
            head = inputs.read_bytes(target, key, "template", follow=False, shown=shown)[:200]
        except inputs.InputError:
            head = b""
        owned = any(head.startswith(mark) for mark in marks)
        if not owned:
            raise OutputError(key, f"{shown} exists and enrollcfn did not write it (it does not start with "
                              f"{marks[0].decode()}...`); remove it or choose another file, nothing was written")  # fmt: skip
    elif not owned and not _same(target.parent, target.name, body or b""):
        raise OutputError(key, f"{shown} exists and the previous build did not write it ({MANIFEST} does not list it); "
                          "remove it or choose another directory, nothing was written")  # fmt: skip


def _failure(exc: OSError, what: str) -> str:
    reasons = {
        errno.ENAMETOOLONG: "the name is too long",
        errno.ELOOP: "its path is a loop of symbolic links",
        errno.EISDIR: "it is a directory",
        errno.ENOTDIR: "a part of its path is a file, not a directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on the device",
        errno.EROFS: "the file system is read-only",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    return f"{what}: {reasons.get(exc.errno, exc.strerror or str(exc))}"


def _write_temp(directory: Path, name: str, body: bytes) -> Path:
    """`body` in a new temporary file beside `name` (created exclusively: never through a link)."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name[:100]}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    return Path(temp)


def _replace_all(out: Path, files: dict[str, bytes], key: str | None = None, what: str = "the build") -> None:
    """Write every file to a temporary sibling first, then rename them into place; on a failure
    before the renames, remove the temporaries and leave the directory as it was."""
    key = key or str(out)
    temps: list[tuple[Path, Path]] = []
    try:
        for name, body in files.items():
            temps.append((_write_temp(out, name, body), out / name))
    except OSError as exc:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        unchanged = "the previous build is unchanged" if what == "the build" else "nothing was written"
        raise OutputError(key, f"{_failure(exc, f'cannot write {what}')}; {unchanged}") from None
    try:
        for temp, target in sorted(temps, key=lambda pair: pair[1].name == MANIFEST):  # the manifest last
            os.replace(temp, target)
    except OSError as exc:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        raise OutputError(key, _failure(exc, f"cannot write {what}")) from None
