"""Reading deployed stacks, shared by deploy and publish.

The bootstrap stack of a root stack `NAME` is `NAME-bootstrap`; it owns the artifact bucket and
the ECR repository. Its catalog stack is `NAME-catalog`; it owns the Service Catalog launch role. Its delivery stack
`NAME-delivery` owns the roles GitHub Actions assumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from enrollcfn.errors import EnrollcfnError

THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}


def bootstrap_stack_name(stack: str) -> str:
    """The standalone bootstrap stack that belongs to root stack `stack`."""
    return f"{stack}-bootstrap"


def delivery_stack_name(stack: str) -> str:
    """The standalone delivery stack (GitHub OIDC provider and roles) of root stack `stack`."""
    return f"{stack}-delivery"


def stack_resources(cfn, stack_id: str, type_: str | None = None):
    """The stack's resources (every page) that exist, of one type when `type_` is given."""
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for r in page["StackResourceSummaries"]:
            if r.get("PhysicalResourceId") and type_ in (None, r["ResourceType"]):
                yield r


def nested_stacks(cfn, stack_id: str):
    """The stack's own nested stacks (their AWS::CloudFormation::Stack resources) that exist."""
    return stack_resources(cfn, stack_id, "AWS::CloudFormation::Stack")


def catalog_stack_name(stack: str) -> str:
    """The standalone catalog stack (the Service Catalog launch role) of root stack `stack`."""
    return f"{stack}-catalog"


def calm(call: Callable[[], dict], sleep: Callable[[float], None] = time.sleep, attempts: int = 6) -> dict:
    """Run a read-only call, backing off on throttling beyond botocore's own retries."""
    from botocore.exceptions import ClientError

    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in THROTTLED or attempt == attempts - 1:
                raise
            sleep(min(2.0 * 2**attempt, 20.0))
    raise AssertionError("unreachable")


def describe(cfn, stack_name: str, sleep: Callable[[float], None] = time.sleep) -> dict | None:
    """The stack's description, or None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        stacks = calm(lambda: cfn.describe_stacks(StackName=stack_name), sleep)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if exc.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in message:
            return None
        raise
    return stacks[0] if stacks else None


def output_map(stack: dict) -> dict[str, str]:
    """A stack description's Outputs as {OutputKey: OutputValue}."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def outputs(cfn, stack_name: str) -> dict[str, str]:
    """The stack's Outputs as {OutputKey: OutputValue}; raises when the stack does not exist."""
    stack = describe(cfn, stack_name)
    if stack is None:
        raise EnrollcfnError(stack_name, "stack does not exist (deploy it first)")
    return output_map(stack)


def output(stack_name: str, values: dict[str, str], key: str) -> str:
    """One output a later step needs, from `values` (an `output_map`); raises when it is missing."""
    if not values.get(key):
        raise EnrollcfnError(stack_name, f"stack has no output {key}; deploy the current template (build/) first")
    return values[key]
