"""Building blocks shared by every config section: the frozen base model, strict scalar types,
and `rules()`, which lets a cross-field validator report several problems, each at its own key.

Types are strict on purpose: YAML `"5"` is not a number and `yes` is not a string of a port. A
string field still takes a plain YAML number or boolean (`matcher: 200`, `APP_DEBUG: false`) and
keeps its text, because that is what a writer of YAML means.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict
from pydantic_core import PydanticCustomError

from enrollcfn.inputs import written

INT32_MAX = 2**31 - 1  # CloudFormation and the AWS APIs take Integer properties as 32-bit ints


class Section(BaseModel):
    """A config section: immutable, unknown keys refused, NaN and infinity refused. Defaults are
    validated too, so the rules joining two sections run even when a file leaves one out."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True, hide_input_in_errors=True)


def _scalar_text(value: object) -> object:
    """A plain YAML scalar as the text its writer meant: a number exactly as written (`1.10` ->
    "1.10", `010` -> "010"; enrollcfn.inputs keeps the text), a boolean as `true`/`false`;
    anything else is left for the string check to refuse."""
    text = written(value)
    if text is not None:
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


Text = Annotated[str, Strict(), BeforeValidator(_scalar_text)]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Number = Annotated[float, Strict()]  # strict float still takes a whole number (250 -> 250.0)


def int_range(lo: int, hi: int) -> object:
    """A strict whole number within [lo, hi] (bounds are AWS's, cited where the field is declared)."""
    return Field(ge=lo, le=hi)


def check(pattern: str, message: str) -> AfterValidator:
    """A string validator: refuse a value that does not match `pattern` entirely, saying `message`."""
    # ASCII: `\w` and `\d` would otherwise also match other scripts' letters and digits, and these
    # values reach IAM, trust policies and physical names, where they are compared as strings.
    compiled = re.compile(pattern, re.ASCII)

    def _check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("bad_value", "{message}", {"message": f"{_quote(value)} {message}"})
        return value

    return AfterValidator(_check)


def _quote(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def rules(problems: list[tuple[str, str]]) -> None:
    """Raise every cross-field problem at once; each pair is (dotted key from the root, message)."""
    if problems:
        raise PydanticCustomError("rules", "{count} problems", {"count": len(problems), "problems": tuple(problems)})


Name255 = Annotated[
    Text,
    # ECS: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed"
    # (CreateCluster clusterName, CreateService serviceName).
    check(r"[A-Za-z0-9_-]{1,255}", "is not an ECS name: use 1-255 letters, digits, '-' and '_'"),
]
