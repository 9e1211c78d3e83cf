"""Small shared helpers for the stack modules.

`param` and `output` make a Description mandatory by signature; `scanner_skips` writes the
in-template suppressions that checkov and cfn-lint read, each with its reason.
"""

from __future__ import annotations

from troposphere import Output, Parameter, Tags, Template

from enrollcfn.config import Config


def param(t: Template, name: str, type_: str, description: str, **kwargs) -> Parameter:
    """Add a Parameter; every Parameter carries a Description."""
    return t.add_parameter(Parameter(name, Type=type_, Description=description, **kwargs))


def output(t: Template, name: str, value, description: str) -> Output:
    """Add an Output (never exported: values travel through the root by name)."""
    return t.add_output(Output(name, Value=value, Description=description))


def scanner_skips(checkov: dict[str, str] | None = None, cfn_lint: dict[str, str] | None = None) -> dict:
    """Resource Metadata that suppresses named scanner checks, each with the reason it is safe.

    cfn-lint reads only the ids; the reasons stay next to them in the template for reviewers.
    """
    meta: dict = {}
    if checkov:
        meta["checkov"] = {"skip": [{"id": k, "comment": v} for k, v in sorted(checkov.items())]}
    if cfn_lint:
        meta["cfn-lint"] = {"config": {"ignore_checks": sorted(cfn_lint)}}
        meta["cfn-lint-reasons"] = dict(sorted(cfn_lint.items()))
    return meta


def name(cfg: Config, role: str) -> str:
    """A readable Name tag value: `<project>-<environment>-<role>`."""
    return f"{cfg.project}-{cfg.environment}-{role}"


def name_tags(cfg: Config, role: str) -> Tags:
    """Tags with a Name; project and environment tags come from the stack itself."""
    return Tags(Name=name(cfg, role))
