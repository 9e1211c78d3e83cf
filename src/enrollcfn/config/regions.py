"""Facts about AWS the config is checked against, bundled so validation asks no AWS library:
the regions and their availability zones (data/regions.json, with its source and date) and the
RDS MySQL versions cfn-lint knows (read from cfn-lint's schema file by path, without importing
cfn-lint, whose import pulls in sympy and networkx)."""

from __future__ import annotations

import functools
import importlib.util
import json
from importlib.resources import files
from pathlib import Path


@functools.cache
def zones_by_region() -> dict[str, tuple[str, ...]]:
    """Region name -> its availability zone names, for every region that offers all the services
    the stacks use."""
    data = json.loads(files(__package__).joinpath("data/regions.json").read_text(encoding="utf-8"))
    return {region: tuple(zones) for region, zones in data["regions"].items()}


def known_regions() -> tuple[str, ...]:
    """The regions a config may name, sorted."""
    return tuple(sorted(zones_by_region()))


@functools.cache
def mysql_reserved_words() -> frozenset[str]:
    """MySQL's reserved words and the schema names MySQL and RDS keep, lower case."""
    text = files(__package__).joinpath("data/mysql_reserved.txt").read_text(encoding="utf-8")
    return frozenset(w.lower() for line in text.splitlines() if not line.startswith("#") for w in line.split())


_ENGINE_FILE = ("data", "schemas", "extensions", "aws_rds_dbinstance", "engine_version.json")


@functools.cache
def mysql_engine_versions() -> tuple[str, ...]:
    """MySQL versions cfn-lint accepts that RDS still offers: the 8.4 LTS line from 8.4.6 and 8.0
    from 8.0.42 (older minors, such as the seed's 8.0.35, are retired; 8.0 bills Extended Support
    since 2026-07-31). Empty when cfn-lint's file cannot be found."""
    spec = importlib.util.find_spec("cfnlint")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return ()
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*_ENGINE_FILE)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    for rule in schema.get("allOf", []):
        if rule.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "mysql":
            versions = rule["then"]["properties"]["EngineVersion"]["enum"]
            return tuple(v for v in versions if _minor(v) >= (8, 4, 6) or (8, 0, 42) <= _minor(v) < (8, 1, 0))
    return ()


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("-")[0].split("."))


def newest(versions: tuple[str, ...], count: int = 3) -> list[str]:
    """The `count` newest of `versions`, oldest first."""
    return sorted(versions, key=_minor)[-count:]
