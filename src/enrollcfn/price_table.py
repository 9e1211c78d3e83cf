"""The price file: the figures `enrollcfn cost` multiplies by for one region, each with its source
and date. The bundled files (data/prices/<region>.yaml) and the files `enrollcfn prices` writes
have one format, read and written here:

    region: us-east-1
    currency: USD
    source: where the figures come from, in one line
    date: "2026-12-02"                 # when the file was made
    hours_per_month: 730.56            # hourly prices become monthly over this many hours
    prices:
      alb_hour: {usd: 0.0225, source: "...", date: "2026-03-01"}
      rds_instance_month:              # a table: one figure per instance class
        db.t3.micro: {usd: 12.41, source: "...", date: "2026-03-01"}

A key that is absent (or a whole region without a file) has no price; the estimate's lines for
it say "unpriced" instead of failing.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Mapping

from enrollcfn import inputs
from enrollcfn.errors import CostError

# The figures the estimate uses; every key is optional in a file. Units are in the names.
KEYS = (
    "fargate_vcpu_hour", "fargate_gb_hour", "fargate_spot_vcpu_hour", "fargate_spot_gb_hour",
    "fargate_arm_vcpu_hour", "fargate_arm_gb_hour", "fargate_spot_arm_vcpu_hour", "fargate_spot_arm_gb_hour",
    "alb_hour", "nat_gateway_hour", "nat_processed_gb", "public_ipv4_hour", "interface_endpoint_hour",
    "data_transfer_out_gb", "ecr_storage_gb_month", "logs_ingestion_gb", "logs_storage_gb_month",
    "alarm_month", "kms_key_month", "route53_hosted_zone_month", "route53_queries_million",
    "secret_month", "lambda_requests_million", "lambda_gb_second",
)  # fmt: skip
TABLES = ("rds_instance_month", "rds_storage_gb_month")  # instance class -> price; storage type -> price
HOURS_PER_MONTH = 730.56  # seed: 24 h x 30.44 days
PRICE_BELOW = 1_000_000  # USD: no figure of the stacks comes near (the dearest is an RDS instance hour, a few USD)


@dataclass(frozen=True)
class Price:
    """One figure in USD, where it comes from and the date it was read or took effect."""

    usd: float
    source: str
    date: str


@dataclass(frozen=True)
class PriceTable:
    """Every figure known for one region; `prices` holds KEYS, `tables` holds TABLES."""

    region: str
    currency: str = "USD"
    source: str = "no price data"
    date: str = ""
    hours_per_month: float = HOURS_PER_MONTH
    prices: Mapping[str, Price] = field(default_factory=dict)
    tables: Mapping[str, Mapping[str, Price]] = field(default_factory=dict)

    def get(self, key: str) -> float | None:
        price = self.prices.get(key)
        return None if price is None else price.usd

    def get_in(self, table: str, name: str) -> float | None:
        price = self.tables.get(table, {}).get(name)
        return None if price is None else price.usd

    @property
    def empty(self) -> bool:
        return not self.prices and not any(self.tables.values())

    def filled_from(self, other: PriceTable) -> PriceTable:
        """This table with `other`'s figures where this one has none."""
        tables = {t: {**other.tables.get(t, {}), **self.tables.get(t, {})} for t in TABLES}
        return PriceTable(self.region, self.currency, self.source, self.date, self.hours_per_month,
                          {**other.prices, **self.prices}, tables)  # fmt: skip

    def to_yaml(self, header: str = "") -> str:
        """The file text: the header's lines as comments, then one line per figure."""
        out = [f"# {line}".rstrip() for line in header.splitlines()]
        out += [f"region: {self.region}", f"currency: {self.currency}", f"source: {json.dumps(self.source)}",
                f"date: {json.dumps(self.date)}", f"hours_per_month: {_number(self.hours_per_month)}", "prices:"]  # fmt: skip
        out += [f"  {key}: {_entry(self.prices[key])}" for key in KEYS if key in self.prices]
        for table in TABLES:
            if self.tables.get(table):
                out.append(f"  {table}:")
                out += [f"    {name}: {_entry(p)}" for name, p in sorted(self.tables[table].items())]
        return "\n".join(out) + "\n"


def bundled_regions() -> tuple[str, ...]:
    """The regions with a bundled price file, sorted."""
    folder = files("enrollcfn").joinpath("data", "prices")
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


def bundled(region: str) -> PriceTable | None:
    """The bundled price file for `region`, or None when there is none."""
    resource = files("enrollcfn").joinpath("data", "prices", f"{region}.yaml")
    if not resource.is_file():
        return None
    return parse(inputs.parse_yaml(resource.read_text(encoding="utf-8"), "prices"), f"data/prices/{region}.yaml")


def for_region(region: str) -> PriceTable:
    """The bundled figures for `region`, or an empty table (every line unpriced)."""
    return bundled(region) or PriceTable(region)


def read(path: Path, region: str) -> PriceTable:
    """A price file given with --prices; CostError keyed `--prices` when it cannot be used for `region`."""
    try:
        data = inputs.load_yaml(path, "--prices", "prices")
    except inputs.InputError as exc:
        raise CostError(exc.key, exc.message) from None
    table = parse(data, "--prices")
    if table.region != region:
        raise CostError("--prices", f"{path} holds prices for {table.region}, but the config's region is {region}; "
                        f"run `enrollcfn prices --region {region}`")  # fmt: skip
    return table


def dearest() -> PriceTable:
    """Each figure at its highest among the bundled files: what an unpriced line's budget uses."""
    tables = [t for t in (bundled(r) for r in bundled_regions()) if t is not None]
    prices: dict[str, Price] = {}
    nested: dict[str, dict[str, Price]] = {t: {} for t in TABLES}
    for table in tables:
        for key, p in table.prices.items():
            if key not in prices or p.usd > prices[key].usd:
                prices[key] = Price(p.usd, f"{table.region}: {p.source}", p.date)
        for name, rows in table.tables.items():
            for row, p in rows.items():
                if row not in nested[name] or p.usd > nested[name][row].usd:
                    nested[name][row] = Price(p.usd, f"{table.region}: {p.source}", p.date)
    return PriceTable("dearest bundled", source="the highest figure of the bundled price files", prices=prices, tables=nested)


def parse(data: object, where: str) -> PriceTable:
    """A price file's content as a PriceTable; CostError keyed `where` naming what is wrong."""
    if not isinstance(data, dict):
        raise CostError(where, "expected a mapping with region, currency, source, date, hours_per_month and prices")
    unknown = set(data) - {"region", "currency", "source", "date", "hours_per_month", "prices"}
    if unknown:
        raise CostError(where, f"unknown key {sorted(unknown)[0]!r} (allowed: region, currency, source, date, hours_per_month, prices)")
    for key in ("region", "source", "date"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise CostError(f"{where}: {key}", "expected a non-empty string")
    _iso(data["date"], f"{where}: date")
    if data.get("currency", "USD") != "USD":
        raise CostError(f"{where}: currency", f"only USD prices are used, got {data['currency']!r}")
    hours = data.get("hours_per_month", HOURS_PER_MONTH)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 672 <= hours <= 744:
        raise CostError(f"{where}: hours_per_month", f"expected the hours in a month (672-744), got {hours!r}")
    raw = data.get("prices") or {}
    if not isinstance(raw, dict):
        raise CostError(f"{where}: prices", "expected a mapping of price keys")
    prices, tables = {}, {}
    for key, value in raw.items():
        if key in TABLES:
            if not isinstance(value, dict):
                raise CostError(f"{where}: prices.{key}", "expected a mapping of names to prices")
            tables[key] = {str(name): _price(v, f"{where}: prices.{key}.{name}") for name, v in value.items()}
        elif key in KEYS:
            prices[key] = _price(value, f"{where}: prices.{key}")
        else:
            raise CostError(f"{where}: prices.{key}", f"unknown price key (known: {', '.join(KEYS + TABLES)})")
    return PriceTable(data["region"], "USD", data["source"], data["date"], float(hours), prices, tables)


def _price(value: object, where: str) -> Price:
    if not isinstance(value, dict) or set(value) != {"usd", "source", "date"}:
        raise CostError(where, "expected {usd: <number>, source: <text>, date: <YYYY-MM-DD>}")
    usd, source, date = value["usd"], value["source"], value["date"]
    try:
        inputs.number(usd, where, below=PRICE_BELOW, what="usd to be a price in USD")
    except inputs.InputError as exc:
        raise CostError(where, exc.message) from None
    if not isinstance(source, str) or not source.strip():
        raise CostError(where, "source must say where the figure comes from")
    return Price(float(usd), source, _iso(date, where))


def _iso(value: object, where: str) -> str:
    """A YYYY-MM-DD date (YAML may have read it as a date already)."""
    text = value.isoformat() if isinstance(value, datetime.date) else value
    try:
        datetime.date.fromisoformat(str(text))
    except ValueError:
        raise CostError(where, f"date must be YYYY-MM-DD, got {value!r}") from None
    return str(text)


def _entry(p: Price) -> str:
    return f"{{usd: {_number(p.usd)}, source: {json.dumps(p.source)}, date: {json.dumps(p.date)}}}"


def _number(value: float) -> str:
    """A plain decimal YAML reads back as the same number (never exponent notation)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text if "." in text else f"{text}.0"
