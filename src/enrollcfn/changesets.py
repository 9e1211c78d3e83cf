"""Deploy through change sets, over an injected CloudFormation client.

The state machine decides what a stack's current status allows (create, update, recreate, or stop
with the recovery command); a change set with nested stacks included is created under a unique
name and client token, polled every few seconds, and read back as a `StackPlan` (changes.py) for
the preview and the data-loss guard; execution streams the events of the root and every nested
stack of this operation only. Nothing here prints or reads input: progress goes to a `report`
callback, waits take `sleep` and `clock`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from enrollcfn.changes import StackPlan, parameter_changes, resource_change
from enrollcfn.errors import EnrollcfnError
from enrollcfn.stacks import calm, describe, nested_stacks

OWNER_TAG = "enrollcfn:stack"  # on every stack this tool creates; recreate/destroy require it
EMPTY_REASONS = ("didn't contain changes", "no updates are to be performed")  # CloudFormation's two wordings
FIRST_CREATE_FAILED = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"}
DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE", "DELETE_COMPLETE"}
CHANGE_SET_POLL = 3.0  # seconds; the botocore waiter's 30 s would dominate a small deploy
EVENT_POLL = 5.0  # seconds; DescribeStacks/DescribeStackEvents are throttled at a few calls a second
# Stack policy set after every deploy: nothing may replace or delete the database (or the nested
# stack holding it), whatever a later template says. `--allow-data-loss` lifts it for one run.
PROTECTED_LOGICAL_IDS = ("Database", "DatabaseStack")
STACK_POLICY = {
    "Statement": [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": [f"LogicalResourceId/{i}" for i in PROTECTED_LOGICAL_IDS],
        },
    ]
}
OPEN_POLICY = {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Report = Callable[[str], None]


class DeployError(EnrollcfnError):
    """A deploy step cannot go on; `key` is the stack name, the message says what to do."""


@dataclass(frozen=True)
class Target:
    """What to deploy to one stack: its template (S3 URL, or body for the standalone stacks)."""

    name: str
    template_url: str | None = None
    template_body: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ("CAPABILITY_IAM",)
    role_arn: str | None = None  # the service role CloudFormation runs the change set as (delivery.release: deploy)

    def template_args(self) -> dict:
        role = {"RoleARN": self.role_arn} if self.role_arn else {}
        if self.template_url:
            return {"TemplateURL": self.template_url, **role}
        return {"TemplateBody": self.template_body, **role}

    def parameter_list(self) -> list[dict]:
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(self.parameters.items())]


IAM_NAMES = ("RoleName", "ManagedPolicyName", "UserName", "GroupName", "InstanceProfileName")


def capabilities(docs: Iterable[Mapping]) -> tuple[str, ...]:
    """The fewest capabilities the templates need: NAMED_IAM only if an IAM resource is named."""
    iam = [r for doc in docs for r in doc.get("Resources", {}).values() if r.get("Type", "").startswith("AWS::IAM::")]
    if any(name in r.get("Properties", {}) for r in iam for name in IAM_NAMES):
        return ("CAPABILITY_NAMED_IAM",)
    return ("CAPABILITY_IAM",) if iam else ()


# --- reading state -------------------------------------------------------------------------


def owned(stack: dict, name: str) -> bool:
    """True when the stack carries this tool's ownership tag for `name`."""
    return any(t["Key"] == OWNER_TAG and t["Value"] == name for t in stack.get("Tags", []))


def decide(stack: dict | None, name: str, recreate_failed: bool = False) -> str:
    """CREATE, UPDATE or RECREATE for a stack in its current state; DeployError when none is safe."""
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return "CREATE"
    status = stack["StackStatus"]
    if status.endswith("_IN_PROGRESS"):
        raise DeployError(name, f"is {status}: another operation is running; wait for it to finish (never start a second one)")
    if status in FIRST_CREATE_FAILED:
        if not recreate_failed:
            raise DeployError(name, f"is {status}: its first creation failed and it cannot be updated; "
                              "re-run with --recreate-failed to delete and create it again")
        if not owned(stack, name):
            raise DeployError(name, f"is {status} but was not created by enrollcfn (no {OWNER_TAG} tag); delete it yourself")
        if stack.get("EnableTerminationProtection"):
            raise DeployError(name, f"is {status} with termination protection on; turn it off to recreate")
        return "RECREATE"
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(name, "is UPDATE_ROLLBACK_FAILED: a rollback could not undo a resource; fix it, then run "
                          f"`enrollcfn recover --stack {name} [--skip-resource LOGICAL_ID ...]`")
    if status == "UPDATE_FAILED":
        raise DeployError(name, "is UPDATE_FAILED with rollback disabled: roll it back with "
                          f"`aws cloudformation rollback-stack --stack-name {name}`")
    if status.endswith("_COMPLETE") and status != "DELETE_COMPLETE":
        return "UPDATE"
    raise DeployError(name, f"is {status}; enrollcfn can create, update or recreate a stack only from a settled state")


def settle(cfn, name: str, sleep: Sleep, clock: Clock, timeout: float, report: Report) -> dict | None:
    """Wait (bounded) while the stack is *_IN_PROGRESS from someone else's operation."""
    deadline = clock() + timeout
    while True:
        stack = describe(cfn, name, sleep)
        if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS") or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            return stack
        if clock() >= deadline:
            raise DeployError(name, f"still {stack['StackStatus']} after {timeout:.0f}s of waiting; try again later")
        report(f"{name} is {stack['StackStatus']}; waiting for it to settle")
        sleep(EVENT_POLL)


def unchanged(cfn, stack: dict, target: Target, doc: Mapping, tags: dict[str, str]) -> bool:
    """True when the deployed stack already has this exact template (`doc`), parameters and tags.

    Checked before creating a change set: CloudFormation reports nested stacks as modified in
    every change set, so an unchanged nested deploy would otherwise never look empty.
    """
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return False
    deployed = deployed_template(cfn, stack["StackId"])
    params = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    have_tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    return deployed == doc and params == target.parameters and have_tags == tags


# --- change sets -----------------------------------------------------------------------------


def create_change_set(cfn, target: Target, kind: str, tags: dict[str, str], imports: list[dict] | None = None) -> str:
    """Create a CREATE or UPDATE change set with nested stacks included, or an IMPORT one of
    `imports` (CreateChangeSet ResourcesToImport: ResourceType, LogicalResourceId,
    ResourceIdentifier); returns its ARN."""
    name = f"enrollcfn-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    # resource import supports one level of nesting only (User Guide, resource-import.html)
    extra = {"ResourcesToImport": imports} if kind == "IMPORT" else {"IncludeNestedStacks": True}
    response = cfn.create_change_set(
        StackName=target.name,
        ChangeSetName=name,
        ChangeSetType=kind,
        ClientToken=name,
        **extra,
        Capabilities=list(target.capabilities),
        Parameters=target.parameter_list(),
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        Description="enrollcfn deploy",
        **target.template_args(),
    )
    return response["Id"]


def describe_change_set(cfn, change_set_id: str, sleep: Sleep) -> dict:
    """The whole change set description, every page of Changes merged (read again from the first
    page if throttled beyond botocore's retries)."""

    def read() -> list[dict]:
        paginator = cfn.get_paginator("describe_change_set")
        return list(paginator.paginate(ChangeSetName=change_set_id, IncludePropertyValues=True))

    pages = calm(read, sleep)
    return {**pages[0], "Changes": [c for p in pages for c in p.get("Changes", [])]}


def wait_change_set(cfn, change_set_id: str, sleep: Sleep, clock: Clock, timeout: float = 900) -> dict:
    """Poll until the change set is CREATE_COMPLETE or FAILED; returns its description."""
    deadline = clock() + timeout
    while True:
        desc = describe_change_set(cfn, change_set_id, sleep)
        if desc["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return desc
        if clock() >= deadline:
            raise DeployError(desc.get("StackName", change_set_id), f"change set still {desc['Status']} after {timeout:.0f}s")
        sleep(CHANGE_SET_POLL)


def is_empty(desc: dict) -> bool:
    """A change set CloudFormation refused because nothing would change (either wording)."""
    reason = desc.get("StatusReason", "").lower()
    return desc["Status"] == "FAILED" and any(r in reason for r in EMPTY_REASONS)


def plan_of(cfn, desc: dict, sleep: Sleep, path: str = "root") -> StackPlan:
    """The StackPlan of a change set and all its nested change sets."""
    plan = StackPlan(path=path, status=desc["Status"], reason=desc.get("StatusReason", ""))
    plan.changes = [resource_change(c) for c in desc.get("Changes", []) if c.get("Type") == "Resource"]
    stack = describe(cfn, desc["StackId"], sleep)
    before = stack.get("Parameters", []) if stack and stack["StackStatus"] != "REVIEW_IN_PROGRESS" else []
    plan.parameters = parameter_changes(before, desc.get("Parameters") or [])
    for c in desc.get("Changes", []):
        nested_id = c.get("ResourceChange", {}).get("ChangeSetId")
        if nested_id:
            logical = c["ResourceChange"]["LogicalResourceId"]
            nested = describe_change_set(cfn, nested_id, sleep)
            plan.children[logical] = plan_of(cfn, nested, sleep, f"{path}/{logical}")
    return plan


def create_only_properties(region: str):
    """`type -> create-only property names`, from the resource schemas cfn-lint ships."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    def names(kind: str) -> list[str]:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema
        return [p.split("/")[-1] for p in schema.get("createOnlyProperties", []) if p.count("/") == 2]

    return names


def deployed_losses(cfn, stack_id: str, name: str, root_doc: Mapping, children: Mapping[str, Mapping], region: str) -> list:
    """`changes.template_losses` for the root and each nested stack: deployed template vs new one.

    `root_doc` is the compiled (unpackaged) root, whose TemplateURLs are local `<name>.yaml`;
    a nested stack's new template is `children[name]`."""
    from enrollcfn.changes import template_losses

    create_only = create_only_properties(region)
    pairs = [(name, stack_id, root_doc)]
    for logical_id, physical, child in nested_children(cfn, stack_id, root_doc, children):
        pairs.append((f"{name}/{logical_id}", physical, children[child]))
    return [loss for path, physical, new in pairs
            for loss in template_losses(path, deployed_template(cfn, physical), new, create_only)]


def nested_children(cfn, stack_id: str, root_doc: Mapping, children: Iterable[str]) -> list[tuple[str, str, str]]:
    """(logical id, physical id, compiled stack name) of each deployed nested stack of the root
    whose compiled TemplateURL is `<name>.yaml` for a name in `children`."""
    found = []
    for r in nested_stacks(cfn, stack_id):
        url = root_doc.get("Resources", {}).get(r["LogicalResourceId"], {}).get("Properties", {}).get("TemplateURL", "")
        if url.endswith(".yaml") and url[:-5] in children:
            found.append((r["LogicalResourceId"], r["PhysicalResourceId"], url[:-5]))
    return found


def deployed_template(cfn, stack_id: str) -> dict:
    """The template the stack was last deployed with, as a dict (boto3 parses JSON, not YAML)."""
    from cfn_flip import load_yaml

    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    return body if isinstance(body, dict) else load_yaml(body)


def failure_reasons(plan: StackPlan) -> list[str]:
    """Every FAILED change set's reason in the tree (the root's alone says only 'nested failed')."""
    return [f"{p.path}: {p.reason}" for p in plan.walk() if p.status == "FAILED" and p.reason]


# --- executing and watching ----------------------------------------------------------------


def execute(cfn, change_set_id: str) -> None:
    """Execute the change set with a request token (a retried call runs it once)."""
    cfn.execute_change_set(ChangeSetName=change_set_id, ClientRequestToken=f"enrollcfn-exec-{uuid.uuid4().hex}")


# --- after and around a deploy ----------------------------------------------------------------


def nested_stack_ids(cfn, stack_id: str) -> list[str]:
    """Physical ids of every nested stack under `stack_id`, depth first."""
    found = []
    for r in nested_stacks(cfn, stack_id):
        found.append(r["PhysicalResourceId"])
        found.extend(nested_stack_ids(cfn, r["PhysicalResourceId"]))
    return found


def set_policies(cfn, stack_ids: list[str], policy: dict) -> None:
    """Put the same stack policy on each stack."""
    body = json.dumps(policy, sort_keys=True)
    for stack_id in stack_ids:
        cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=body)


def protect(cfn, stack_id: str, terminate_protected: bool = True) -> list[str]:
    """Stack policies on the root and every nested stack; termination protection on the root on
    (or off) as `terminate_protected` says."""
    stacks = [stack_id, *nested_stack_ids(cfn, stack_id)]
    set_policies(cfn, stacks, STACK_POLICY)
    cfn.update_termination_protection(StackName=stack_id, EnableTerminationProtection=terminate_protected)
    return stacks


def recover(cfn, name: str, skip: list[str]) -> None:
    """ContinueUpdateRollback on an UPDATE_ROLLBACK_FAILED stack, skipping the named resources."""
    stack = describe(cfn, name)
    if stack is None or stack["StackStatus"] != "UPDATE_ROLLBACK_FAILED":
        status = stack["StackStatus"] if stack else "absent"
        raise DeployError(name, f"is {status}; recover applies only to UPDATE_ROLLBACK_FAILED")
    cfn.continue_update_rollback(StackName=name, ResourcesToSkip=skip, ClientRequestToken=f"enrollcfn-recover-{uuid.uuid4().hex}")


def delete(cfn, name: str, allow_protected: bool) -> dict:
    """Delete a stack this tool created; returns its last description."""
    stack = describe(cfn, name)
    if stack is None:
        raise DeployError(name, "does not exist")
    if not owned(stack, name):
        raise DeployError(name, f"was not created by enrollcfn (no {OWNER_TAG} tag); refusing to delete it")
    if stack.get("EnableTerminationProtection"):
        if not allow_protected:
            raise DeployError(name, "has termination protection on; pass --disable-termination-protection to turn it off and delete")
        cfn.update_termination_protection(StackName=name, EnableTerminationProtection=False)
    cfn.delete_stack(StackName=stack["StackId"], ClientRequestToken=f"enrollcfn-delete-{uuid.uuid4().hex}")
    return stack
