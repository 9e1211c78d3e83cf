"""Typed errors. The command line prints each as one line, `error: <key>: <message>`."""

from __future__ import annotations


def one_line(text: object, limit: int = 240) -> str:
    """`text` on one line (runs of whitespace, newlines included, become one space), cut to
    `limit` characters, saying how long it was: for text that quotes what a user wrote."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else f"{flat[:limit - 1]}... ({len(flat):,} characters)"


class EnrollcfnError(Exception):
    """An expected failure caused by input or by the state of AWS, never a bug.

    `key` is what the user must look at: a dotted config key, a stack name or a file.
    """

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class ConfigError(EnrollcfnError):
    """A config value that cannot be used; `key` is its dotted path."""


class CompileError(EnrollcfnError):
    """The templates cannot be built: wiring between stacks, or a CloudFormation quota."""


class LintError(EnrollcfnError):
    """cfn-lint reported findings that are not in `.cfnlintrc`; `findings` holds them."""

    def __init__(self, key: str, message: str, findings: tuple = ()):
        super().__init__(key, message)
        self.findings = tuple(findings)


class CostError(EnrollcfnError):
    """The estimate cannot be made: no price for a region or resource, or a bad usage file."""


class CatalogError(EnrollcfnError):
    """Service Catalog refused a call, or a name or principal would make a publish unsafe."""


class Problems(EnrollcfnError):
    """Several problems found in one run, reported together (one line each)."""

    def __init__(self, key: str, problems: list[EnrollcfnError]):
        super().__init__(key, f"{len(problems)} problem(s)")
        self.problems = list(problems)


class ConfigErrors(Problems):
    """Every problem found in one config file."""

    def __init__(self, problems: list[ConfigError]):
        super().__init__("config", problems)


class Interrupted(EnrollcfnError):
    """Ctrl-C: what state things were left in and the command to go on (exit 130)."""


class UsageError(EnrollcfnError):
    """A command line that cannot run as written: a missing environment or stack, a malformed flag
    value, words in the wrong place (exit 64, like argparse's own refusals)."""
