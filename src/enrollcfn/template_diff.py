"""Resource- and property-level changes computed from templates: the deployed template of the root
and of each nested stack against the compiled one, plus the monthly cost of each.

A change set on a nested stack often says only `Modify` (the local AWS never describes nested
changes; CloudFormation itself reports nested stacks as modified whenever a parameter flows into
them), so `plan` also prints what the templates say will change:
`~ LoadBalancerStack/LoadBalancer.Properties.IdleTimeout: 60 -> 120`. Values are the templates'
own (a `Ref` shows as the reference, not the resolved value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from enrollcfn import cost
from enrollcfn.changesets import deployed_template
from enrollcfn.stacks import nested_stacks

MARK = "(computed from templates)"
_WIDTH = 60  # longest value shown on one line


@dataclass
class TemplateDiff:
    """What the templates say will change, and the monthly cost before and after."""

    lines: list[str] = field(default_factory=list)
    cost_before: float = 0.0
    cost_after: float = 0.0
    currency: str = "USD"

    def to_json(self) -> dict:
        return {"changes": self.lines, "monthly_cost": {"before": round(self.cost_before, 2), "after": round(self.cost_after, 2),
                                                        "difference": round(self.cost_after - self.cost_before, 2), "currency": self.currency}}


def compare(cfn, stack_id: str, root_doc: Mapping, children: Mapping[str, Mapping], region: str, new_cost: float,
            bootstrap_id: str | None = None, prices=None) -> TemplateDiff:
    """Diff the deployed root and nested templates against the compiled ones (`root_doc` names its
    children by local `<name>.yaml` TemplateURLs; `children[name]` is each compiled template).
    `new_cost` covers the bootstrap stack too, so its deployed template joins the old estimate,
    priced with the same table (`prices`, default the region's bundled one)."""
    deployed = {"root": deployed_template(cfn, stack_id)}
    if bootstrap_id:
        deployed["bootstrap"] = deployed_template(cfn, bootstrap_id)
    diff = TemplateDiff(cost_after=new_cost)
    diff.lines += changes("", deployed["root"], dict(root_doc))
    for r in nested_stacks(cfn, stack_id):
        url = root_doc.get("Resources", {}).get(r["LogicalResourceId"], {}).get("Properties", {}).get("TemplateURL", "")
        name = url[:-5] if url.endswith(".yaml") else None
        if name in children:
            deployed[name] = deployed_template(cfn, r["PhysicalResourceId"])
            diff.lines += changes(f"{r['LogicalResourceId']}/", deployed[name], dict(children[name]))
    before = cost.estimate(deployed, region, prices=prices)
    diff.cost_before, diff.currency = before.total, before.currency
    return diff


def changes(prefix: str, old: Mapping, new: Mapping) -> list[str]:
    """`+`, `-` and `~` lines for every resource and property that differs between two templates."""
    lines = []
    old_res, new_res = old.get("Resources", {}), new.get("Resources", {})
    for logical in sorted(set(old_res) | set(new_res)):
        before, after = old_res.get(logical), new_res.get(logical)
        if before is None:
            lines.append(f"+ {prefix}{logical} ({after['Type']})")
        elif after is None:
            lines.append(f"- {prefix}{logical} ({before['Type']})")
        elif before.get("Type") != after.get("Type"):
            lines.append(f"~ {prefix}{logical}.Type: {before.get('Type')} -> {after.get('Type')}")
        else:
            ignored = {"TemplateURL"} if after["Type"] == "AWS::CloudFormation::Stack" else set()  # local file vs S3 URL
            props = lambda d: {k: v for k, v in d.get("Properties", {}).items() if k not in ignored}  # noqa: E731
            lines += [f"~ {prefix}{logical}.Properties{path}: {_show(a)} -> {_show(b)}"
                      for path, a, b in _walk(props(before), props(after), "")]
    for name in sorted(set(old.get("Parameters", {})) | set(new.get("Parameters", {}))):
        a, b = old.get("Parameters", {}).get(name, {}).get("Default"), new.get("Parameters", {}).get(name, {}).get("Default")
        if a != b:
            lines.append(f"~ {prefix}Parameters.{name}.Default: {_show(a)} -> {_show(b)}")
    return lines


def _walk(a, b, path: str):
    """(path, before, after) for each differing leaf; lists of different length compare whole."""
    if isinstance(a, dict) and isinstance(b, dict) and not _intrinsic(a) and not _intrinsic(b):
        for key in sorted(set(a) | set(b)):
            yield from _walk(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _walk(x, y, f"{path}.{i}")
    elif a != b:
        yield path, a, b


def _intrinsic(d: dict) -> bool:
    return len(d) == 1 and (next(iter(d)) == "Ref" or next(iter(d)).startswith("Fn::"))


def _show(value) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."


def render(diff: TemplateDiff, stack: str) -> str:
    """The lines `plan` prints after the change-set preview."""
    head = f"{stack}: changes {MARK}" if diff.lines else f"{stack}: no property changes {MARK}"
    delta = diff.cost_after - diff.cost_before
    money = (f"monthly cost: {diff.cost_before:.2f} -> {diff.cost_after:.2f} {diff.currency} "
             f"({'+' if delta >= 0 else ''}{delta:.2f}) {MARK}")
    return "\n".join([head, *(f"  {line}" for line in diff.lines), money])
