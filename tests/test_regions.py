"""Any region: each of the four bundled-price regions compiles and lints clean for its own region,
its zones, its ALB log-delivery principal and its ARNs follow the region; a region without
bundled prices builds with unpriced lines and one warning; a region whose CloudFormation lacks a
resource type the stacks use is one error line naming the key."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from enrollcfn import cost, price_table
from enrollcfn.cli import main
from enrollcfn.compiler import LINT_CONFIG, checked, compile
from enrollcfn.config import Config
from enrollcfn.errors import CompileError, ConfigErrors
from enrollcfn.lint import lint

BUNDLED = ("ap-southeast-2", "us-east-1", "us-west-2", "eu-west-1")

# Elastic Load Balancing user guide, "Enable access logs", step 2: regions available before August
# 2022 deliver the logs from a regional ELB account (the same ids as the AWS CDK's region-info
# fact table ELBV2_ACCOUNTS); newer regions use the log-delivery service principal.
DOCUMENTED_ELB_ACCOUNTS = {"us-east-1": "127311923021", "us-west-2": "797873946194", "eu-west-1": "156460612806", "ap-southeast-2": "783225319266"}
LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


def delivery_principal(doc: dict) -> object:
    policy = doc["Resources"]["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s.get("Sid") == "AllowLoadBalancerLogDelivery"]
    return statement["Principal"]


@pytest.fixture(scope="module", params=BUNDLED)
def regional(request):
    """One config per region, compiled and linted (once) for that region."""
    cfg = Config(region=request.param)
    return request.param, checked(cfg, cache=False)


def test_each_region_builds_lint_clean_for_its_own_region(regional):
    region, build = regional
    assert build.findings == ()  # checked() linted every template with cfn-lint --regions <region>
    assert build.region == region and build.warnings == ()


def test_zones_default_to_two_distinct_zones_of_the_region(regional):
    region, build = regional
    subnets = [r["Properties"] for r in build["network"].doc["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    zones = {s["AvailabilityZone"] for s in subnets}
    # An AZ name is the region's name and one letter (EC2 User Guide, "Availability Zones").
    assert len(zones) == 2 and all(z[:-1] == region and z[-1].isalpha() for z in zones)


def test_access_logs_are_granted_to_the_documented_elb_account(regional):
    region, build = regional
    principal = delivery_principal(build["load_balancer"].doc)
    assert principal == {"AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{DOCUMENTED_ELB_ACCOUNTS[region]}:root"}}


def test_no_template_writes_the_aws_partition_literally(regional):
    _, build = regional
    for name, stack in build.stacks.items():
        assert "arn:aws:" not in stack.text, name


def test_each_bundled_region_is_priced_in_full_with_a_source_and_date_per_figure(regional):
    region, build = regional
    assert build.cost.unpriced == () and build.cost.total > 100
    table = price_table.bundled(region)
    figures = [*table.prices.values(), *(p for rows in table.tables.values() for p in rows.values())]
    assert len(table.prices) == len(price_table.KEYS) and all(p.source.strip() and len(p.date) == 10 for p in figures)
    # The root's budget default is this region's estimate, rounded up.
    assert build["root"].doc["Parameters"]["MonthlyBudgetUsd"]["Default"] == math.ceil(build.cost.total)


def test_regions_opened_after_august_2022_grant_the_log_delivery_service():
    # eu-central-2 opened in November 2022 and has no AWS::Budgets::Budget in CloudFormation.
    cfg = Config(region="eu-central-2", monitoring={"budget": False})
    assert delivery_principal(compile(cfg)["load_balancer"].doc) == {"Service": LOG_DELIVERY}


def test_given_zones_are_still_checked_against_the_region():
    with pytest.raises(ConfigErrors) as err:
        Config(region="us-west-2", network={"availability_zones": ["us-west-2a", "us-east-1b"]})
    assert [p.key for p in err.value.problems] == ["network.availability_zones[1]"]
    assert Config(region="us-west-2", network={"availability_zones": ["us-west-2c", "us-west-2d"]}).network.availability_zones == ("us-west-2c", "us-west-2d")


def test_a_region_without_bundled_prices_builds_with_one_warning(tmp_path, capsys):
    region = "us-east-2"  # Budgets is in its CloudFormation; no bundled price file
    assert price_table.bundled(region) is None
    config = tmp_path / "c.yaml"
    config.write_text(f"region: {region}\n")
    assert main(["build", "--config", str(config), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    estimate = json.loads((tmp_path / "out" / "cost.json").read_text())
    assert len(err) == 1 and err[0].startswith(f"warning: cost: {len(estimate['lines'])} cost line(s) unpriced in {region}")
    assert estimate["lines"] and all(x["monthly"] is None and x["unit_price"] is None for x in estimate["lines"])
    assert estimate["unpriced"] == len(estimate["lines"]) and estimate["total"] == 0
    assert main(["cost", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "x unpriced  unpriced" in out.out and len(out.err.strip().splitlines()) == 1
    # The budget default: no lower than the same templates priced at any bundled file's figures.
    root = yaml.safe_load((tmp_path / "out" / "root.yaml").read_text().replace("!", ""))
    budget = root["Parameters"]["MonthlyBudgetUsd"]["Default"]
    docs = {n: s.doc for n, s in compile(Config(region=region)).stacks.items() if n not in ("root", "catalog")}
    floors = [cost.estimate(docs, region, prices=price_table.bundled(r)).total for r in BUNDLED]
    assert budget >= math.ceil(max(floors)) and budget < 2 * max(floors)


def test_a_region_whose_cloudformation_lacks_a_type_is_one_line_naming_the_key(tmp_path, capsys):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    assert "AWS::Budgets::Budget" not in PROVIDER_SCHEMA_MANAGER.get_resource_types("eu-north-1")  # cfn-lint's own view
    config = tmp_path / "c.yaml"
    config.write_text("region: eu-north-1\n")
    assert main(["build", "--config", str(config), "--out", str(tmp_path / "out")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: region: CloudFormation in eu-north-1 offers no AWS::Budgets::Budget") and "monitoring.budget: false" in line
    assert not (tmp_path / "out").exists()
    with pytest.raises(CompileError) as err:
        compile(Config(region="eu-north-1"))
    assert err.value.key == "region"


def test_leaving_the_budget_out_builds_there_and_drops_its_parameter():
    build = compile(Config(region="eu-north-1", monitoring={"budget": False}))
    assert "AWS::Budgets::Budget" not in build["monitoring"].resource_types
    assert "MonthlyBudgetUsd" not in build["root"].doc.get("Parameters", {})
    assert not lint({"monitoring": build["monitoring"].text}, ["eu-north-1"], LINT_CONFIG, cache=False)
    with_budget = compile(Config(region="us-east-1"))["monitoring"].text  # the same stack with the budget
    assert any("E3006" in str(f) for f in lint({"monitoring": with_budget}, ["eu-north-1"], LINT_CONFIG, cache=False))


def test_prices_of_another_region_are_refused_on_one_line(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(price_table.bundled("us-east-1").to_yaml())
    assert main(["cost", "--prices", str(path)]) == 1  # the default config is ap-southeast-2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --prices:") and "us-east-1" in line and "ap-southeast-2" in line


def test_every_known_region_compiles_and_only_a_missing_type_stops_one():
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    from enrollcfn.config.regions import known_regions

    for region in known_regions():
        try:
            build = compile(Config(region=region))
        except CompileError as err:
            assert err.key == "region" and "AWS::Budgets::Budget" not in PROVIDER_SCHEMA_MANAGER.get_resource_types(region), region
            build = compile(Config(region=region, monitoring={"budget": False}))
        principal = delivery_principal(build["load_balancer"].doc)
        if region in ELB_REGIONS_BEFORE_AUGUST_2022:
            assert list(principal) == ["AWS"] and ":iam::" in principal["AWS"]["Fn::Sub"], region
        else:
            assert principal == {"Service": LOG_DELIVERY}, region


# The 22 regions the ELB user guide lists with an account id (opened before August 2022).
ELB_REGIONS_BEFORE_AUGUST_2022 = {
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1",
}  # fmt: skip
