"""Reading every input file the same way: the config, `--usage`, `--prices`, a `--build`
directory (its MANIFEST, cost.json and templates) and the templates `lint DIR` checks.

Rules, for every file:

- It is a regular file. It is opened with O_NONBLOCK (a FIFO never blocks the open) and checked
  with fstat on the open descriptor: a FIFO, a device, a socket or a directory is refused. A file
  the user names (`--config`, `--usage`, `--prices`) may be a symbolic link to a regular file;
  a file inside a build directory may not (O_NOFOLLOW), so a build cannot point elsewhere.
- It is bounded in size, per kind (`LIMITS`), before anything is parsed.
- It is UTF-8; a decode error names the file and the byte offset.
- YAML is read with YAML 1.2 core schema semantics (see `Loader`); JSON refuses NaN, infinities
  and duplicate keys. A parse error names the file, and the key or line.
- Numbers read from usage and price files are finite, non-negative and below a bound the error
  message states (`number`).

Errors are `InputError` (one line: key, then what is wrong and what is allowed); YAML problems
that belong to a key inside the file are `YamlProblems`, one (dotted key, message) per problem.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import yaml

from enrollcfn.errors import EnrollcfnError

KiB = 1024
MiB = 1024 * KiB
# Per kind of file, the most bytes read. A config or price file is a few KB; a usage file a few
# lines; a template is read from S3 by CloudFormation, which takes at most 1 MB (1,000,000 bytes,
# compiler.URL_LIMIT); cost.json of the full product is about 10 KB; a MANIFEST lists ~15 files.
LIMITS = {
    "config": MiB,
    "usage": 64 * KiB,
    "prices": MiB,
    "manifest": 64 * KiB,
    "cost": MiB,
    "template": 1_000_000,
    "project": 64 * KiB,  # enrollcfn.yaml: a few lines per environment
}
# YAML events (scalars, mapping and sequence starts and ends) per kind: a full config is about
# 300, a price file of every MySQL instance class about 3,000.
MAX_EVENTS = {"config": 10_000, "usage": 1_000, "prices": 50_000, "project": 5_000}
MAX_DEPTH = 64  # nesting of mappings and lists in a config, usage or price file

MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(EnrollcfnError):
    """An input file that cannot be used; `key` is the option or file, `message` says why."""


class YamlProblems(Exception):
    """Problems inside a YAML document: (dotted key or "" for the file itself, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{k}: {m}" if k else m for k, m in problems))
        self.problems = problems


# --- bytes ------------------------------------------------------------------------------------


def read_bytes(path: str | Path, key: str, kind: str, *, follow: bool = True, dir_fd: int | None = None,
               shown: str | None = None) -> bytes:
    """The bytes of the regular file at `path` (relative to `dir_fd` when given), at most
    LIMITS[kind]; InputError keyed `key` otherwise. `follow=False` refuses a symbolic link."""
    shown = shown or show_path(path)
    limit = LIMITS[kind]
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise InputError(key, f"cannot read {shown}: {_open_failure(exc, path, follow, dir_fd)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(key, f"{shown} is {_file_kind(info.st_mode)}, not a regular file; give a file")
        if info.st_size > limit:
            raise InputError(key, f"{shown} is larger than {_size(limit)}; a {kind} file is at most {_size(limit)}")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(64 * KiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(key, f"{shown} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if total > limit:  # it grew while being read
        raise InputError(key, f"{shown} is larger than {_size(limit)}; a {kind} file is at most {_size(limit)}")
    return b"".join(chunks)


def read_text(path: str | Path, key: str, kind: str, **kwargs) -> str:
    """`read_bytes`, decoded as UTF-8 (an error names the byte offset)."""
    raw = read_bytes(path, key, kind, **kwargs)
    return decode(raw, key, kwargs.get("shown") or show_path(path))


def decode(raw: bytes, key: str, shown: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(key, f"{shown} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         "save it as UTF-8") from None


def open_directory(path: str | Path, key: str) -> int:
    """A descriptor of the directory at `path` (the caller closes it); InputError otherwise."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == 20:  # ENOTDIR
            raise InputError(key, f"{show_path(path)} is not a directory; give the directory `enrollcfn build --out` wrote") from None
        raise InputError(key, f"cannot read {show_path(path)}: {_open_failure(exc, path, True, None)}") from None


def show_path(path: str | Path, limit: int = 160) -> str:
    """A path as a message shows it: as given when it is printable and short; else escaped
    (a newline, a control character) and cut in the middle, so an error stays one short line."""
    text = str(path)
    if not text.isprintable():
        text = ascii(text)[1:-1]
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 1):]}"


def _open_failure(exc: OSError, path: str | Path, follow: bool, dir_fd: int | None) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        try:
            link = stat.S_ISLNK(os.lstat(path, dir_fd=dir_fd).st_mode)
        except OSError:
            link = False
        if link and not follow:
            return "it is a symbolic link; a build directory holds the files themselves, run `enrollcfn build` again"
        return "it is a loop of symbolic links"
    if exc.errno == errno.ENOENT:
        return "it does not exist"
    if exc.errno == errno.ENOTDIR:
        return "a part of its path is a file, not a directory"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return str(exc.strerror or exc)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    if limit % MiB == 0:
        return f"{limit // MiB} MiB"
    if limit % KiB == 0:
        return f"{limit // KiB} KiB"
    return f"{limit:,} bytes"


# --- YAML 1.2 ---------------------------------------------------------------------------------


class YamlInt(int):
    """An integer read from YAML, with the text it was written as (`010`, `0x1F`)."""

    text: str


class YamlFloat(float):
    """A float read from YAML, with the text it was written as (`1.10`, `.inf`)."""

    text: str


def written(value: object) -> str | None:
    """The text a YAML number was written as, or None for anything else."""
    return getattr(value, "text", None) if isinstance(value, (YamlInt, YamlFloat)) else None


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when installed
    """PyYAML's safe loader with the YAML 1.2 core schema's implicit types instead of YAML 1.1's:

    - null: `~`, `null`, `Null`, `NULL` and nothing; booleans: `true`, `True`, `TRUE`, `false`,
      `False`, `FALSE` only (`yes`, `no`, `on`, `off`, `y`, `n` are text)
    - integers: decimal (`010` is 10, no octal), `0o17` octal, `0x1F` hexadecimal; no `_`, no
      base 60 (`20:10` is text), no `0b`
    - floats: `1.5`, `.5`, `1e3`, `.inf`, `-.inf`, `.nan`; no `_`
    - no implicit timestamps (`2024-12-07` is text) and no `=` value key
    - numbers keep the text they were written as (YamlInt, YamlFloat), so a field that expects
      text gets exactly what was written (`image_tag: 1.10` is "1.10")
    - mapping keys are text as written (`on:` is "on", `010:` is "010"); a key written twice is
      an error; `<<` merge keys (YAML 1.1 only) are refused: write the keys out.
    """

    yaml_implicit_resolvers: dict = {}


Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
    (MERGE_TAG, r"^<<$", ["<"]),
):
    Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _construct_int(loader: Loader, node: yaml.ScalarNode) -> YamlInt:
    text = loader.construct_scalar(node)
    body = text.lstrip("+-")
    if body.startswith("0o"):
        value = int(body[2:], 8)
    elif body.startswith("0x"):
        value = int(body[2:], 16)
    else:
        value = int(body, 10)  # ValueError past Python's 4,300 digits: reported as a bad value
    out = YamlInt(-value if text.startswith("-") else value)
    out.text = text
    return out


def _construct_float(loader: Loader, node: yaml.ScalarNode) -> YamlFloat:
    text = loader.construct_scalar(node)
    lowered = text.lower()
    if lowered.endswith(".inf"):
        value = -math.inf if text.startswith("-") else math.inf
    elif lowered == ".nan":
        value = math.nan
    else:
        value = float(text)
    out = YamlFloat(value)
    out.text = text
    return out


def _construct_bool(loader: Loader, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _construct_mapping(self: Loader, node: yaml.Node, deep: bool = False) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, f"expected a mapping, found {node.id}", node.start_mark)
    mapping: dict = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, "a key must be plain text, not a list or mapping", key_node.start_mark)
        if key_node.tag == MERGE_TAG:
            raise yaml.constructor.ConstructorError(None, None, MERGE_MESSAGE, key_node.start_mark)
        key = key_node.value
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is written twice", key_node.start_mark)
        mapping[key] = self.construct_object(value_node, deep=deep)
    return mapping


MERGE_MESSAGE = "is a YAML 1.1 merge key (<<), which is not read: write the keys out (an alias *name for a whole value works)"

Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
Loader.construct_mapping = _construct_mapping  # type: ignore[method-assign]


def parse_yaml(text: str, kind: str) -> object:
    """The one YAML document in `text`, by the rules of `Loader`; YamlProblems otherwise, each
    keyed by its dotted path inside the document ("" for the document as a whole)."""
    limit = MAX_EVENTS[kind]
    loader = Loader(text)
    try:
        depth = 0
        for count, event in enumerate(yaml.parse(text, Loader=Loader)):
            if count > limit:
                raise YamlProblems([("", f"holds more than {limit:,} YAML values; a {kind} file needs far fewer")])
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlProblems([("", f"is nested more than {MAX_DEPTH} levels deep")])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _key_problems(node)
        if problems:
            raise YamlProblems(problems)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        raise YamlProblems([("", f"is not valid YAML{where}: {' '.join(str(exc.problem or exc.context).split())[:160]}")]) from None
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        raise YamlProblems([("", f"is not valid YAML: {' '.join(str(exc).split())[:160]}")]) from None
    except RecursionError:
        raise YamlProblems([("", "is nested too deeply")]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. `!!timestamp 2024-02-30`, a 5,000-digit number
        raise YamlProblems([("", f"holds a value that cannot be read: {' '.join(str(exc).split())[:120]}")]) from None
    finally:
        loader.dispose()


def _key_problems(root: yaml.Node) -> list[tuple[str, str]]:
    """Every key written twice in one mapping and every merge key, by dotted path (nodes shared
    through aliases are walked once, so an alias loop or an alias bomb stays cheap)."""
    found: list[tuple[str, str]] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack += [(item, (*loc, i)) for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    found.append((dotted(loc), f"has a list or mapping as a key (line {key.start_mark.line + 1}); keys are text"))
                    continue
                line = key.start_mark.line + 1
                if key.tag == MERGE_TAG:
                    found.append((dotted((*loc, "<<")), f"{MERGE_MESSAGE} (line {line})"))
                    continue
                if key.value in lines:
                    found.append((dotted((*loc, key.value)), f"is written twice (lines {lines[key.value]} and {line}); "
                                  "YAML would keep only the last, so write it once"))
                lines.setdefault(key.value, line)
                stack.append((value, (*loc, key.value)))
    return found


def dotted(loc: tuple) -> str:
    """('network', 'public_subnets', 0) -> 'network.public_subnets[0]'."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            text = key_part(part)
            key += f".{text}" if key else text
    return key


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.<>/-]{1,80}")


def key_part(part: object) -> str:
    """One part of a dotted key as an error line shows it: as written when it is plain (letters,
    digits, `_-./<>`, at most 80), else quoted with escapes and cut to 80 characters, so a key
    holding a newline, a colon or a look-alike letter still makes one readable line."""
    text = str(part)
    if _PLAIN_KEY.fullmatch(text):
        return text
    # ':' escaped too, so `error: <key>: <message>` always ends the key at its first ": ".
    return ascii(text if len(text) <= 80 else text[:77] + "...").replace(":", "\\x3a")


def load_yaml(path: str | Path, key: str, kind: str) -> object:
    """The YAML document in the file at `path` (read by the rules above); InputError keyed `key`
    naming the file, or `key.<dotted key>` for a problem at a key inside it."""
    text = read_text(path, key, kind)
    try:
        return parse_yaml(text, kind)
    except YamlProblems as exc:
        k, message = exc.problems[0]
        shown = show_path(path)
        raise InputError(f"{key}.{k}" if k else key, f"{shown} {message}" if not k else f"{message} (in {shown})") from None


# --- JSON -------------------------------------------------------------------------------------


def parse_json(text: str, key: str, shown: str) -> object:
    """The JSON document in `text`: no NaN or infinity (a literal or one too large for a float),
    no key written twice; InputError keyed `key` naming `shown` and the line otherwise."""

    def pairs(items: list[tuple[str, object]]) -> dict:
        out: dict = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"the key {k!r} is written twice")
            out[k] = v
        return out

    def constant(name: str) -> float:
        raise ValueError(f"{name} is not a number JSON allows")

    def finite(text_: str) -> float:
        value = float(text_)
        if not math.isfinite(value):
            raise ValueError(f"{text_[:40]} is too large for a number")
        return value

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_float=finite)
    except json.JSONDecodeError as exc:
        raise InputError(key, f"{shown} is not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(key, f"{shown} is nested too deeply") from None
    except ValueError as exc:
        raise InputError(key, f"{shown} is not valid JSON: {' '.join(str(exc).split())[:120]}") from None


# --- numbers ----------------------------------------------------------------------------------


def number(value: object, key: str, *, below: float, what: str = "a number") -> float:
    """`value` as a float when it is a finite number in [0, below); InputError stating the bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(key, f"expected {what} of at least 0 and below {below:,.0f}, got {_show(value)}")
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float) or not 0 <= as_float < below:
        raise InputError(key, f"expected {what} of at least 0 and below {below:,.0f}, got {_show(value)}")
    return as_float


def _show(value: object) -> str:
    text = written(value) or repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def walk_numbers(data: object) -> Iterator[tuple[tuple, object]]:
    """Every number in nested JSON-like data, with its path."""
    stack: list[tuple[tuple, object]] = [((), data)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, dict):
            stack += [((*loc, k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [((*loc, i), v) for i, v in enumerate(item)]
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            yield loc, item
