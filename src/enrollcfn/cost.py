"""Offline monthly cost estimate, read from the compiled templates (not from the config).

Every priced resource found in the templates becomes a `Line` (quantity, unit price, monthly
cost), grouped like the seed's cost table. Prices come from a price table (price_table.py: the
bundled `data/prices/<region>.yaml`, or a file `enrollcfn prices` wrote), each figure with its
source and date; a figure the table lacks makes its line "unpriced" (no unit price, no monthly
cost) rather than an error. Usage-based quantities (data transfer, log volume, image storage)
come from `data/usage.yaml`, whose defaults are the seed's assumptions. Hourly prices become
monthly unit prices over 730.56 hours, rounded to the cent, as the seed computes them. No AWS
call is made.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from typing import Iterator, Mapping

from enrollcfn import inputs
from enrollcfn.errors import CostError
from enrollcfn.price_table import PriceTable, for_region

GROUPS = ("Compute", "Database", "Network", "Storage & Monitoring", "Additional Services")
SEED_TOTAL = 169.17  # the seed's "Total Base Monthly Cost"


UNPRICED = "unpriced"


@dataclass(frozen=True)
class Line:
    """One priced item: `quantity` x `unit_price` = `monthly` (USD, rounded to the cent); both are
    None for an unpriced item (the price table has no figure for it)."""

    group: str
    item: str
    quantity: float
    unit: str
    unit_price: float | None
    monthly: float | None
    note: str = ""

    @property
    def priced(self) -> bool:
        return self.monthly is not None


@dataclass(frozen=True)
class Estimate:
    """The lines for one region, with the price data's provenance."""

    region: str
    currency: str
    source: str
    date: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        """The priced lines' sum (unpriced lines count nothing)."""
        return round(sum(line.monthly for line in self.lines if line.priced), 2)

    @property
    def unpriced(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if not line.priced)

    def subtotals(self) -> dict[str, float]:
        """Monthly cost per group of the priced lines, in the seed's group order (empty groups left out)."""
        sums = {g: round(sum(x.monthly for x in self.lines if x.group == g and x.priced), 2) for g in GROUPS}
        return {g: v for g, v in sums.items() if any(x.group == g for x in self.lines)}

    def to_dict(self) -> dict:
        """Plain data for `--json` and build/cost.json."""
        return {
            "region": self.region,
            "currency": self.currency,
            "prices": {"source": self.source, "date": self.date},
            "lines": [asdict(line) for line in self.lines],
            "subtotals": self.subtotals(),
            "total": self.total,
            "unpriced": len(self.unpriced),
            "seed_total": SEED_TOTAL,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Estimate:
        """The estimate `to_dict` wrote (build/cost.json)."""
        lines = tuple(Line(**line) for line in data["lines"])
        return cls(data["region"], data["currency"], data["prices"]["source"], data["prices"]["date"], lines)


USAGE_BELOW = 1_000_000  # a usage figure (GB, millions of queries, invocations, seconds) a month is below this


def load_usage(path: Path | None = None) -> dict[str, float]:
    """The seed's usage assumptions, with the numbers in `path` (YAML, read by enrollcfn.inputs)
    replacing them. Each is a finite number of at least 0 and below USAGE_BELOW."""
    usage = inputs.parse_yaml(files("enrollcfn").joinpath("data", "usage.yaml").read_text(encoding="utf-8"), "usage")
    usage = {k: float(v) if isinstance(v, float) else int(v) for k, v in usage.items()}
    if path is None:
        return usage
    data = inputs.load_yaml(path, "--usage", "usage")
    overrides = {} if data is None else data
    if not isinstance(overrides, dict):
        raise CostError("--usage", f"{path} holds {type(overrides).__name__}, expected a mapping of assumptions "
                        f"(allowed: {', '.join(usage)})")  # fmt: skip
    out = dict(usage)
    for key, value in overrides.items():
        if key not in usage:
            raise CostError(f"usage.{key}", f"unknown assumption (allowed: {', '.join(usage)})")
        try:
            out[key] = inputs.number(value, f"usage.{key}", below=USAGE_BELOW)
        except inputs.InputError as exc:
            raise CostError(exc.key, exc.message) from None
    return out


def estimate(templates: Mapping[str, dict], region: str, usage: Mapping[str, float] | None = None,
             prices: PriceTable | None = None) -> Estimate:
    """Price every resource in `templates` (name -> template dict, long-form intrinsics) with
    `prices` (default: the region's bundled table, or none)."""
    table = prices or for_region(region)
    pricer = _Pricer(templates, table, dict(usage or load_usage()))
    lines = tuple(line for rule in pricer.rules() for line in rule())
    lines = tuple(sorted(lines, key=lambda x: GROUPS.index(x.group)))
    return Estimate(region=region, currency=table.currency, source=table.source, date=table.date, lines=lines)


def render(est: Estimate) -> str:
    """The estimate as a text table, grouped, with subtotals and the total against the seed's."""
    out = [f"Monthly estimate, {est.region}, {est.currency} (prices: {est.source}{f', {est.date}' if est.date else ''})", ""]
    subtotals = est.subtotals()
    for group, subtotal in subtotals.items():
        priced = any(x.priced for x in est.lines if x.group == group)
        out.append(f"{group:<86}{f'{subtotal:.2f}' if priced else UNPRICED:>10}")
        for x in (x for x in est.lines if x.group == group):
            qty = f"{x.quantity:g} {x.unit} x {_number(x.unit_price) if x.priced else UNPRICED}"
            out.append(f"  {x.item:<50}{qty:>34}{f'{x.monthly:.2f}' if x.priced else UNPRICED:>10}")
            if x.note:
                out.append(f"      {x.note}")
    diff = est.total - SEED_TOTAL
    total = "Total" if not est.unpriced else f"Total of the priced lines ({len(est.unpriced)} unpriced)"
    out += ["", f"{total:<86}{est.total:>10.2f}", f"{'Seed estimate (December 2024)':<86}{SEED_TOTAL:>10.2f}", f"{'Difference':<86}{diff:>+10.2f}"]
    return "\n".join(out)


def _number(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")


class _Pricer:
    """The rules that turn resources into lines; one method per seed cost-table entry."""

    def __init__(self, templates: Mapping[str, dict], table: PriceTable, usage: dict):
        self.templates = templates
        self.table = table
        self.hours = table.hours_per_month
        self.usage = usage

    def rules(self):
        return (self.fargate, self.lambdas, self.rds, self.load_balancers, self.nat, self.public_ipv4,
                self.endpoints, self.registry, self.logs, self.general_log, self.alarms, self.route53, self.secrets)  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------

    def each(self, type_: str) -> Iterator[tuple[dict, str, dict]]:
        """(template, `stack/logical id`, properties) of every resource of `type_`."""
        for name in sorted(self.templates):
            template = self.templates[name]
            for lid, res in sorted(template.get("Resources", {}).items()):
                if res["Type"] == type_:
                    yield template, f"{name}/{lid}", res.get("Properties", {})

    def p(self, key: str) -> float | None:
        return self.table.get(key)

    def monthly(self, hourly_key: str, factor: float = 1) -> float | None:
        hourly = self.p(hourly_key)
        return None if hourly is None else round(hourly * factor * self.hours, 2)

    def price(self, table: str, key: str) -> float | None:
        return self.table.get_in(table, key)

    @staticmethod
    def line(group, item, quantity, unit, unit_price, note="") -> Line:
        monthly = None if unit_price is None else round(quantity * unit_price, 2)
        return Line(group, item, quantity, unit, unit_price, monthly, note)

    # -- Compute ---------------------------------------------------------------------------

    def fargate(self):
        for template, lid, props in self.each("AWS::ECS::Service"):
            task = template["Resources"][props["TaskDefinition"]["Ref"]]["Properties"]
            vcpu, gb = int(task["Cpu"]) / 1024, int(task["Memory"]) / 1024
            count = _minimum_count(template, lid.split("/")[1], props)
            strategy = props.get("CapacityProviderStrategy") or [{"CapacityProvider": "FARGATE", "Weight": 1}]
            # ARM64 (Graviton) has its own, lower, Fargate and Fargate Spot prices.
            arm = (task.get("RuntimePlatform") or {}).get("CpuArchitecture") == "ARM64"
            for provider, tasks in _split(count, strategy).items():
                key = "fargate" + ("_spot" if provider == "FARGATE_SPOT" else "") + ("_arm" if arm else "")
                per_task = _sum(self.monthly(f"{key}_vcpu_hour", vcpu), self.monthly(f"{key}_gb_hour", gb))
                per_task = None if per_task is None else round(per_task, 2)
                if tasks:
                    added = f"each task added by scaling costs {per_task:.2f}" if per_task is not None else "tasks added by scaling too"
                    yield self.line("Compute", f"Fargate tasks {vcpu:g} vCPU / {gb:g} GB{' ARM64' if arm else ''} on {provider}", tasks,
                                    "task", per_task, f"the service's minimum; {added}")  # fmt: skip

    def lambdas(self):
        calls, seconds = self.usage["lambda_invocations"], self.usage["lambda_seconds_per_invocation"]
        for _, lid, props in self.each("AWS::Lambda::Function"):
            gb = props.get("MemorySize", 128) / 1024
            requests, compute = self.p("lambda_requests_million"), self.p("lambda_gb_second")
            per_call = None if requests is None or compute is None else requests / 1e6 + gb * seconds * compute
            yield self.line("Compute", f"Lambda {lid}", calls, "invocation", per_call, "seed: counted $0.20 as an upper bound")

    # -- Database --------------------------------------------------------------------------

    def rds(self):
        for _, lid, props in self.each("AWS::RDS::DBInstance"):
            copies = 2 if str(props.get("MultiAZ", False)).lower() == "true" else 1
            cls, storage = props["DBInstanceClass"], props.get("StorageType", "gp2")
            az = "Multi-AZ" if copies == 2 else "single-AZ"
            yield self.line("Database", f"RDS {cls} {az}", copies, "instance", self.price("rds_instance_month", cls))
            gb = int(props["AllocatedStorage"]) * copies
            yield self.line("Database", f"RDS storage {storage}", gb, "GB", self.price("rds_storage_gb_month", storage),
                            "backups up to the allocated size are free")  # fmt: skip

    # -- Network ---------------------------------------------------------------------------

    def load_balancers(self):
        for _, lid, props in self.each("AWS::ElasticLoadBalancingV2::LoadBalancer"):
            yield self.line("Network", f"Application Load Balancer {lid}", 1, "ALB", self.monthly("alb_hour"), "LCUs not included, as in the seed")
            if props.get("Scheme") == "internet-facing":
                yield self.line("Network", "Data transfer out to the internet", self.usage["data_transfer_out_gb"], "GB",
                                self.p("data_transfer_out_gb"), "seed: listed but left out of its $169.17")  # fmt: skip

    def nat(self):
        count = len(list(self.each("AWS::EC2::NatGateway")))
        if count:
            yield self.line("Network", "NAT gateway", count, "gateway", self.monthly("nat_gateway_hour"))
            yield self.line("Network", "NAT data processing", self.usage["nat_processed_gb"], "GB", self.p("nat_processed_gb"),
                            "seed: variable, left out of its total")  # fmt: skip

    def public_ipv4(self):
        eips = len(list(self.each("AWS::EC2::EIP")))
        albs = [p for _, _, p in self.each("AWS::ElasticLoadBalancingV2::LoadBalancer") if p.get("Scheme") == "internet-facing"]
        zones = sum(self.subnet_count(p["Subnets"]) for p in albs)
        # Tasks with AssignPublicIp (network.mode public) hold an address each while they run.
        tasks = sum(_minimum_count(t, lid.split("/")[1], p) for t, lid, p in self.each("AWS::ECS::Service")
                    if p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {}).get("AssignPublicIp") == "ENABLED")
        what = [w for w, n in (("NAT EIPs", eips), ("one per ALB zone", zones), ("one per task", tasks)) if n]
        note = "differs from the seed: it left out the public IPv4 charge billed since February 2024"
        if tasks:
            note += f"; {tasks} for the service's minimum, each task added by scaling holds one more"
        if what:
            yield self.line("Network", f"Public IPv4 addresses ({', '.join(what)})", eips + zones + tasks, "address", self.monthly("public_ipv4_hour"), note)

    def subnet_count(self, subnets) -> int:
        """Subnets a resource spans: a literal list, or a Parameter wired from the Output of that name."""
        if isinstance(subnets, list):
            return len(subnets)
        for template in self.templates.values():
            value = template.get("Outputs", {}).get(subnets.get("Ref"), {}).get("Value", {})
            if "Fn::Join" in value:
                return len(value["Fn::Join"][1])
        raise CostError("cost", f"cannot count the subnets in {subnets}")

    def endpoints(self):
        for _, lid, props in self.each("AWS::EC2::VPCEndpoint"):
            if props.get("VpcEndpointType") == "Interface":
                zones = self.subnet_count(props.get("SubnetIds", []))
                yield self.line("Network", f"Interface endpoint {lid}", zones, "AZ", self.monthly("interface_endpoint_hour"), "not in the seed")

    # -- Storage & Monitoring --------------------------------------------------------------

    def registry(self):
        for _, lid, _ in self.each("AWS::ECR::Repository"):
            yield self.line("Storage & Monitoring", "ECR image storage", self.usage["ecr_storage_gb"], "GB", self.p("ecr_storage_gb_month"))

    def logs(self):
        retention = [p.get("RetentionInDays", 3653) for _, _, p in self.each("AWS::Logs::LogGroup")]
        if not retention:
            return
        gb = self.usage["log_ingestion_gb"]
        note = f"all {len(retention)} log groups together; seed: $8.00 for logs and Container Insights"
        yield self.line("Storage & Monitoring", "CloudWatch Logs ingestion", gb, "GB", self.p("logs_ingestion_gb"), note)
        stored = round(gb * max(retention) / 30.44, 2)
        yield self.line("Storage & Monitoring", "CloudWatch Logs storage", stored, "GB", self.p("logs_storage_gb_month"),
                        f"a month's ingestion kept {max(retention)} days (the longest retention)")  # fmt: skip

    def general_log(self):
        """The MySQL general log (database.general_log, which compliance: control-tower needs):
        every statement exported to CloudWatch Logs, ingested and kept for the export groups'
        retention (the Custom::LogRetention of the database stack)."""
        for _, lid, props in self.each("AWS::RDS::DBInstance"):
            if "general" not in props.get("EnableCloudwatchLogsExports", []):
                continue
            gb = self.usage["general_log_gb"]
            days = max((int(p["RetentionInDays"]) for _, _, p in self.each("Custom::LogRetention")), default=3653)
            yield self.line("Storage & Monitoring", "RDS general log ingestion", gb, "GB", self.p("logs_ingestion_gb"),
                            "database.general_log: every statement; usage general_log_gb")  # fmt: skip
            yield self.line("Storage & Monitoring", "RDS general log storage", round(gb * days / 30.44, 2), "GB", self.p("logs_storage_gb_month"),
                            f"a month's general log kept {days} days")  # fmt: skip

    def alarms(self):
        count = len(list(self.each("AWS::CloudWatch::Alarm")))
        if count:
            yield self.line("Storage & Monitoring", "CloudWatch alarms", count, "alarm", self.p("alarm_month"), "not in the seed: it built no alarms")
        keys = len(list(self.each("AWS::KMS::Key")))
        if keys:
            yield self.line("Storage & Monitoring", "KMS customer managed keys", keys, "key", self.p("kms_key_month"), "not in the seed")

    # -- Additional Services ---------------------------------------------------------------

    def route53(self):
        zones = {str(p.get("HostedZoneId") or p.get("HostedZoneName")) for _, _, p in self.each("AWS::Route53::RecordSet")}
        zones |= {lid for _, lid, _ in self.each("AWS::Route53::HostedZone")}
        if zones:
            yield self.line("Additional Services", "Route 53 hosted zone", len(zones), "zone", self.p("route53_hosted_zone_month"),
                            "the existing zone the records go in")  # fmt: skip
            yield self.line("Additional Services", "Route 53 queries", self.usage["route53_queries_million"], "million", self.p("route53_queries_million"))

    def secrets(self):
        count = len(list(self.each("AWS::SecretsManager::Secret")))
        count += sum(1 for _, _, p in self.each("AWS::RDS::DBInstance") if p.get("ManageMasterUserPassword"))
        if count:
            yield self.line("Additional Services", "Secrets Manager secrets", count, "secret", self.p("secret_month"),
                            "differs from the seed's 8 ($3.52): one application secret holds its keys, one its database user, RDS manages the master's")  # fmt: skip


def _sum(*parts: float | None) -> float | None:
    """The sum, or None when any part is unpriced."""
    return None if any(x is None for x in parts) else sum(parts)


def _minimum_count(template: dict, lid: str, props: dict) -> int:
    """The service's task count at rest: its scalable target's minimum, else DesiredCount, else 1."""
    for res in template["Resources"].values():
        if res["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" and repr(lid) in str(res["Properties"]["ResourceId"]):
            return int(res["Properties"]["MinCapacity"])
    return int(props.get("DesiredCount", 1))


def _split(count: int, strategy: list[dict]) -> dict[str, int]:
    """Tasks per capacity provider as ECS places them: each Base first, the rest by Weight."""
    tasks = {item["CapacityProvider"]: 0 for item in strategy}
    left = count
    for item in strategy:
        base = min(int(item.get("Base", 0)), left)
        tasks[item["CapacityProvider"]] += base
        left -= base
    weights = {item["CapacityProvider"]: int(item.get("Weight", 0)) for item in strategy}
    total = sum(weights.values())
    placed = 0
    for provider, weight in weights.items():
        share = math.floor(left * weight / total) if total else 0
        tasks[provider] += share
        placed += share
    if left - placed and total:
        tasks[max(weights, key=weights.get)] += left - placed
    return tasks
