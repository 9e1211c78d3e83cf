"""Typed errors. The command line prints each as one line, `error: <key>: <message>`."""

from __future__ import annotations


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


class ConfigErrors(EnrollcfnError):
    """Every problem found in one config, reported together; `problems` lists them in schema order."""

    def __init__(self, problems: list[ConfigError]):
        super().__init__("config", f"{len(problems)} config problems")
        self.problems = problems


class CompileError(EnrollcfnError):
    """The templates cannot be built: wiring between stacks, or a CloudFormation quota."""


class LintError(EnrollcfnError):
    """cfn-lint reported findings that are not in `.cfnlintrc`."""


class CostError(EnrollcfnError):
    """The estimate cannot be made: no price for a region or resource, or a bad usage file."""


class CatalogError(EnrollcfnError):
    """Service Catalog refused a call, or a name or principal would make a publish unsafe."""
