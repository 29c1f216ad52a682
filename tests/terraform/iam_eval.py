"""IAM's evaluation of identity-based policies, for the tests that check each AWS call against its role.

The logic of the IAM User Guide, "Policy evaluation logic" (single account, identity-based policies
only, which is all our roles carry): an explicit Deny in any statement wins; otherwise an Allow whose
Action, Resource and every Condition match allows; otherwise the request is implicitly denied.

- Action / NotAction: case-insensitive, `*` and `?` wildcards ("Action element").
- Resource / NotResource: case-sensitive, `*` and `?` wildcards, never crossing ARN segments differently
  from AWS (a `*` matches any characters, `:` and `/` included, as AWS documents). A request on an
  action without a resource type has the resource "*", which only the pattern "*" matches.
- Condition: every operator of a statement and every key of an operator must match (AND); the values
  of one key are alternatives (OR). A key absent from the request fails a positive operator and
  satisfies a negated one ("Not" operators) and any "...IfExists" one; `Null` tests presence.
  ForAnyValue:/ForAllValues: for multivalued keys. The operators: String*, Arn*, Bool, Numeric*.

moto's own access control ignores Resource and Condition; this is why we have our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorization request: the IAM action ("service:Action"), the resource ARN ("*" for an
    action without a resource type) and the request context's keys (a list for a multivalued key)."""

    action: str
    resource: str
    context: dict[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    result: str
    statement: str | None = None  # the Sid (or index) of the deciding statement

    @property
    def allowed(self) -> bool:
        return self.result == ALLOWED


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _action_matches(stmt: dict[str, Any], action: str) -> bool:
    if "Action" in stmt:
        return any(_wildcard(p, action, case=False) for p in _list(stmt["Action"]))
    return not any(_wildcard(p, action, case=False) for p in _list(stmt.get("NotAction", [])))


def _resource_matches(stmt: dict[str, Any], resource: str) -> bool:
    if "Resource" in stmt:
        return any(_wildcard(p, resource, case=True) for p in _list(stmt["Resource"]))
    return not any(_wildcard(p, resource, case=True) for p in _list(stmt.get("NotResource", [])))


def _compare(base: str, policy: str, actual: str) -> bool:
    """One value of the request against one value of the policy, for a positive base operator."""
    if base == "StringEquals":
        return actual == policy
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == policy.lower()
    if base == "StringLike":
        return _wildcard(policy, actual, case=True)
    if base in ("ArnEquals", "ArnLike"):
        # Compared segment by segment (arn:partition:service:region:account:resource), wildcards in each.
        p_parts, a_parts = policy.split(":", 5), actual.split(":", 5)
        return len(p_parts) == len(a_parts) == 6 and all(
            _wildcard(p, a, case=True) for p, a in zip(p_parts, a_parts, strict=True)
        )
    if base == "Bool":
        return actual.lower() == policy.lower()
    if base.startswith("Numeric"):
        a, p = float(actual), float(policy)
        return {
            "NumericEquals": a == p,
            "NumericLessThan": a < p,
            "NumericLessThanEquals": a <= p,
            "NumericGreaterThan": a > p,
            "NumericGreaterThanEquals": a >= p,
        }[base]
    raise ValueError(f"condition operator {base!r} is not supported by this evaluator")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _condition_matches(operator: str, key: str, values: list[str], context: dict[str, Any]) -> bool:
    set_op = ""
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        set_op, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    present = key in context and context[key] is not None
    if operator == "Null":
        return any((v.lower() == "true") == (not present) for v in values)
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    if not present:
        # ForAllValues over no values is vacuously true; ForAnyValue over none is false.
        if set_op == "ForAllValues":
            return True
        return negated or if_exists
    actual = [str(v) for v in _list(context[key])]

    def one(a: str) -> bool:
        hit = any(_compare(base, v, a) for v in values)
        return not hit if negated else hit

    if set_op == "ForAllValues":
        return all(one(a) for a in actual)
    if set_op == "ForAnyValue":
        return any(one(a) for a in actual)
    if len(actual) != 1:
        raise ValueError(f"{key} has several values: use ForAnyValue:/ForAllValues: with {operator}")
    return one(actual[0])


def _conditions_match(stmt: dict[str, Any], context: dict[str, Any]) -> bool:
    return all(
        _condition_matches(operator, key, [str(v) for v in _list(values)], context)
        for operator, keys in (stmt.get("Condition") or {}).items()
        for key, values in keys.items()
    )


def statements(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for p in policies for s in _list(p.get("Statement", []))]


def evaluate(policies: list[dict[str, Any]], request: Request) -> Decision:
    """The decision of IAM on `request` for a principal whose identity-based policies are `policies`."""
    allow: str | None = None
    for i, stmt in enumerate(statements(policies)):
        if not (_action_matches(stmt, request.action) and _resource_matches(stmt, request.resource)):
            continue
        if not _conditions_match(stmt, request.context):
            continue
        sid = str(stmt.get("Sid") or i)
        if stmt["Effect"] == "Deny":
            return Decision(EXPLICIT_DENY, sid)
        allow = allow or sid
    return Decision(ALLOWED, allow) if allow is not None else Decision(IMPLICIT_DENY)


__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "Decision", "Request", "evaluate"]
