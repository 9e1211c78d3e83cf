"""Reading a YAML config file safely and merging it onto the defaults.

Every input ends as a `Config` or as `ConfigErrors`, quickly: the file is read by
`enrollcfn.inputs` (a regular file, capped at 1 MiB before it is parsed, UTF-8) and parsed with
YAML 1.2 core types by a loader that refuses duplicate keys (which YAML would otherwise resolve
silently by keeping the last) and merge keys. Sections merge onto the defaults key
by key, lists replace, and in `service.environment` a null value removes a default variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from enrollcfn import inputs

from enrollcfn.config.model import Config
from enrollcfn.config.problems import show, translate
from enrollcfn.errors import ConfigError, ConfigErrors

MAX_BYTES = inputs.LIMITS["config"]  # a config is a few KB; the cap keeps parsing of any file under a second
MAX_EVENTS = inputs.MAX_EVENTS["config"]  # a full config is about 300 YAML events


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
    """The YAML document in `path` (read by enrollcfn.inputs: a regular file of at most 1 MiB,
    UTF-8, YAML 1.2 core types), or `ConfigErrors` keyed `config` (or by the key at fault)."""
    try:
        text = inputs.read_text(path, "config", "config")
    except inputs.InputError as exc:
        _fail("config", exc.message)
    try:
        return inputs.parse_yaml(text, "config")
    except inputs.YamlProblems as exc:
        raise ConfigErrors([ConfigError(k, m) if k else ConfigError("config", f"{inputs.show_path(path)} {m}") for k, m in exc.problems]) from None


def _fail(key: str, message: str) -> None:
    raise ConfigErrors([ConfigError(key, message)])
