"""`enrollcfn drift`: drift detection on the root and every nested stack.

DetectStackDrift runs per stack (it does not descend into nested stacks), so each is started,
then polled with DescribeStackDriftDetectionStatus, and the drifted resources are read with
DescribeStackResourceDrifts, property by property (expected vs actual).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from enrollcfn.errors import EnrollcfnError
from enrollcfn.operations import Deployed

POLL = 5.0
DRIFTED = ["MODIFIED", "DELETED"]  # StackResourceDriftStatus values worth reporting


def detect(cfn, dep: Deployed, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic, timeout: float = 900) -> list[dict]:
    """Per stack: {stack, logical_id, status, resources: [{logical_id, type, status, properties}]}."""
    targets = [(dep.name, "", dep.stack["StackId"])] + [
        (s["PhysicalResourceId"], logical, s["PhysicalResourceId"]) for logical, s in sorted(dep.nested.items())]
    started = {stack_id: cfn.detect_stack_drift(StackName=stack_id)["StackDriftDetectionId"] for _, _, stack_id in targets}
    deadline = clock() + timeout
    results = []
    for name, logical, stack_id in targets:
        state = _wait(cfn, started[stack_id], sleep, clock, deadline, name)
        results.append({"stack": _label(name), "logical_id": logical, "status": state.get("StackDriftStatus", "UNKNOWN"),
                        "reason": state.get("DetectionStatusReason", "") if state["DetectionStatus"] == "DETECTION_FAILED" else "",
                        "resources": _drifts(cfn, stack_id)})
    return results


def drifted(results: list[dict]) -> bool:
    """True when any stack drifted."""
    return any(r["status"] == "DRIFTED" or r["resources"] for r in results)


def _wait(cfn, detection_id: str, sleep, clock, deadline: float, name: str) -> dict:
    while True:
        state = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
        if state["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            return state
        if clock() >= deadline:
            raise EnrollcfnError(name, "drift detection still running; read it later with "
                                 f"`aws cloudformation describe-stack-drift-detection-status --stack-drift-detection-id {detection_id}`")
        sleep(POLL)


def _drifts(cfn, stack_id: str) -> list[dict]:
    rows, token = [], None
    while True:  # DescribeStackResourceDrifts has no botocore paginator: follow NextToken
        kwargs = {"StackName": stack_id, "StackResourceDriftStatusFilters": DRIFTED, **({"NextToken": token} if token else {})}
        page = cfn.describe_stack_resource_drifts(**kwargs)
        for d in page.get("StackResourceDrifts", []):
            rows.append({"logical_id": d["LogicalResourceId"], "type": d["ResourceType"], "status": d["StackResourceDriftStatus"],
                         "properties": [{"path": p["PropertyPath"], "expected": p.get("ExpectedValue"), "actual": p.get("ActualValue"),
                                         "difference": p.get("DifferenceType", "")} for p in d.get("PropertyDifferences", [])]})
        token = page.get("NextToken")
        if not token:
            return rows


def _label(name: str) -> str:
    return name.split("/")[1] if name.startswith("arn:") else name


def render(results: list[dict]) -> str:
    """Per stack, resource and property: `~ Stack/Resource.Path: expected -> actual`."""
    lines = []
    for r in results:
        lines.append(f"{r['logical_id'] or 'root':<18} {r['stack']:<44} {r['status']}{'  ' + r['reason'] if r['reason'] else ''}")
        for res in r["resources"]:
            if res["status"] == "DELETED":
                lines.append(f"  - {res['logical_id']} ({res['type']}): deleted outside CloudFormation")
            for p in res["properties"]:
                lines.append(f"  ~ {res['logical_id']}{p['path'].replace('/', '.')}: {p['expected']} -> {p['actual']} ({p['difference']})")
    return "\n".join(lines)
