"""The warnings a deploy goes ahead with: a production environment whose alarms and budget notify
no one is named, with the config key that fixes it, in `plan` and `deploy` output."""

from __future__ import annotations

import pytest

from enrollcfn.config import Config, load
from enrollcfn.preflight import warnings

TOPIC = "arn:aws:sns:ap-southeast-2:123456789012:ops-pager"


def test_production_without_a_subscriber_is_warned_naming_alarm_email():
    (warning,) = warnings(Config())
    assert warning.key == "monitoring.alarm_email"
    assert "monitoring.alarm_topic_arn" in warning.message  # the other way to be heard


@pytest.mark.parametrize("monitoring", [{"alarm_email": "ops@example.com"}, {"alarm_topic_arn": TOPIC}])
def test_either_subscriber_silences_it(monitoring):
    assert warnings(Config(monitoring=monitoring)) == []


def test_a_non_production_environment_is_not_warned():
    assert warnings(load("config/dev.yaml")) == []
    # production is declared, not guessed: an environment of another name is production by default
    assert [w.key for w in warnings(Config(environment="staging"))] == ["monitoring.alarm_email"]
