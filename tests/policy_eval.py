"""A small IAM policy evaluator for the compiled templates' identity and bucket policies.

It follows IAM's documented logic (docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic.html) for what these templates use: an explicit Deny wins,
then any Allow, else the implicit deny; Action/NotAction and Resource/NotResource with `*` and
`?` wildcards (actions case-insensitive, ARNs case-sensitive); the condition operators
StringEquals/NotEquals/Like/NotLike, ArnEquals/Like/NotLike/NotEquals, Bool, Null and
ForAllValues: over the positive ones, every
operator and key of a block ANDed, the values of one key ORed, and a missing key failing a
positive operator but satisfying a negated one. Intrinsics are resolved with a fake account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

ACCOUNT = "111122223333"
REGION = "ap-southeast-2"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def resolve(node, refs: dict, conditions: dict | None = None):
    """`node` with Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::GetAtt (as `<id>.<attr>`) and Fn::If resolved."""
    names = {**PSEUDO, **refs}
    if isinstance(node, list):
        return [resolve(n, refs, conditions) for n in node]
    if not isinstance(node, dict):
        return node
    if "Ref" in node:
        return names[node["Ref"]]
    if "Fn::Sub" in node:
        arg = node["Fn::Sub"]
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], {k: resolve(v, refs, conditions) for k, v in arg[1].items()})
        return re.sub(r"\$\{([^}]+)\}", lambda m: str({**names, **local}[m.group(1)]), text)
    if "Fn::Join" in node:
        sep, parts = node["Fn::Join"]
        return sep.join(str(resolve(p, refs, conditions)) for p in parts)
    if "Fn::GetAtt" in node:
        return names[".".join(node["Fn::GetAtt"])]
    if "Fn::Select" in node:
        index, items = node["Fn::Select"]
        return resolve(items, refs, conditions)[int(index)]
    if "Fn::Split" in node:
        sep, text = node["Fn::Split"]
        return str(resolve(text, refs, conditions)).split(sep)
    if "Fn::If" in node:
        name, yes, no = node["Fn::If"]
        return resolve(yes if (conditions or {})[name] else no, refs, conditions)
    return {k: resolve(v, refs, conditions) for k, v in node.items()}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case: bool = True) -> bool:
    return fnmatchcase(value, pattern) if case else fnmatchcase(value.lower(), pattern.lower())


_POSITIVE = {
    "StringEquals": lambda want, got: got == want,
    "StringLike": lambda want, got: _like(want, got),
    "ArnEquals": lambda want, got: got == want,
    "ArnLike": lambda want, got: _like(want, got),
    "Bool": lambda want, got: str(got).lower() == str(want).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition_holds(block: dict, context: dict) -> bool:
    for operator, keys in block.items():
        for key, wanted in keys.items():
            wanted = [str(w) for w in _listed(wanted)]
            present = key in context
            if operator.startswith("ForAllValues:"):
                # every value of a multi-valued key matches one of `wanted`; an absent key holds
                # (IAM User Guide, "Set operators for multivalued context keys")
                test = _POSITIVE[operator.split(":", 1)[1]]
                if present and not all(any(test(w, got) for w in wanted) for got in _listed(context[key])):
                    return False
            elif operator == "Null":
                if (not present) != (wanted[0] == "true"):
                    return False
            elif operator in _NEGATED:
                test = _POSITIVE[_NEGATED[operator]]
                if present and any(test(w, context[key]) for w in wanted):
                    return False
            elif operator in _POSITIVE:
                if not present or not any(_POSITIVE[operator](w, context[key]) for w in wanted):
                    return False
            else:
                raise AssertionError(f"operator {operator} is not modelled by tests/policy_eval.py")
    return True


def _matches(statement: dict, action: str, resource: str, context: dict) -> bool:
    if "Action" in statement:
        if not any(_like(a, action, case=False) for a in _listed(statement["Action"])):
            return False
    elif any(_like(a, action, case=False) for a in _listed(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_like(r, resource) for r in _listed(statement["Resource"])):
            return False
    elif any(_like(r, resource) for r in _listed(statement["NotResource"])):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


@dataclass
class Policy:
    """Resolved statements (identity policies, or a resource policy's, principals ignored)."""

    statements: list[dict] = field(default_factory=list)

    def decide(self, action: str, resource: str, context: dict | None = None) -> str:
        """"deny" (explicit), "allow", or "implicit" (no statement allows)."""
        context = context or {}
        hits = [s for s in self.statements if _matches(s, action, resource, context)]
        if any(s["Effect"] == "Deny" for s in hits):
            return "deny"
        return "allow" if hits else "implicit"

    def allows(self, action: str, resource: str | list[str], context: dict | None = None) -> bool:
        """True when every resource the action authorises on is allowed (IAM checks each)."""
        return all(self.decide(action, r, context) == "allow" for r in _listed(resource))

    def grants_action(self, action: str) -> bool:
        """True when some Allow statement names `action` (wildcards matched as IAM does)."""
        return any(s["Effect"] == "Allow" and any(_like(a, action, case=False) for a in _listed(s.get("Action", []))) for s in self.statements)
