"""The applied stack's roles and their policies, read back from moto as AWS would evaluate them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from support import clients


def _document(raw: Any) -> dict[str, Any]:
    return dict(raw if isinstance(raw, dict) else json.loads(unquote(raw)))


def inline_policies(endpoint: str, role: str) -> dict[str, dict[str, Any]]:
    iam = clients.client(endpoint, "iam", attempts=3)
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return {n: _document(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]) for n in names}


def policies(endpoint: str, role: str) -> list[dict[str, Any]]:
    """Every identity-based policy of `role`: its inline policies and its attached managed ones."""
    iam = clients.client(endpoint, "iam", attempts=3)
    out = list(inline_policies(endpoint, role).values())
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        out.append(_document(doc))
    return out


def without_action(documents: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The documents with `action` taken out of every statement (a statement left without one goes)."""
    out = []
    for doc in documents:
        kept = []
        for stmt in doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]:
            actions = stmt.get("Action")
            if actions is None:
                kept.append(stmt)
                continue
            rest = [a for a in ([actions] if isinstance(actions, str) else actions) if a != action]
            if rest:
                kept.append({**stmt, "Action": rest})
        out.append({**doc, "Statement": kept})
    return out
