"""The IAM evaluator the per-call role tests rely on (iam_eval.py), on the examples of AWS's IAM User
Guide: "Policy evaluation for requests within a single account" (Carlos's policy), "The difference
between explicit and implicit denies" (AllowGetList / DenyReports), and the condition rules of
"IAM JSON policy elements: Condition operators" (absent keys, ...IfExists, Null, multivalued keys)."""

from __future__ import annotations

import pytest
from iam_eval import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate

CARLOS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowS3ListRead",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation",
                "s3:GetAccountPublicAccessBlock",
                "s3:ListAccessPoints",
                "s3:ListAllMyBuckets",
            ],
            "Resource": "arn:aws:s3:::*",
        },
        {
            "Sid": "AllowS3Self",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": [
                "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*",
                "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar",
            ],
        },
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
    ],
}

REPORTS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
    ],
}


@pytest.mark.parametrize(
    ("action", "resource", "result", "sid"),
    [
        # The guide's case: saving to the -logs bucket is denied by DenyS3Logs, whatever else allows it.
        ("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/file.txt", EXPLICIT_DENY, "DenyS3Logs"),
        ("s3:PutObject", "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/file.txt", ALLOWED, "AllowS3Self"),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::anything", ALLOWED, "AllowS3ListRead"),
        ("s3:PutObject", "arn:aws:s3:::someone-else/file.txt", IMPLICIT_DENY, None),
        (
            "S3:putobject",
            "arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/f",
            ALLOWED,
            "AllowS3Self",
        ),  # actions ignore case
        ("s3:PutObject", "arn:aws:s3:::AMZN-S3-DEMO-BUCKET-CARLOSSALAZAR/f", IMPLICIT_DENY, None),  # resources do not
    ],
)
def test_carlos_policy(action: str, resource: str, result: str, sid: str | None) -> None:
    decision = evaluate([CARLOS], Request(action, resource))
    assert (decision.result, decision.statement) == (result, sid)


@pytest.mark.parametrize(
    ("action", "result"),
    [
        ("iam:GetUser", ALLOWED),
        ("iam:ListRoles", ALLOWED),
        ("iam:CreatePolicy", IMPLICIT_DENY),
        ("iam:GetOrganizationsAccessReport", EXPLICIT_DENY),
        ("iam:GenerateCredentialReport", EXPLICIT_DENY),  # denied even if another policy allowed it
    ],
)
def test_explicit_and_implicit_denies(action: str, result: str) -> None:
    grant_reports = {"Statement": [{"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}]}
    assert evaluate([REPORTS, grant_reports], Request(action, "*")).result == result


def test_an_action_without_a_resource_type_is_only_matched_by_a_star() -> None:
    """The Service Authorization Reference's actions without a resource type are evaluated on "*"."""
    scoped = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "codedeploy:StopDeployment",
                "Resource": "arn:aws:codedeploy:eu-west-1:111122223333:deploymentgroup:app/*",
            }
        ]
    }
    star = {"Statement": [{"Effect": "Allow", "Action": "codedeploy:*", "Resource": "*"}]}
    assert evaluate([scoped], Request("codedeploy:StopDeployment", "*")).result == IMPLICIT_DENY
    assert evaluate([star], Request("codedeploy:StopDeployment", "*")).allowed


PASS_ROLE = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "arn:aws:iam::111122223333:role/web-*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        }
    ]
}


@pytest.mark.parametrize(
    ("resource", "context", "allowed"),
    [
        ("arn:aws:iam::111122223333:role/web-task", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}, True),
        ("arn:aws:iam::111122223333:role/web-task", {"iam:PassedToService": "lambda.amazonaws.com"}, False),
        ("arn:aws:iam::111122223333:role/web-task", {}, False),  # an absent key fails a positive operator
        ("arn:aws:iam::111122223333:role/admin", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}, False),
    ],
)
def test_pass_role_needs_the_service_it_is_passed_to(resource: str, context: dict[str, str], allowed: bool) -> None:
    assert evaluate([PASS_ROLE], Request("iam:PassRole", resource, context)).allowed is allowed


def _one(operator: str, key: str, values: list[str], effect: str = "Allow") -> dict[str, object]:
    return {"Statement": [{"Effect": effect, "Action": "*", "Resource": "*", "Condition": {operator: {key: values}}}]}


@pytest.mark.parametrize(
    ("operator", "values", "context", "allowed"),
    [
        # Several values of one key are alternatives (OR).
        (
            "ArnEquals",
            ["arn:aws:ecs:eu-west-1:111122223333:cluster/a", "arn:aws:ecs:eu-west-1:111122223333:cluster/b"],
            {"ecs:cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/b"},
            True,
        ),
        (
            "ArnEquals",
            ["arn:aws:ecs:eu-west-1:111122223333:cluster/a"],
            {"ecs:cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/c"},
            False,
        ),
        ("ArnEquals", ["arn:aws:ecs:eu-west-1:111122223333:cluster/a"], {}, False),
        (
            "ArnLike",
            ["arn:aws:ecs:*:111122223333:cluster/*"],
            {"ecs:cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/x"},
            True,
        ),
        ("StringLike", ["web-*"], {"k": "web-1"}, True),
        # Negated operators match when the key is absent; ...IfExists makes positive ones do so too.
        ("StringNotEquals", ["public"], {}, True),
        ("StringNotEquals", ["public"], {"k": "public"}, False),
        ("StringEqualsIfExists", ["x"], {}, True),
        ("StringEqualsIfExists", ["x"], {"k": "y"}, False),
        ("Null", ["true"], {}, True),
        ("Null", ["false"], {}, False),
        ("Bool", ["true"], {"k": "true"}, True),
        ("NumericLessThanEquals", ["3600"], {"k": "7200"}, False),
        ("ForAnyValue:StringEquals", ["a", "b"], {"k": ["c", "b"]}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {}, True),
        ("ForAnyValue:StringEquals", ["a", "b"], {}, False),
    ],
)
def test_condition_operators(operator: str, values: list[str], context: dict[str, object], allowed: bool) -> None:
    key = "ecs:cluster" if operator.startswith("Arn") else "k"
    assert evaluate([_one(operator, key, values)], Request("ecs:ListTasks", "*", context)).allowed is allowed  # type: ignore[arg-type]


def test_every_condition_of_a_statement_must_match() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {"ecs:cluster": "arn:aws:ecs:eu-west-1:1:cluster/a"},
                    "Bool": {"ecs:enable-execute-command": "false"},
                },
            }
        ]
    }
    both = {"ecs:cluster": "arn:aws:ecs:eu-west-1:1:cluster/a", "ecs:enable-execute-command": "false"}
    assert evaluate([policy], Request("ecs:RunTask", "*", both)).allowed
    assert not evaluate([policy], Request("ecs:RunTask", "*", {**both, "ecs:enable-execute-command": "true"})).allowed


def test_a_condition_in_a_deny_denies_only_when_it_matches() -> None:
    deny = _one("StringNotEquals", "aws:RequestedRegion", ["eu-west-1"], effect="Deny")
    allow = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert evaluate([allow, deny], Request("ecs:ListTasks", "*", {"aws:RequestedRegion": "eu-west-1"})).allowed
    assert (
        evaluate([allow, deny], Request("ecs:ListTasks", "*", {"aws:RequestedRegion": "us-east-1"})).result
        == EXPLICIT_DENY
    )
