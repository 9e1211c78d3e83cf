"""Turn pydantic's validation errors into `ConfigErrors`: one `ConfigError` per problem, keyed by
its dotted path (`network.public_subnets[0]`), saying what is wrong and what is allowed."""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from enrollcfn.errors import ConfigError, ConfigErrors
from enrollcfn.inputs import key_part, written

# A file of junk can hold thousands of problems; past this many the rest are counted, not listed.
MAX_PROBLEMS = 100

_EXPECTED = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected a string",
    "tuple_type": "expected a list of strings",
    "list_type": "expected a list of strings",
    "iterable_type": "expected a list of strings",
    "dict_type": "expected a mapping of keys",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
}
_BOUNDS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def translate(exc: ValidationError, root: type[BaseModel]) -> ConfigErrors:
    """Every problem in `exc` (raised validating `root`), in schema order, at most MAX_PROBLEMS listed."""
    out: list[ConfigError] = []
    for err in exc.errors(include_url=False):
        if err["type"] in ("too_short", "too_long") and not _wrong_length(err):
            continue  # pydantic counted only the items that passed; each failed item has its own error
        if err["type"] == "rules":
            out += [ConfigError(key, message) for key, message in err["ctx"]["problems"]]
        else:
            out.append(ConfigError(dotted(err["loc"]), _message(root, err)))
    unique = list({(p.key, p.message): p for p in out}.values())
    if len(unique) > MAX_PROBLEMS:
        rest = len(unique) - MAX_PROBLEMS
        unique = unique[:MAX_PROBLEMS] + [ConfigError("config", f"{rest} more problems not shown; fix the ones above first")]
    return ConfigErrors(unique)


def dotted(loc: tuple[Any, ...]) -> str:
    """('network', 'public_subnets', 0) -> 'network.public_subnets[0]'."""
    key = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            text = key_part(part)
            key += f".{text}" if key else text
    return key or "config"


def show(value: object) -> str:
    """A short description of an input value, never its full text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    if isinstance(value, (int, float, str)):
        text = written(value) or repr(value)  # a YAML number as it was written
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__} ({str(value)[:40]})"


def _message(root: type[BaseModel], err: dict[str, Any]) -> str:
    kind, loc, ctx = err["type"], err["loc"], err.get("ctx", {})
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {show(err['input'])}"
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "none"
        return f"unknown key (allowed here: {allowed})"
    if kind == "finite_number":
        return f"must be a finite number, got {show(err['input'])}"
    if kind in _BOUNDS:
        return _range(_field_at(root, loc), err)
    if kind in ("too_short", "too_long"):
        return _length(_field_at(root, loc), ctx, err.get("input"))
    if kind == "literal_error":
        return f"must be one of {_choices(_field_at(root, loc), ctx)}; got {show(err['input'])}"
    if kind == "bad_value":
        return str(ctx["message"])
    if kind == "recursion_loop":
        return "refers to itself (a YAML alias loop)"
    return str(err["msg"])


def _range(info: FieldInfo | None, err: dict[str, Any]) -> str:
    lo = hi = None
    for item in info.metadata if info else ():
        if isinstance(item, annotated_types.Ge):
            lo = item.ge
        elif isinstance(item, annotated_types.Le):
            hi = item.le
    got = show(err["input"])
    if lo is not None and hi is not None:
        return f"must be {lo}-{hi}, got {got}"
    return f"{str(err['msg']).replace('Input should be', 'must be')}, got {got}"


def _wrong_length(err: dict[str, Any]) -> bool:
    """Whether the list as written has the wrong length (pydantic checks the length of the items
    that passed: one bad item of a list of one would read "needs at least 1 item, got 0")."""
    given, ctx = err.get("input"), err.get("ctx", {})
    if not isinstance(given, (list, tuple, dict)):
        return True
    return not ctx.get("min_length", 0) <= len(given) <= ctx.get("max_length", len(given))


def _length(info: FieldInfo | None, ctx: dict[str, Any], given: object = None) -> str:
    lo, hi, got = ctx.get("min_length"), ctx.get("max_length"), ctx.get("actual_length")
    got = len(given) if isinstance(given, (list, tuple, dict)) else got
    for item in info.metadata if info else ():
        lo = item.min_length if isinstance(item, annotated_types.MinLen) else lo
        hi = item.max_length if isinstance(item, annotated_types.MaxLen) else hi
    counted = f", got {got}" if got is not None else ""
    if lo is not None and lo == hi:
        return f"needs exactly {_items(lo)}{counted}"
    if lo is not None:
        return f"needs at least {_items(lo)}{counted}"
    return f"takes at most {_items(hi)}{counted}"


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


def _choices(info: FieldInfo | None, ctx: dict[str, Any]) -> str:
    if info is not None and typing.get_origin(info.annotation) is typing.Literal:
        return ", ".join(map(str, typing.get_args(info.annotation)))
    return str(ctx.get("expected", ""))


def _field_at(root: type[BaseModel], loc: tuple[Any, ...]) -> FieldInfo | None:
    """The declared field a location points into (list indexes and dict names skipped)."""
    names = [p for p in loc if isinstance(p, str)]
    model = _model_at(root, tuple(names[:-1])) if names else None
    return model.model_fields.get(names[-1]) if model else None


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model at a location, or None when it points elsewhere."""
    model: type[BaseModel] = root
    for part in loc:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        kind = info.annotation if info else None
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return None
        model = kind
    return model
