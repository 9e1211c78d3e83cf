"""Reading a YAML config file safely and merging it onto the defaults.

Every input ends as a `Config` or as `ConfigErrors`, quickly: the file is capped at 1 MB before
it is parsed, decoded as UTF-8, and parsed by a YAML loader that refuses duplicate keys (which
YAML would otherwise resolve silently by keeping the last). Sections merge onto the defaults key
by key, lists replace, and in `service.environment` a null value removes a default variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from enrollcfn.config.model import Config
from enrollcfn.config.problems import dotted, show, translate
from enrollcfn.errors import ConfigError, ConfigErrors

MAX_BYTES = 1024 * 1024  # a config is a few KB; the cap keeps parsing of any file under a second
# A full config is about 300 YAML events (scalars, mapping and sequence starts and ends); a file
# of a million tiny items fits in 1 MB, and building nodes for it would take seconds.
MAX_EVENTS = 10_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when installed


def load(path: str | Path | None) -> Config:
    """The config in the YAML file at `path` merged onto the defaults (`Config()` for None).
    Raises `ConfigErrors` listing every problem, each keyed by its dotted path."""
    if path is None:
        return Config()
    return parse(read(Path(path)))


def parse(data: Mapping | None) -> Config:
    """`data` (the YAML file's content) merged onto the defaults and validated."""
    if data is None:
        return Config()
    if not isinstance(data, Mapping):
        _fail("config", f"expected a mapping of keys at the top level, got {show(data)}")
    merged = {str(k): v for k, v in data.items()}
    service = merged.get("service")
    if isinstance(service, Mapping) and isinstance(service.get("environment"), Mapping):
        merged["service"] = {**service, "environment": _environment(service["environment"])}
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise translate(exc, Config) from None


def _environment(overrides: Mapping) -> dict:
    """The default variables with `overrides` applied; a null value removes a variable."""
    env: dict = dict(Config().service.environment)
    for name, value in overrides.items():
        if value is None:
            env.pop(str(name), None)
        else:
            env[str(name)] = value
    return env


def read(path: Path) -> object:
    """The YAML document in `path`, or `ConfigErrors` keyed `config` (or by the duplicated key)."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        _fail("config", f"cannot read {path}: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:
        _fail("config", f"{path} is larger than {MAX_BYTES // 1024} KiB; a config file is at most 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail("config", f"{path} is not UTF-8 text (invalid byte at offset {exc.start})")
    return _parse_yaml(text, path)


def _parse_yaml(text: str, path: Path) -> object:
    loader = _Loader(text)
    try:
        for count, _ in enumerate(yaml.parse(text, Loader=_Loader)):
            if count > MAX_EVENTS:
                _fail("config", f"{path} holds more than {MAX_EVENTS} YAML values; a config needs a few hundred")
        node = loader.get_single_node()
        if node is None:
            return None
        duplicates = _duplicates(node)
        if duplicates:
            raise ConfigErrors(duplicates)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        _fail("config", f"{path} is not valid YAML{where}: {' '.join(str(exc.problem or exc.context).split())}")
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        _fail("config", f"{path} is not valid YAML: {' '.join(str(exc).split())[:160]}")
    except RecursionError:
        _fail("config", f"{path} is nested too deeply to be a config")
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp such as 2024-02-30
        _fail("config", f"{path} holds a value YAML cannot read: {str(exc)[:120]}")
    finally:
        loader.dispose()


def _duplicates(root: yaml.Node) -> list[ConfigError]:
    """Every key written twice in one mapping, keyed by its dotted path (nodes shared through
    aliases are walked once, so an alias loop or an alias bomb stays cheap)."""
    found: list[ConfigError] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack += [(item, (*loc, i)) for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    continue
                line = key.start_mark.line + 1
                if key.value in lines:
                    where = dotted((*loc, key.value))
                    found.append(ConfigError(where, f"is written twice (lines {lines[key.value]} and {line}); YAML would keep only the last, so write it once"))
                lines.setdefault(key.value, line)
                stack.append((value, (*loc, key.value)))
    return found


def _fail(key: str, message: str) -> None:
    raise ConfigErrors([ConfigError(key, message)])
