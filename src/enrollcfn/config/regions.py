"""Facts about AWS the config is checked against, bundled so validation asks no AWS library:
the regions and their availability zones (data/regions.json, with its source and date), the
resource types each region's CloudFormation offers and the RDS MySQL versions cfn-lint knows
(both read from cfn-lint's data files by path, without importing cfn-lint, whose import pulls in
sympy and networkx)."""

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


def default_zones(region: str) -> tuple[str, str]:
    """The two zones a config that names none gets: the region's first two in data/regions.json.
    Zone names map to different zones per account, and in a few regions (us-west-1) an account
    sees only some of the names listed, so a config for such a region names its own."""
    first, second = zones_by_region()[region][:2]
    return first, second


# AWS partitions by region prefix (botocore's endpoints.json: aws-cn is "^cn\\-\\w+\\-\\d+$",
# aws-us-gov "^us\\-gov\\-\\w+\\-\\d+$", aws the rest of the regions listed here).
_PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-iso-", "aws-iso"), ("us-isob-", "aws-iso-b"))


def partition(region: str) -> str:
    """The partition of `region`, the second field of every ARN in it (`arn:aws:...`)."""
    return next((p for start, p in _PARTITIONS if region.startswith(start)), "aws")


def known_regions() -> tuple[str, ...]:
    """The regions a config may name, sorted."""
    return tuple(sorted(zones_by_region()))


@functools.cache
def mysql_reserved_words() -> frozenset[str]:
    """MySQL's reserved words and the schema names MySQL and RDS keep, lower case."""
    text = files(__package__).joinpath("data/mysql_reserved.txt").read_text(encoding="utf-8")
    return frozenset(w.lower() for line in text.splitlines() if not line.startswith("#") for w in line.split())


_ENGINE_FILE = ("data", "schemas", "extensions", "aws_rds_dbinstance", "engine_version.json")
_PROVIDERS = ("data", "schemas", "providers")


@functools.cache
def cloudformation_types(region: str) -> frozenset[str] | None:
    """The resource types CloudFormation offers in `region`, from cfn-lint's per-region schema
    list (generated from each region's CloudFormation registry), or None when cfn-lint has no list
    for the region (it then lints against us-east-1's)."""
    path = _cfnlint_dir()
    if path is None:
        return None
    try:
        return frozenset(json.loads(path.joinpath(*_PROVIDERS, f"{region}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


@functools.cache
def mysql_engine_versions() -> tuple[str, ...]:
    """MySQL versions cfn-lint accepts that RDS still offers: the 8.4 LTS line from 8.4.6 and 8.0
    from 8.0.42 (older minors, such as the seed's 8.0.35, are retired; 8.0 bills Extended Support
    since 2026-07-31). Empty when cfn-lint's file cannot be found."""
    base = _cfnlint_dir()
    if base is None:
        return ()
    path = base.joinpath(*_ENGINE_FILE)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    for rule in schema.get("allOf", []):
        if rule.get("if", {}).get("properties", {}).get("Engine", {}).get("const") == "mysql":
            versions = rule["then"]["properties"]["EngineVersion"]["enum"]
            return tuple(v for v in versions if _minor(v) >= (8, 4, 6) or (8, 0, 42) <= _minor(v) < (8, 1, 0))
    return ()


def _cfnlint_dir() -> Path | None:
    """cfn-lint's package directory, located without executing the package."""
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("-")[0].split("."))


def newest(versions: tuple[str, ...], count: int = 3) -> list[str]:
    """The `count` newest of `versions`, oldest first."""
    return sorted(versions, key=_minor)[-count:]
