"""Day-2 operations on a deployed stack: status, logs, one-off tasks, rollback, drift, exec.

One module per command. Functions take the AWS clients they need and return data; they never
print (enrollcfn.commands does). `locate` finds what every command needs first: the root stack, its
nested stacks and their outputs, or one line saying the stack does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from enrollcfn.errors import EnrollcfnError


class NoSuchStack(EnrollcfnError):
    """The root stack named does not exist (commands name the environments known instead)."""
from enrollcfn.stacks import describe, nested_stacks, output_map, stack_resources

# The statuses of a stack at rest after a successful operation.
SETTLED_OK = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")


@dataclass(frozen=True)
class Deployed:
    """A deployed root stack: its description, outputs, and nested stacks by logical id."""

    name: str
    stack: dict
    outputs: dict[str, str]
    nested: dict[str, dict] = field(default_factory=dict)  # logical id -> summary (PhysicalResourceId, status)

    def nested_outputs(self, cfn, logical_id: str) -> dict[str, str]:
        """The outputs of one nested stack ({} when it is absent)."""
        summary = self.nested.get(logical_id)
        stack = describe(cfn, summary["PhysicalResourceId"]) if summary else None
        return output_map(stack) if stack else {}

    def resources(self, cfn, logical_id: str, type_: str) -> list[str]:
        """Physical ids of the resources of one type in one nested stack."""
        summary = self.nested.get(logical_id)
        if not summary:
            return []
        return [r["PhysicalResourceId"] for r in stack_resources(cfn, summary["PhysicalResourceId"], type_)]

    def require(self, key: str) -> str:
        """A root output a command needs; one line when the stack predates it."""
        if not self.outputs.get(key):
            raise EnrollcfnError(self.name, f"stack has no output {key}; deploy the current templates first")
        return self.outputs[key]


def locate(cfn, name: str) -> Deployed:
    """The deployed root stack `name`; EnrollcfnError (one line, exit 1) when it does not exist."""
    stack = describe(cfn, name)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        raise NoSuchStack(name, "no such stack; check the name (`enrollcfn ls` lists the environments)")
    nested = {r["LogicalResourceId"]: r for r in nested_stacks(cfn, stack["StackId"])}
    return Deployed(name, stack, output_map(stack), nested)


def short_id(arn: str) -> str:
    """The task id at the end of a task ARN."""
    return arn.rsplit("/", 1)[-1]
