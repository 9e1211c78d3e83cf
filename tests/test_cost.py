"""The offline estimate: the seed's fixed lines at the seed's prices for a seed-equivalent config,
the lines where these templates differ from the seed, build/cost.json, and the command line."""

from __future__ import annotations

import json

import pytest

from enrollcfn import cost
from enrollcfn.cli import main
from enrollcfn.compiler import BUILD_DIR, compile
from enrollcfn.config import Config
from enrollcfn.errors import CostError


def seed_equivalent() -> Config:
    """Single NAT, single-AZ db.t3.micro with 20 GB gp2, two 1 vCPU / 2 GB tasks on FARGATE."""
    return Config(
        database={"storage_type": "gp2", "multi_az": False, "instance_class": "db.t3.micro", "allocated_storage_gb": 20},
        service={"cpu": 1024, "memory": 2048, "min_tasks": 2},
        network={"nat_gateways": "single"},
    )


@pytest.fixture(scope="module")
def seed_estimate():
    cfg = seed_equivalent()
    return compile(cfg).cost


def line(est: cost.Estimate, start: str) -> cost.Line:
    (found,) = [x for x in est.lines if x.item.startswith(start)]
    return found


def test_seed_equivalent_config_reproduces_the_seeds_fixed_lines(seed_estimate):
    assert line(seed_estimate, "Fargate tasks 1 vCPU / 2 GB on FARGATE").monthly == 86.62
    assert line(seed_estimate, "Fargate tasks").unit_price == 43.31  # the seed's "$43.31/additional task"
    instance, storage = line(seed_estimate, "RDS db.t3.micro single-AZ"), line(seed_estimate, "RDS storage gp2")
    assert (instance.monthly, storage.monthly, round(instance.monthly + storage.monthly, 2)) == (13.87, 2.54, 16.41)
    assert line(seed_estimate, "Application Load Balancer").monthly == 17.80
    assert line(seed_estimate, "NAT gateway").monthly == 35.07
    assert seed_estimate.subtotals()["Database"] == 16.41


def test_lines_that_differ_from_the_seed_say_so(seed_estimate):
    assert "seed's 8" in line(seed_estimate, "Secrets Manager").note
    ipv4 = line(seed_estimate, "Public IPv4")
    assert ipv4.quantity == 3 and "left out" in ipv4.note  # the NAT's EIP and one per ALB zone


def test_per_az_nat_and_multi_az_database_are_priced_twice():
    cfg = Config(network={"nat_gateways": "per_az"}, database={"multi_az": True})
    est = compile(cfg).cost
    assert line(est, "NAT gateway").quantity == 2
    assert line(est, "RDS db.t3.micro Multi-AZ").monthly == 27.74
    assert line(est, "RDS storage").quantity == 40


def test_spot_weight_prices_tasks_above_the_base_on_spot():
    assert cost._split(6, [{"CapacityProvider": "FARGATE", "Base": 2, "Weight": 1}, {"CapacityProvider": "FARGATE_SPOT", "Weight": 3}]) == {
        "FARGATE": 3,
        "FARGATE_SPOT": 3,
    }
    assert cost._split(2, [{"CapacityProvider": "FARGATE", "Base": 2, "Weight": 1}, {"CapacityProvider": "FARGATE_SPOT", "Weight": 3}]) == {
        "FARGATE": 2,
        "FARGATE_SPOT": 0,
    }


def test_groups_follow_the_seeds_table_and_sum_to_the_total(seed_estimate):
    subtotals = seed_estimate.subtotals()
    assert list(subtotals) == list(cost.GROUPS)
    assert round(sum(subtotals.values()), 2) == seed_estimate.total


def test_an_instance_class_without_a_price_is_an_unpriced_line_not_an_error():
    cfg = Config(database={"instance_class": "db.r6g.large"}, monitoring={"monthly_budget_usd": 100.0})
    built = compile(cfg)
    (unpriced,) = built.cost.unpriced
    assert unpriced.item == "RDS db.r6g.large single-AZ" and unpriced.unit_price is None and unpriced.monthly is None
    (shown,) = [row for row in cost.render(built.cost).splitlines() if "RDS db.r6g.large single-AZ" in row]
    assert shown.split()[-1] == "unpriced" and "x unpriced" in shown
    ((key, message),) = built.warnings
    assert key == "cost" and "db.r6g.large" in message


def test_usage_overrides_replace_the_seed_assumptions(tmp_path):
    f = tmp_path / "usage.yaml"
    f.write_text("data_transfer_out_gb: 100\n")
    assert cost.load_usage(f)["data_transfer_out_gb"] == 100
    f.write_text("egress: 1\n")
    with pytest.raises(CostError, match="usage.egress"):
        cost.load_usage(f)


def test_build_cost_json_is_the_default_configs_estimate(compiled):
    fresh = compiled.cost.to_dict()
    assert json.loads((BUILD_DIR / "cost.json").read_text(encoding="utf-8")) == fresh, "run `make templates`"


def test_cost_command_prints_json_lines_and_the_total(capsys):
    assert main(["cost", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == round(sum(x["monthly"] for x in data["lines"]), 2)
    assert main(["cost"]) == 0
    assert "Total" in capsys.readouterr().out


def test_cost_command_reports_a_bad_usage_file_on_one_line(tmp_path, capsys):
    f = tmp_path / "usage.yaml"
    f.write_text("egress: 1\n")
    assert main(["cost", "--usage", str(f)]) == 1
    assert capsys.readouterr().err.startswith("error: usage.egress:")
