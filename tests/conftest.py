"""Shared fixtures: the default config compiled once per session."""

from __future__ import annotations

import pytest
import yaml
from cfn_flip import load_yaml

from enrollcfn.compiler import compile_all
from enrollcfn.config import Config


@pytest.fixture(scope="session")
def compiled():
    """The default (seed) config, compiled in memory."""
    return compile_all(Config())


@pytest.fixture(scope="session")
def rendered(compiled):
    """Each compiled template as a plain dict (intrinsics in long form), keyed by stack name."""
    return {name: load_yaml(text) for name, text in compiled.templates.items()}


def resources_of(template: dict, type_: str) -> dict:
    """The resources of one CloudFormation type in a rendered template, by logical id."""
    return {k: v for k, v in template.get("Resources", {}).items() if v["Type"] == type_}


__all__ = ["resources_of", "yaml"]
