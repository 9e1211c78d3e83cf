"""RDS MySQL: engine version, size, storage, backups and the maintenance window.

Limits are RDS's for MySQL (Amazon RDS User Guide: "Amazon RDS DB instance storage", "Backup
window", "Maintenance window"; CreateDBInstance parameters)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from enrollcfn.config._base import Bool, Int, Section, Text, check, int_range, rules
from enrollcfn.config.regions import mysql_engine_versions, mysql_reserved_words, newest

_HHMM = r"([01]\d|2[0-3]):([0-5]\d)"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = "(" + "|".join(_DAYS) + ")"
WEEK = 7 * 24 * 60
# The MySQL major versions RDS offers for new instances (8.0 bills Extended Support after
# 2026-07-31; "MySQL on Amazon RDS versions", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html).
MAJOR_VERSIONS = ("8.0", "8.4")
_zones = cache(available_timezones)  # scans the tzdata files; the same answer every time


def _not_reserved(value: str) -> str:
    """RDS refuses a database name or master user that MySQL reserves."""
    if value.lower() in mysql_reserved_words():
        raise PydanticCustomError("bad_value", "{message}", {"message": f"{value!r} is a word MySQL or RDS reserves; choose another name"})
    return value


def _not_admin(value: str) -> str:
    """Security Hub RDS.25: the master user is not the engine's default."""
    if value.lower() == "admin":
        raise PydanticCustomError("bad_value", "{message}", {"message": "'admin' is the engine's default master user (Security Hub RDS.25); choose another name"})
    return value


# DBName (MySQL): 1-64 letters, digits or '_', starting with a letter, not a reserved word.
DbName = Annotated[Text, check(r"[A-Za-z][A-Za-z0-9_]{0,63}", "is not a MySQL database name: use 1-64 letters, digits or '_', starting with a letter"), AfterValidator(_not_reserved)]
# MasterUsername (MySQL): 1-16 letters, digits or '_', starting with a letter, not a reserved word.
UserName = Annotated[
    Text,
    check(r"[A-Za-z][A-Za-z0-9_]{0,15}", "is not an RDS MySQL user name: use 1-16 letters, digits or '_', starting with a letter"),
    AfterValidator(_not_reserved),
    AfterValidator(_not_admin),
]


class Database(Section):
    """RDS MySQL."""

    # fix: the seed's 8.0.35 is retired and 8.0 bills Extended Support; 8.4 is the LTS line.
    # The major version alone by default: RDS creates the instance at that major's default minor
    # and AutoMinorVersionUpgrade moves it on, so the template neither pins a minor RDS later
    # retires (CreateDBInstance then fails for new environments and catalog launches) nor drifts
    # after each automatic upgrade ("If you specify only a major version, Amazon RDS updates the
    # DB instance to the default minor version", ModifyDBInstance EngineVersion, RDS API Reference:
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html; the CDK's
    # MysqlEngineVersion.VER_8_0 is "only a major version, without a specific minor version":
    # https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_rds.MysqlEngineVersion.html).
    # A full version such as 8.4.7 pins that minor.
    engine_version: Text = "8.4"
    instance_class: Annotated[Text, check(r"db\.[a-z0-9-]+\.[a-z0-9]+", "is not an RDS instance class such as db.t3.micro")] = "db.t3.micro"  # seed
    # RDS for MySQL gp2/gp3 storage: 20-65,536 GiB (64 TiB).
    allocated_storage_gb: Annotated[Int, int_range(20, 65536)] = 20  # seed
    max_allocated_storage_gb: Annotated[Int, int_range(20, 65536)] = 100  # fix: the seed had no storage autoscaling
    # io1/io2 need a provisioned IOPS figure, which this config does not carry: refused with a
    # message saying so (see _storage_type).
    storage_type: Text = "gp3"  # fix: seed gp2; gp3 is cheaper per GB with a 3000 IOPS baseline
    multi_az: Bool = False  # seed (turn on for AZ-independent production)
    backup_retention_days: Annotated[Int, int_range(1, 35)] = 7  # seed; RDS keeps automated backups 1-35 days (0 turns them off)
    # fix: the seed's windows were UTC strings, 03:00 UTC being 13:00 or 14:00 in Sydney, the
    # middle of the working day. The windows are local times in this IANA zone, compiled to the
    # UTC strings RDS takes (see utc_windows); "UTC" keeps them as written.
    time_zone: Text = "Australia/Sydney"
    backup_window: Annotated[Text, check(f"{_HHMM}-{_HHMM}", "is not a backup window: use hh:mm-hh:mm (local time in database.time_zone), such as 02:00-03:00")] = "02:00-03:00"
    maintenance_window: Annotated[
        Text, check(f"{_DAY}:{_HHMM}-{_DAY}:{_HHMM}", "is not a maintenance window: use ddd:hh:mm-ddd:hh:mm (local time in database.time_zone), such as mon:03:30-mon:04:30")
    ] = "mon:03:30-mon:04:30"
    name: DbName = "collage"  # seed
    master_username: UserName = "collage_admin"  # fix: seed "admin" is the engine default (RDS.25)
    # fix: the seed's application connected as the master user, whose password RDS rotates every
    # 7 days while running tasks keep the old one. The application's own user, created from its
    # own secret by a one-off task before the service starts, may only use database.name ("Managed
    # rotation for AWS Secrets Manager secrets" recommends a least-privilege user over the master).
    app_username: UserName = "collage_app"
    # Left out, both follow the root's `production` (see Config._production_defaults): on in
    # production, off elsewhere, so a development environment can be destroyed and leaves nothing.
    # RDS refuses DeleteDBInstance while DeletionProtection is on, so a stack deletion fails at
    # the instance (fix: seed off, RDS.8).
    deletion_protection: Bool | None = None
    # True: DeletionPolicy and UpdateReplacePolicy Snapshot, a final snapshot when the instance is
    # deleted or replaced (one that stays, and is billed, until it is deleted by hand); false: Delete.
    final_snapshot: Bool | None = None
    # The general query log holds every statement with its literal values (student data included),
    # and exported to CloudWatch Logs it is billed as ingestion. Off: general_log=0 and no
    # `general` export; the audit plugin still records logins, DDL and grants (RDS.9). True turns
    # both on ("Publishing MySQL logs to Amazon CloudWatch Logs": the general log needs
    # general_log = 1, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.MySQLDB.PublishtoCloudWatchLogs.html).
    general_log: Bool = False
    # The port MySQL listens on (RDS MySQL: 1150-65535). seed: 3306. compliance: control-tower
    # needs another (CT.RDS.PR.20); the security groups and DB_PORT follow it.
    port: Annotated[Int, int_range(1150, 65535)] = 3306

    @field_validator("engine_version")
    @classmethod
    def _engine(cls, value: str) -> str:
        """A major version (8.0 or 8.4), or a full MySQL version RDS still offers and cfn-lint knows."""
        if value in MAJOR_VERSIONS:
            return value
        versions = mysql_engine_versions()
        if value not in versions:
            rules([("database.engine_version", f"MySQL {value[:40]!r} is not offered by RDS (or not known to cfn-lint); use a major version "
                    f"({' or '.join(MAJOR_VERSIONS)}; RDS picks the minor) or a full 8.4.x such as {', '.join(newest(versions))}")])
        return value

    @property
    def major_version(self) -> str:
        """`8.4` for `8.4` or `8.4.7`: the option group's MajorEngineVersion and the parameter group family's number."""
        return ".".join(self.engine_version.split(".")[:2])

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        """An IANA time zone name (the tzdata package's list)."""
        if value not in _zones():
            rules([("database.time_zone", f"{value[:40]!r} is not an IANA time zone; use a name such as Australia/Sydney, Europe/Dublin or UTC")])
        return value

    @property
    def utc_windows(self) -> tuple[str, str]:
        """(PreferredBackupWindow, PreferredMaintenanceWindow) in UTC, as RDS takes them.

        RDS windows are fixed in UTC, so in a zone with daylight saving they move by an hour on
        the local clock twice a year. They are converted at the zone's standard (smaller) offset
        of the year, so a window written for the night runs at that time in winter and one hour
        later in summer: Sydney 02:00-03:00 is 16:00-17:00 UTC, 02:00 AEST or 03:00 AEDT."""
        shift = _standard_offset(self.time_zone)
        backup = "-".join(_clock(_minutes(t) - shift) for t in self.backup_window.split("-"))
        start, end = _weekly(self.maintenance_window)
        maintenance = f"{_day_clock(start - shift)}-{_day_clock(end - shift)}"
        return backup, maintenance

    @field_validator("storage_type")
    @classmethod
    def _storage_type(cls, value: str) -> str:
        """gp2 or gp3; io1/io2 would need IOPS, which the config has no key for."""
        if value in ("io1", "io2"):
            rules([("database.storage_type", f"{value} needs provisioned IOPS, which this config does not set; use gp3 (3000 IOPS baseline, more on request) or gp2")])
        if value not in ("gp2", "gp3"):
            rules([("database.storage_type", f"must be gp2 or gp3, got {value[:40]!r}")])
        return value

    @model_validator(mode="after")
    def _windows_and_storage(self) -> Database:
        """Storage autoscaling above the allocation; windows of 30 minutes or more that do not overlap."""
        out = []
        least = autoscaling_floor(self.allocated_storage_gb)
        if self.max_allocated_storage_gb < least:
            out.append(("database.max_allocated_storage_gb", f"must be at least 10 % above allocated_storage_gb ({self.allocated_storage_gb}), "
                        f"so at least {least} (RDS storage autoscaling), and at most 65536; got {self.max_allocated_storage_gb}"))
        if self.app_username.lower() == self.master_username.lower():
            out.append(("database.app_username", f"must differ from master_username ({self.master_username}): the application gets its own user"))
        backup_utc, maintenance_utc = self.utc_windows
        backup = _daily(backup_utc)
        maintenance = _weekly(maintenance_utc)
        # RDS: "The backup window must be at least 30 minutes" and "must not overlap with the
        # weekly maintenance window"; the maintenance window is also at least 30 minutes.
        if _length(backup[0]) < 30:
            out.append(("database.backup_window", f"{self.backup_window} is shorter than the 30 minutes RDS requires"))
        if _length(maintenance) < 30:
            out.append(("database.maintenance_window", f"{self.maintenance_window} is shorter than the 30 minutes RDS requires"))
        elif any(_overlap(day, maintenance) for day in backup):
            out.append(("database.backup_window", f"{self.backup_window} overlaps the maintenance window {self.maintenance_window}; RDS requires them apart"))
        rules(out)
        return self


def autoscaling_floor(allocated: int) -> int:
    """The least MaxAllocatedStorage RDS takes for `allocated` GiB: "The maximum storage threshold
    must be at least 10% more than the current allocated storage" (Amazon RDS User Guide,
    "Managing capacity automatically with Amazon RDS storage autoscaling", Limitations)."""
    return -(-allocated * 11 // 10)  # ceil(allocated * 1.1) in integers


def _standard_offset(zone: str) -> int:
    """The smaller of the zone's UTC offsets in January and July, in minutes (no DST there)."""
    tz = ZoneInfo(zone)  # one of _zones(): a field that failed never reaches the model's checks
    year = datetime.now().year
    offsets = (datetime(year, month, 1, tzinfo=tz).utcoffset() or timedelta(0) for month in (1, 7))
    return int(min(offsets).total_seconds() // 60)


def _clock(minutes: int) -> str:
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_clock(minutes: int) -> str:
    minutes %= WEEK
    return f"{_DAYS[minutes // 1440]}:{_clock(minutes)}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _daily(window: str) -> list[tuple[int, int]]:
    """The backup window on each day of the week, as (start, end) minutes from Monday 00:00."""
    start, end = (_minutes(t) for t in window.split("-"))
    if end <= start:
        end += 24 * 60  # a window across midnight, such as 23:30-00:30
    return [(start + d * 1440, end + d * 1440) for d in range(7)]


def _weekly(window: str) -> tuple[int, int]:
    """The maintenance window as (start, end) minutes from Monday 00:00."""
    m = re.fullmatch(f"{_DAY}:{_HHMM}-{_DAY}:{_HHMM}", window)
    assert m is not None  # the field's pattern passed before this runs
    start = _DAYS.index(m[1]) * 1440 + int(m[2]) * 60 + int(m[3])
    end = _DAYS.index(m[4]) * 1440 + int(m[5]) * 60 + int(m[6])
    return (start, end if end > start else end + WEEK)


def _length(span: tuple[int, int]) -> int:
    return span[1] - span[0]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Do the spans overlap anywhere in the repeating week?"""
    return any(a[0] < b[1] + shift and b[0] + shift < a[1] for shift in (-WEEK, 0, WEEK))
