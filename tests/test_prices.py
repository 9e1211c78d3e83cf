"""`enrollcfn prices` against botocore's Stubber: paginated GetProducts answers in the shape of the
AWS Price List API reference (the product is botocore's own documented example, a JSON string
per PriceList item), written to a price file that `cost` and `build` then use."""

from __future__ import annotations

import argparse
import copy
import json
from importlib.resources import files

import boto3
import pytest
from botocore.stub import Stubber

from enrollcfn import price_table, pricelist
from enrollcfn.cli import main
from enrollcfn.commands.common import clients

REGION = "eu-west-1"
PREFIX = "EU-"  # eu-west-1's usage-type prefix (EU-NatGateway-Hours in AWS's price list)


def documented_item() -> dict:
    """The GetProducts example of botocore's pricing service model (from the API reference)."""
    examples = json.loads(files("botocore").joinpath("data/pricing/2017-10-15/examples-1.json").read_text())
    (example,) = examples["examples"]["GetProducts"]
    return json.loads(example["output"]["PriceList"][0])


def product(usagetype: str, usd: str, sku: str, unit: str = "Hrs", tiers: list[tuple[str, str]] | None = None, **attributes) -> str:
    """The documented item with our usage type, sku and price; `tiers` are (beginRange, USD)."""
    item = copy.deepcopy(documented_item())
    old_sku = item["product"]["sku"]
    item["product"]["sku"] = sku
    item["product"]["attributes"].update({"usagetype": usagetype, "regionCode": REGION, **attributes})
    (term,) = item["terms"]["OnDemand"].values()
    (dim,) = term["priceDimensions"].values()
    term["sku"], term["effectiveDate"] = sku, "2026-11-01T00:00:00Z"
    dims = {}
    for i, (begin, price) in enumerate(tiers or [("0", usd)]):
        rate = dict(dim, unit=unit, beginRange=begin, pricePerUnit={"USD": price}, rateCode=f"{sku}.JRTCKXETXF.{i}")
        dims[rate["rateCode"]] = rate
    term["priceDimensions"] = dims
    item["terms"]["OnDemand"] = {f"{sku}.JRTCKXETXF": term}
    assert old_sku  # the example really carried a sku: the shape is the documented one
    return json.dumps(item)


# Per query (in pricelist.QUERIES order): the PriceList pages GetProducts answers with.
ANSWERS = {
    "AmazonECS": [[product(f"{PREFIX}Fargate-vCPU-Hours:perCPU", "0.05", "F1", "hours"),
                   product(f"{PREFIX}Fargate-ARM-vCPU-Hours:perCPU", "0.04", "F2", "hours")],
                  [product(f"{PREFIX}Fargate-GB-Hours", "0.005", "F3", "hours"),
                   product(f"{PREFIX}SpotUsage-Fargate-vCPU-Hours:perCPU", "0.015", "F4", "hours"),
                   product(f"{PREFIX}SpotUsage-Fargate-GB-Hours", "0.0015", "F5", "hours"),
                   product(f"{PREFIX}Fargate-ARM-GB-Hours", "0.004", "F6", "hours"),
                   product(f"{PREFIX}SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", "0.012", "F7", "hours"),
                   product(f"{PREFIX}SpotUsage-Fargate-ARM-GB-Hours", "0.0012", "F8", "hours")]],
    "AWSELB": [[product(f"{PREFIX}LoadBalancerUsage", "0.03", "L1"), product(f"{PREFIX}LCUUsage", "0.008", "L2", "LCU-Hrs"),
                product(f"{PREFIX}TS-LoadBalancerUsage", "0.0055", "L3")]],
    "AmazonEC2": [[product(f"{PREFIX}NatGateway-Hours", "0.05", "N1"), product(f"{PREFIX}NatGateway-Bytes", "0.05", "N2", "GB"),
                   product(f"{PREFIX}RegionalNatGateway-Hours", "0.06", "N3")]],
    "AmazonVPC": [[product(f"{PREFIX}PublicIPv4:InUseAddress", "0.005", "V1"), product(f"{PREFIX}PublicIPv4:IdleAddress", "0.005", "V2"),
                   product(f"{PREFIX}VpcEndpoint-Hours", "0.011", "V3")]],
    # A free first tier, then the paid one: the estimate uses the paid tier.
    "AWSDataTransfer": [[product(f"{PREFIX}DataTransfer-Out-Bytes", "", "D1", "GB", tiers=[("0", "0.0000000000"), ("100", "0.0900000000")])]],
    "AmazonECR": [[product(f"{PREFIX}TimedStorage-ByteHrs", "0.1", "E1", "GB-Mo")]],
    # Two products for alarms with different prices: ambiguous, so left out (and reported).
    "AmazonCloudWatch": [[product(f"{PREFIX}DataProcessing-Bytes", "0.57", "C1", "GB"), product(f"{PREFIX}TimedStorage-ByteHrs", "0.03", "C2", "GB-Mo"),
                          product(f"{PREFIX}CW:AlarmMonitorUsage", "0.1", "C3", "Alarms"), product(f"{PREFIX}CW:AlarmMonitorUsage", "0.3", "C4", "Alarms")]],
    "awskms": [[product(f"{PREFIX}KMS-Keys", "1", "K1", "Keys")]],
    "AmazonRoute53": [[product("HostedZone", "", "R1", "HostedZone", tiers=[("0", "0.50"), ("25", "0.10")]),
                       product("DNS-Queries", "0.0000004", "R2", "Queries")]],
    "AWSSecretsManager": [[product(f"{PREFIX}AWSSecretsManager-Secrets", "0.4", "S1", "Secrets")]],
    "AWSLambda": [[product(f"{PREFIX}Request", "0.0000002", "A1", "Requests"), product(f"{PREFIX}Lambda-GB-Second", "", "A2", "Lambda-GB-Second",
                                                                                     tiers=[("0", "0.0000166667"), ("6000000000", "0.0000150000")])]],
    "AmazonRDS/storage": [[product(f"{PREFIX}RDS:GP2-Storage", "0.127", "D2", "GB-Mo"), product(f"{PREFIX}RDS:GP3-Storage", "0.127", "D3", "GB-Mo"),
                           product(f"{PREFIX}RDS:Multi-AZ-GP3-Storage", "0.254", "D4", "GB-Mo")]],
    "AmazonRDS/instances": [[product(f"{PREFIX}InstanceUsage:db.t3.micro", "0.018", "I1", instanceType="db.t3.micro"),
                             product(f"{PREFIX}ExtendedSupport:Yr1-Yr2:db.t3.micro", "0.1", "I2", instanceType="db.t3.micro"),
                             product(f"{PREFIX}InstanceUsage:db.r6g.large", "0.24", "I3", instanceType="db.r6g.large")]],
}


def stubbed_client(answers=ANSWERS):
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    for query, pages in zip(pricelist.QUERIES, answers.values()):
        filters = dict(query.filters, **({query.region_field: REGION} if query.region_field else {}))
        params = {"ServiceCode": query.service, "FormatVersion": "aws_v1",
                  "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in sorted(filters.items())]}
        for i, page in enumerate(pages):
            last = i == len(pages) - 1
            response = {"FormatVersion": "aws_v1", "PriceList": page, **({} if last else {"NextToken": f"token-{i + 1}"})}
            stub.add_response("get_products", response, {**params, **({"NextToken": f"token-{i}"} if i else {})})
    stub.activate()
    return client, stub


def test_every_query_is_answered_in_order():
    assert [q.service for q in pricelist.QUERIES] == [k.split("/")[0] for k in ANSWERS]
    keys = {k.split("/")[0] for q in pricelist.QUERIES for k in q.keys}
    assert keys == set(price_table.KEYS) | set(price_table.TABLES)


def test_prices_reads_every_page_into_a_price_file_that_cost_uses(tmp_path, capsys):
    client, stub = stubbed_client()
    out = tmp_path / "eu-west-1.yaml"
    assert main(["prices", "--region", REGION, "--out", str(out)], client_factory=lambda service: client) == 0
    stub.assert_no_pending_responses()  # both AmazonECS pages were asked for, with the NextToken
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "alarm_month" in warnings[0] and "different prices" in warnings[0]
    table = price_table.read(out, REGION)  # the bundled files' format, read by the same loader
    expected = {"fargate_vcpu_hour": 0.05, "fargate_gb_hour": 0.005, "fargate_spot_vcpu_hour": 0.015, "fargate_spot_gb_hour": 0.0015,
                "fargate_arm_vcpu_hour": 0.04, "fargate_arm_gb_hour": 0.004, "fargate_spot_arm_vcpu_hour": 0.012,
                "fargate_spot_arm_gb_hour": 0.0012,
                "alb_hour": 0.03, "nat_gateway_hour": 0.05, "nat_processed_gb": 0.05, "public_ipv4_hour": 0.005,
                "interface_endpoint_hour": 0.011, "data_transfer_out_gb": 0.09, "ecr_storage_gb_month": 0.1, "logs_ingestion_gb": 0.57,
                "logs_storage_gb_month": 0.03, "kms_key_month": 1.0, "route53_hosted_zone_month": 0.5, "route53_queries_million": 0.4,
                "secret_month": 0.4, "lambda_requests_million": 0.2, "lambda_gb_second": 0.0000166667}  # fmt: skip
    assert {k: p.usd for k, p in table.prices.items()} == pytest.approx(expected)
    assert table.get_in("rds_instance_month", "db.t3.micro") == pytest.approx(0.018 * 730)
    assert table.get_in("rds_instance_month", "db.r6g.large") == pytest.approx(0.24 * 730)
    assert table.get_in("rds_storage_gb_month", "gp3") == 0.127 and table.get("alarm_month") is None
    assert all(p.date == "2026-11-01" and "sku" in p.source for p in table.prices.values())
    assert f"--prices {out}" in captured.out

    config = tmp_path / "c.yaml"
    config.write_text(f"region: {REGION}\n")
    assert main(["cost", "--config", str(config), "--prices", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    estimate = json.loads(captured.out)
    fargate = next(x for x in estimate["lines"] if x["item"].startswith("Fargate tasks 1 vCPU / 2 GB on FARGATE"))
    assert fargate["unit_price"] == round(round(0.05 * 730.56, 2) + round(2 * 0.005 * 730.56, 2), 2)
    (alarms,) = [x for x in estimate["lines"] if x["item"] == "CloudWatch alarms"]
    assert alarms["monthly"] is None and estimate["unpriced"] == 1
    assert len(captured.err.strip().splitlines()) == 1 and "CloudWatch alarms" in captured.err


def test_printing_instead_of_writing_gives_the_same_format(capsys):
    client, stub = stubbed_client()
    assert main(["prices", "--region", REGION], client_factory=lambda service: client) == 0
    table = price_table.parse(__import__("yaml").safe_load(capsys.readouterr().out), "stdout")
    assert table.region == REGION and table.get("alb_hour") == 0.03


def test_the_price_list_is_asked_in_us_east_1_whatever_the_region():
    # The Query API has endpoints only in us-east-1, eu-central-1 and ap-south-1 (botocore's endpoint data).
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    assert "us-east-1" in EndpointResolver(create_loader().load_data("endpoints")).get_available_endpoints("api.pricing")
    args = argparse.Namespace(profile=None, region="ap-southeast-2", client_factory=None)
    client = clients(args, region="us-east-1")("pricing")
    assert client.meta.region_name == "us-east-1" and client.meta.endpoint_url == "https://api.pricing.us-east-1.amazonaws.com"


def test_an_unknown_region_is_refused_before_any_call(capsys):
    def no_client(service):
        raise AssertionError("no AWS client may be made for bad input")

    assert main(["prices", "--region", "eu-west-9"], client_factory=no_client) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --region: 'eu-west-9' is not a region")


def test_a_missing_region_flag_is_a_usage_error(capsys):
    assert main_exit(["prices"]) == 64


def main_exit(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_a_bad_out_path_is_one_line(tmp_path, capsys):
    client, _ = stubbed_client()
    (tmp_path / "file").write_text("x")
    assert main(["prices", "--region", REGION, "--out", str(tmp_path / "file" / "p.yaml")], client_factory=lambda s: client) == 1
    assert capsys.readouterr().err == f"error: --out: {tmp_path / 'file' / 'p.yaml'} cannot be written: {tmp_path / 'file'} is a file, not a directory\n"


@pytest.mark.parametrize(
    "change, key, words",
    [
        (lambda d: d["prices"]["alb_hour"].update(usd=-1), "--prices: prices.alb_hour", "at least 0"),
        (lambda d: d["prices"]["alb_hour"].pop("source"), "--prices: prices.alb_hour", "source"),
        (lambda d: d["prices"]["alb_hour"].update(date="last week"), "--prices: prices.alb_hour", "YYYY-MM-DD"),
        (lambda d: d["prices"].update(alb_hours=d["prices"]["alb_hour"]), "--prices: prices.alb_hours", "unknown price key"),
        (lambda d: d.update(currency="EUR"), "--prices: currency", "only USD"),
    ],
)
def test_a_bad_price_file_is_one_line_naming_the_key(tmp_path, capsys, change, key, words):
    import yaml

    data = yaml.safe_load(price_table.bundled("ap-southeast-2").to_yaml())
    data["prices"]["alb_hour"] = dict(data["prices"]["alb_hour"])
    change(data)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["cost", "--prices", str(path)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {key}:") and words in line, line
