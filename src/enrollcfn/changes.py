"""What a change set will do, as a tree a person can review: root -> nested stack -> resource.

Pure functions over DescribeChangeSet responses (already fetched, nested ones included), so the
preview, the data-loss guard and the JSON form are tested without AWS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Removing or replacing one of these loses data (or, for a nested stack, everything in it).
DATA_TYPES = {
    "AWS::RDS::DBInstance": "the database",
    "AWS::RDS::DBCluster": "the database cluster",
    "AWS::S3::Bucket": "a bucket and its objects",
    "AWS::ECR::Repository": "the image repository",
    "AWS::SecretsManager::Secret": "a secret and its value",
    "AWS::Logs::LogGroup": "a log group and its logs",
    "AWS::CloudFormation::Stack": "a nested stack and every resource in it",
}
# CloudFormation's DeletionPolicy values that leave something behind (DeletionPolicy attribute:
# Retain keeps the resource, RetainExceptOnCreate keeps it except when its creation fails,
# Snapshot deletes it after a final snapshot, which is kept).
KEEPING = ("Retain", "RetainExceptOnCreate", "Snapshot")
DB_INSTANCE = "AWS::RDS::DBInstance"
ACCESS_PREFIXES = ("AWS::IAM::", "AWS::EC2::SecurityGroup", "AWS::Lambda::Permission", "AWS::S3::BucketPolicy")
TEMPLATE_DIFF = "found by the template diff"
SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": "<", "Dynamic": "?"}


@dataclass(frozen=True)
class ResourceChange:
    """One resource's planned change."""

    logical_id: str
    type: str
    action: str  # Add | Modify | Remove | Import | Dynamic
    replacement: str = ""  # True | False | Conditional ("" for Add/Remove)
    properties: tuple[str, ...] = ()  # changed property names, "*" marks one that forces replacement
    physical_id: str = ""
    note: str = ""  # where a finding came from, when not from the change set

    @property
    def access(self) -> bool:
        """IAM, security-group and resource-policy changes: reviewed with extra care."""
        return self.type.startswith(ACCESS_PREFIXES)

    @property
    def loses_data(self) -> bool:
        """A Remove, or a definite replacement, of a resource that holds data."""
        return self.type in DATA_TYPES and (self.action == "Remove" or self.replacement == "True")


@dataclass
class StackPlan:
    """The changes of one stack; nested stacks' plans hang under the resource that creates them."""

    path: str  # "root" or "root/DatabaseStack"
    status: str = ""  # the change set's Status
    reason: str = ""  # the change set's StatusReason
    parameters: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # changed: before, after
    changes: list[ResourceChange] = field(default_factory=list)
    children: dict[str, StackPlan] = field(default_factory=dict)  # by logical id of the Stack resource

    def walk(self):
        """This plan and every nested one, depth first."""
        yield self
        for child in self.children.values():
            yield from child.walk()

    @property
    def empty(self) -> bool:
        return not any(p.changes or p.parameters for p in self.walk())

    def flag(self, found: list[tuple[str, ResourceChange]]) -> None:
        """Put changes another check found (stack path, change) into the tree, replacing the
        change set's entry for the same resource; nested plans are added where missing."""
        for path, change in found:
            node = self
            for logical in path[len(self.path) + 1:].split("/") if path != self.path else []:
                node = node.children.setdefault(logical, StackPlan(f"{node.path}/{logical}"))
            node.changes = [c for c in node.changes if c.logical_id != change.logical_id] + [change]

    def data_loss(self) -> list[tuple[str, ResourceChange]]:
        """(stack path, change) for every change that would remove or replace data."""
        return [(p.path, c) for p in self.walk() for c in p.changes if c.loses_data]

    def to_json(self) -> dict:
        """A JSON-ready form for CI."""
        return {
            "stack": self.path,
            "status": self.status,
            "parameters": {k: {"before": b, "after": a} for k, (b, a) in self.parameters.items()},
            "changes": [
                {**asdict(c), "properties": list(c.properties), "access": c.access, "loses_data": c.loses_data}
                for c in self.changes
            ],
            "nested": [child.to_json() for child in self.children.values()],
        }


def resource_change(change: dict) -> ResourceChange:
    """A ResourceChange from one entry of DescribeChangeSet's `Changes`."""
    rc = change["ResourceChange"]
    names = []
    for detail in rc.get("Details", []):
        target = detail.get("Target", {})
        if target.get("Attribute") == "Properties" and target.get("Name"):
            name = target["Name"]
        elif target.get("Attribute") == "Tags":
            name = "Tags"
        else:
            continue
        if target.get("RequiresRecreation") in ("Always", "Conditionally"):
            name += "*"
        if name not in names:
            names.append(name)
    return ResourceChange(
        logical_id=rc["LogicalResourceId"],
        type=rc["ResourceType"],
        action=rc["Action"],
        replacement=rc.get("Replacement", "") if rc["Action"] == "Modify" else "",
        properties=tuple(names),
        physical_id=rc.get("PhysicalResourceId", ""),
    )


def parameter_changes(before: list[dict], after: list[dict]) -> dict[str, tuple[str | None, str | None]]:
    """Parameters whose value differs between the deployed stack and the change set."""
    old = {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue")) for p in before}
    new = {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue")) for p in after}
    return {k: (old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}


def render(plan: StackPlan, title: str) -> str:
    """The tree as text: one line per resource with action, replacement and changed properties."""
    lines = [title]
    _render(plan, lines, "  ")
    if plan.empty:
        lines.append("  no changes")
    return "\n".join(lines)


def _render(plan: StackPlan, lines: list[str], indent: str) -> None:
    for key, (before, after) in plan.parameters.items():
        lines.append(f"{indent}parameter {key}: {_show(before)} -> {_show(after)}")
    for c in sorted(plan.changes, key=lambda c: c.logical_id):
        symbol = "-/+" if c.replacement == "True" else SYMBOLS.get(c.action, "?")
        notes = []
        if c.replacement in ("True", "Conditional"):
            notes.append("REPLACED" if c.replacement == "True" else "may be replaced")
        if c.properties:
            notes.append(", ".join(c.properties))
        if c.access:
            notes.append("ACCESS CHANGE")
        if c.loses_data:
            notes.append(f"DATA LOSS: {DATA_TYPES[c.type]}")
        if c.note:
            notes.append(c.note)
        suffix = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(f"{indent}{symbol:>3} {c.logical_id}  {c.type}  {c.action}{suffix}")
        child = plan.children.get(c.logical_id)
        if child is not None:
            _render(child, lines, indent + "      ")


def _show(value: str | None) -> str:
    return "(none)" if value is None else repr(value)


def deletion_policy(res) -> str:
    """The DeletionPolicy in effect: CloudFormation's default is Delete, except Snapshot for a
    DBInstance outside a cluster (DeletionPolicy attribute, "Exception")."""
    default = "Snapshot" if res.get("Type") == DB_INSTANCE and "DBClusterIdentifier" not in res.get("Properties", {}) else "Delete"
    return res.get("DeletionPolicy", default)


def template_losses(path: str, old: dict, new: dict, create_only) -> list[tuple[str, ResourceChange]]:
    """Data-holding resources that a template change removes, or replaces by changing a
    create-only property (`create_only(type)` gives their names, from the resource schemas).

    A second opinion next to the change set's own flags, read from the templates alone: it does
    not depend on CloudFormation resolving values across nested stacks (where it reports
    `Conditional` for anything fed by a sibling's output), and it works where an emulator
    reports no replacement at all.
    """
    found = []
    new_resources = new.get("Resources", {})
    for logical, before in sorted(old.get("Resources", {}).items()):
        kind = before["Type"]
        if kind not in DATA_TYPES:
            continue
        after = new_resources.get(logical)
        if after is None or after["Type"] != kind:
            found.append((path, ResourceChange(logical, kind, "Remove", note=TEMPLATE_DIFF)))
            continue
        old_props, new_props = before.get("Properties", {}), after.get("Properties", {})
        changed = tuple(f"{p}*" for p in create_only(kind) if old_props.get(p) != new_props.get(p))
        if changed:
            found.append((path, ResourceChange(logical, kind, "Modify", "True", changed, note=TEMPLATE_DIFF)))
    return found
