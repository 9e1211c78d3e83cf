"""Colour on a terminal, and only there: never in a pipe, a file or CI logs, never with NO_COLOR
set (https://no-color.org: any non-empty value) or TERM=dumb. The text is the same either way;
colour only marks what a line already says (an added, changed or replaced resource; a failed or
completed stack; an error or a warning)."""

from __future__ import annotations

import os
import re

RED, GREEN, YELLOW, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[0m"

_CHANGE = re.compile(r"^\s*(-/\+|\+|~|-|<) ")  # changes.render: the action symbol before a resource
_SYMBOL_COLOUR = {"-/+": RED, "-": RED, "+": GREEN, "~": YELLOW, "<": GREEN}


def enabled(stream) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


def colour_of(line: str) -> str | None:
    if line.startswith("error:"):
        return RED
    if line.startswith("warning:"):
        return YELLOW
    if m := _CHANGE.match(line):
        return _SYMBOL_COLOUR[m[1]]
    if "_FAILED" in line or "ROLLBACK_" in line:
        return RED
    if "_COMPLETE" in line:
        return GREEN
    return None


def paint_line(line: str, stream) -> str:
    """`line` coloured by what it says when `stream` is a terminal that wants colour; else as is."""
    colour = colour_of(line) if enabled(stream) else None
    return f"{colour}{line}{RESET}" if colour else line
