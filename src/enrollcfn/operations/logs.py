"""`enrollcfn logs`: the service's (or the redeploy function's) CloudWatch log events.

Read with filter_log_events over every page, newest last, each line prefixed with the task id
(the awslogs driver names streams `prefix/container/task-id`). `follow` polls for new events
until Ctrl-C.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from enrollcfn.errors import EnrollcfnError, UsageError
from enrollcfn.operations import Deployed

# Which nested stack owns the log group of each source.
SOURCES = {"service": "ClusterStack", "redeploy": "RedeployStack"}
FOLLOW_POLL = 2.0  # seconds between polls; FilterLogEvents allows 25 requests/s per account (CloudWatch Logs quotas)
_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_ms(text: str, now: Callable[[], float] = time.time) -> int:
    """`--since 90s|15m|1h|2d` as epoch milliseconds; EnrollcfnError for anything else."""
    m = _SINCE.match(text.strip())
    if not m or int(m.group(1)) == 0:
        raise UsageError("--since", f"{text!r} is not a duration such as 30s, 15m, 1h or 2d")
    return int((now() - int(m.group(1)) * _UNIT[m.group(2)]) * 1000)


def log_group(cfn, dep: Deployed, source: str) -> str:
    """The log group of `source` ("service" or "redeploy"), read from its stack's resources."""
    groups = dep.resources(cfn, SOURCES[source], "AWS::Logs::LogGroup")
    if not groups:
        raise EnrollcfnError(dep.name, f"no log group found for {source} in {SOURCES[source]}; deploy the current templates first")
    return groups[0]


def events(logs, group: str, start_ms: int, text: str | None = None, stream: str | None = None) -> list[dict]:
    """Every event of `group` since `start_ms` (all pages), oldest first; `text` is matched as
    a literal term, `stream` narrows to one task's stream."""
    kwargs = {"logGroupName": group, "startTime": start_ms}
    if text:
        kwargs["filterPattern"] = '"' + text.replace('"', '\\"') + '"'  # quoted: a literal, not pattern syntax
    if stream:
        kwargs["logStreamNames"] = [stream]
    found = []
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        found += page.get("events", [])
    return sorted(found, key=lambda e: (e["timestamp"], e.get("eventId", "")))


def follow(logs, group: str, start_ms: int, sleep: Callable[[float], None] = time.sleep, **kwargs) -> Iterator[dict]:
    """Events as they arrive, each once, until the caller stops (Ctrl-C)."""
    seen: set[str] = set()
    while True:
        fresh = [e for e in events(logs, group, start_ms, **kwargs) if e.get("eventId") not in seen]
        for event in fresh:
            seen.add(event.get("eventId"))
            start_ms = max(start_ms, event["timestamp"])  # the same millisecond again: dedup by eventId
            yield event
        sleep(FOLLOW_POLL)


def task_stream(task_id: str | None, container: str) -> str | None:
    """The awslogs stream of one task (`ecs/<container>/<task id>`: the task definition's
    awslogs-stream-prefix is `ecs`), or None for all."""
    return f"ecs/{container}/{task_id}" if task_id else None


def line(event: dict) -> str:
    """One event as `HH:MM:SS [task-id] message`."""
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    stream = event.get("logStreamName", "")
    return f"{stamp} [{stream.rsplit('/', 1)[-1][:8]}] {event.get('message', '').rstrip()}"
