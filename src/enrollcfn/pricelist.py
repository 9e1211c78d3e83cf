"""Current prices for one region from the AWS Price List Query API, as a price table in the same
format as the bundled files (price_table.py), for `enrollcfn prices`.

The Query API answers only at its own endpoints (us-east-1, eu-central-1 and ap-south-1 in
botocore's endpoint data) and holds the prices of every region, so the caller makes the pricing
client in us-east-1 whatever region is priced. Each query below is one paginated GetProducts
call (the paginator follows NextToken) filtered by the region's code; each price-table key is
the product whose usage type, less its region prefix (`USE1-`, `EU-`, `APS2-`; us-east-1 has
none), equals the one named here. A PriceList item is a JSON string holding `product` (with
`attributes.usagetype`, `sku`) and `terms.OnDemand.<term>.priceDimensions.<rate>.pricePerUnit.USD`
(GetProducts in the AWS Price List API reference; botocore's own example of it has this shape).

The filters and usage types follow the Price List's published attribute names; a key no product
answers, or two products answer with different prices, is left out and reported, and its cost
lines say "unpriced". No figure is ever guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from enrollcfn.price_table import HOURS_PER_MONTH, TABLES, Price, PriceTable

SOURCE = "AWS Price List Query API (GetProducts)"
# A usage type's region prefix: three letters and a digit (USE1, APS2, EUC1), or EU (eu-west-1).
_PREFIX = re.compile(r"^(?:[A-Z]{3}\d|EU)-")
# RDS instance prices are kept per month of 730 hours, the AWS Pricing Calculator's month, as the
# seed's figure in the bundled files is ($0.019 x 730 = $13.87).
RDS_MONTH_HOURS = 730


@dataclass(frozen=True)
class Query:
    """One GetProducts query and the price-table keys read from its products: key -> usage type."""

    service: str
    keys: dict[str, str]
    filters: dict[str, str] = field(default_factory=dict)
    region_field: str | None = "regionCode"  # None for global services (Route 53)
    scale: dict[str, float] = field(default_factory=dict)  # per request -> per million


QUERIES = (
    Query("AmazonECS", {
        "fargate_vcpu_hour": "Fargate-vCPU-Hours:perCPU", "fargate_gb_hour": "Fargate-GB-Hours",
        "fargate_spot_vcpu_hour": "SpotUsage-Fargate-vCPU-Hours:perCPU", "fargate_spot_gb_hour": "SpotUsage-Fargate-GB-Hours",
        # Linux/ARM (Graviton), priced apart from Linux/x86
        "fargate_arm_vcpu_hour": "Fargate-ARM-vCPU-Hours:perCPU", "fargate_arm_gb_hour": "Fargate-ARM-GB-Hours",
        "fargate_spot_arm_vcpu_hour": "SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", "fargate_spot_arm_gb_hour": "SpotUsage-Fargate-ARM-GB-Hours"}),
    Query("AWSELB", {"alb_hour": "LoadBalancerUsage"}, {"productFamily": "Load Balancer-Application"}),
    Query("AmazonEC2", {"nat_gateway_hour": "NatGateway-Hours", "nat_processed_gb": "NatGateway-Bytes"}, {"productFamily": "NAT Gateway"}),
    Query("AmazonVPC", {"public_ipv4_hour": "PublicIPv4:InUseAddress", "interface_endpoint_hour": "VpcEndpoint-Hours"}),
    Query("AWSDataTransfer", {"data_transfer_out_gb": "DataTransfer-Out-Bytes"}, {"transferType": "AWS Outbound"}, "fromRegionCode"),
    Query("AmazonECR", {"ecr_storage_gb_month": "TimedStorage-ByteHrs"}),
    Query("AmazonCloudWatch", {"logs_ingestion_gb": "DataProcessing-Bytes", "logs_storage_gb_month": "TimedStorage-ByteHrs",
                               "alarm_month": "CW:AlarmMonitorUsage"}),
    Query("awskms", {"kms_key_month": "KMS-Keys"}),
    Query("AmazonRoute53", {"route53_hosted_zone_month": "HostedZone", "route53_queries_million": "DNS-Queries"},
          region_field=None, scale={"route53_queries_million": 1e6}),
    Query("AWSSecretsManager", {"secret_month": "AWSSecretsManager-Secrets"}),
    Query("AWSLambda", {"lambda_requests_million": "Request", "lambda_gb_second": "Lambda-GB-Second"}, scale={"lambda_requests_million": 1e6}),
    Query("AmazonRDS", {"rds_storage_gb_month/gp2": "RDS:GP2-Storage", "rds_storage_gb_month/gp3": "RDS:GP3-Storage"},
          {"productFamily": "Database Storage"}),
    # Every MySQL single-AZ class at once (`InstanceUsage:<class>`), so any class a config names is priced.
    Query("AmazonRDS", {"rds_instance_month/*": "InstanceUsage:"},
          {"productFamily": "Database Instance", "databaseEngine": "MySQL", "deploymentOption": "Single-AZ"}),
)  # fmt: skip


@dataclass(frozen=True)
class Fetched:
    """What a fetch found: the table, and every key left out with the reason."""

    table: PriceTable
    missing: dict[str, str]


def fetch(client, region: str, today: str, progress: Callable[[str], None] = lambda _: None) -> Fetched:
    """Every figure the estimate uses, for `region`, read through `client` (a boto3 pricing client)."""
    prices: dict[str, Price] = {}
    tables: dict[str, dict[str, Price]] = {t: {} for t in TABLES}
    missing: dict[str, str] = {}
    for query in QUERIES:
        products = list(_products(client, query, region))
        progress(f"  {query.service}: {len(products)} products")
        for key, usagetype in query.keys.items():
            if key == "rds_instance_month/*":
                tables["rds_instance_month"] = _instances(products, usagetype)
                if not tables["rds_instance_month"]:
                    missing[key] = f"no {usagetype}<class> product"
                continue
            found, why = _pick(products, usagetype, query.service, query.scale.get(key, 1.0))
            table, _, name = key.partition("/")
            if found is None:
                missing[key] = why
            elif name:
                tables[table][name] = found
            else:
                prices[key] = found
    prices = {k: _dated(p, today) for k, p in prices.items()}
    tables = {t: {n: _dated(p, today) for n, p in rows.items()} for t, rows in tables.items() if rows}
    return Fetched(PriceTable(region, "USD", f"{SOURCE}, read {today}", today, HOURS_PER_MONTH, prices, tables), missing)


def _dated(price: Price, today: str) -> Price:
    """A price whose product carries no date is dated the day it was read."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.date):
        return price
    return Price(price.usd, f"{price.source} (no effective date given; read {today})", today)


def _products(client, query: Query, region: str) -> Iterator[dict]:
    filters = dict(query.filters)
    if query.region_field:
        filters[query.region_field] = region
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=query.service, FormatVersion="aws_v1",
        Filters=[{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in sorted(filters.items())],
    )  # fmt: skip
    for page in pages:
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item


def _usagetype(product: dict) -> str:
    return _PREFIX.sub("", product.get("product", {}).get("attributes", {}).get("usagetype", ""), count=1)


def _pick(products: list[dict], usagetype: str, service: str, scale: float) -> tuple[Price | None, str]:
    """The one price of the products with `usagetype`, or None and why not."""
    found = sorted((p for p in (_price(x, service, scale) for x in products if _usagetype(x) == usagetype) if p), key=lambda p: p.source)
    if not found:
        return None, f"no {usagetype} product with an on-demand price"
    if len({p.usd for p in found}) > 1:
        return None, f"{len(found)} {usagetype} products with different prices ({', '.join(sorted({f'{p.usd:g}' for p in found}))})"
    return found[0], ""


def _instances(products: list[dict], prefix: str) -> dict[str, Price]:
    """Instance class -> monthly price, from the `InstanceUsage:<class>` products (ambiguous classes left out)."""
    by_class: dict[str, list[Price]] = {}
    for product in products:
        usagetype = _usagetype(product)
        cls = product.get("product", {}).get("attributes", {}).get("instanceType", "")
        if usagetype == f"{prefix}{cls}" and cls:
            price = _price(product, "AmazonRDS", RDS_MONTH_HOURS, f" x {RDS_MONTH_HOURS} h (the Pricing Calculator's month)")
            if price:
                by_class.setdefault(cls, []).append(price)
    return {cls: found[0] for cls, found in sorted(by_class.items()) if len({p.usd for p in found}) == 1}


def _price(product: dict, service: str, scale: float = 1.0, how: str = "") -> Price | None:
    """The on-demand price of `product`: its first paid tier (a tier at $0 is a free tier), scaled."""
    terms = product.get("terms", {}).get("OnDemand", {})
    for term in sorted(terms.values(), key=lambda t: t.get("offerTermCode", "")):
        dims = [d for d in term.get("priceDimensions", {}).values() if _usd(d) > 0]
        if not dims:
            continue
        dim = min(dims, key=lambda d: float(d.get("beginRange", "0") or 0))
        attrs = product.get("product", {}).get("attributes", {})
        source = (f"{SOURCE}: {service} {attrs.get('usagetype', '?')} (sku {product.get('product', {}).get('sku', '?')}), "
                  f"${_usd(dim):g} per {dim.get('unit', '?')}{how}{f' x {scale:g}' if scale != 1 and not how else ''}")  # fmt: skip
        date = str(term.get("effectiveDate") or product.get("publicationDate") or "")[:10]
        return Price(round(_usd(dim) * scale, 10), source, date)
    return None


def _usd(dimension: dict) -> float:
    try:
        return float(dimension.get("pricePerUnit", {}).get("USD", "0"))
    except ValueError:
        return 0.0
