"""Backup and maintenance windows are written as local times of database.time_zone and reach
RDS as UTC, at night on both sides of a daylight-saving change.

The facts asserted come from the time zone's definition, not from the conversion code: Sydney
keeps AEST (UTC+10:00) from the first Sunday of April and AEDT (UTC+11:00) from the first Sunday
of October; "night" is 00:00-06:00 on Sydney's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from enrollcfn.compiler import compile
from enrollcfn.config import Config
from enrollcfn.config.loading import parse
from enrollcfn.errors import ConfigErrors

SYDNEY = ZoneInfo("Australia/Sydney")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def compiled_windows(**database) -> tuple[str, str]:
    db = compile(Config(database=database)).stacks["database"].doc["Resources"]["Database"]["Properties"]
    return db["PreferredBackupWindow"], db["PreferredMaintenanceWindow"]


def test_the_time_zone_facts_this_test_relies_on():
    assert datetime(2026, 4, 4, 12, tzinfo=SYDNEY).utcoffset() == timedelta(hours=11)  # AEDT, Saturday before the change
    assert datetime(2026, 4, 6, 12, tzinfo=SYDNEY).utcoffset() == timedelta(hours=10)  # AEST, Monday after
    assert datetime(2026, 10, 3, 12, tzinfo=SYDNEY).utcoffset() == timedelta(hours=10)
    assert datetime(2026, 10, 5, 12, tzinfo=SYDNEY).utcoffset() == timedelta(hours=11)


def test_sydney_night_windows_reach_rds_as_utc_at_the_standard_offset():
    # 02:00-03:00 AEST is 16:00-17:00 UTC the day before; Monday 03:30 AEST is Sunday 17:30 UTC
    assert compiled_windows() == ("16:00-17:00", "sun:17:30-sun:18:30")


def _local(utc_day: datetime, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return utc_day.replace(hour=hours, minute=minutes, tzinfo=timezone.utc).astimezone(SYDNEY)


@pytest.mark.parametrize("utc_day", [datetime(2026, 4, 3), datetime(2026, 4, 6), datetime(2026, 10, 2), datetime(2026, 10, 5)],
                         ids=["before April change", "after April change", "before October change", "after October change"])
def test_the_backup_window_stays_in_the_sydney_night_across_daylight_saving(utc_day):
    backup, _ = compiled_windows()
    start, end = (_local(utc_day, t) for t in backup.split("-"))
    assert 0 <= start.hour < 6 and (end - start) == timedelta(hours=1), (start, end)


def test_the_maintenance_window_is_monday_night_in_sydney_in_winter_and_summer():
    _, maintenance = compiled_windows()
    day, hhmm = maintenance.split("-")[0].split(":", 1)
    for sunday in (datetime(2026, 7, 5), datetime(2026, 12, 6)):  # Sundays, AEST and AEDT
        assert DAYS[sunday.weekday()] == day
        local = _local(sunday, hhmm)
        assert local.strftime("%a") == "Mon" and 0 <= local.hour < 6, local


def test_utc_keeps_the_windows_as_written():
    assert compiled_windows(time_zone="UTC", backup_window="03:00-04:00", maintenance_window="mon:04:00-mon:05:00") == (
        "03:00-04:00", "mon:04:00-mon:05:00")


def test_a_window_that_crosses_the_week_boundary_in_utc():
    # Monday 00:30 in Sydney (UTC+10) is Sunday 14:30 UTC: the day moves back across the week's start
    assert compiled_windows(maintenance_window="mon:00:30-mon:01:30")[1] == "sun:14:30-sun:15:30"


@pytest.mark.parametrize("database, key, words", [
    ({"time_zone": "Mars/Base"}, "database.time_zone", "is not an IANA time zone"),
    ({"time_zone": "AEST"}, "database.time_zone", "is not an IANA time zone"),
    ({"backup_window": "03:00-04:00"}, "database.backup_window", "overlaps the maintenance window"),
    ({"backup_window": "03:00-03:15"}, "database.backup_window", "30 minutes"),
    ({"maintenance_window": "tue:03:00-tue:03:10"}, "database.maintenance_window", "30 minutes"),
])
def test_bad_zones_and_windows_are_one_line_naming_the_key(database, key, words):
    with pytest.raises(ConfigErrors) as caught:
        parse({"database": database})
    [problem] = caught.value.problems
    assert problem.key == key and words in problem.message
