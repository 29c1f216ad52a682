"""The day-2 domain's pure parts: what looks secret, the template round trip, durations, defaults."""

from __future__ import annotations

import pytest

from orchestrator.adopt import refuse_unrepresentable, secret_looking, template_of
from orchestrator.drift import comparable
from orchestrator.errors import InputError
from orchestrator.service_logs import parse_duration, select_tasks, streams_of
from orchestrator.taskdef import resolve_placeholders


def _td(env: list[dict[str, str]]) -> dict:
    return {"containerDefinitions": [{"name": "app", "image": "x:1", "environment": env}]}


@pytest.mark.parametrize(
    "name, value",
    [
        ("DB_PASSWORD", "x"),
        ("stripe_api_key", "x"),
        ("GITHUB_TOKEN", "x"),
        ("UPSTREAM", "postgres://user:pw@db:5432/app"),
        ("KEY_ID", "AKIAABCDEFGHIJKLMNOP"),
        ("CERT", "-----BEGIN RSA PRIVATE KEY-----\nabc"),
    ],
)
def test_secret_looking_names_and_values_are_found(name: str, value: str) -> None:
    assert secret_looking(_td([{"name": name, "value": value}])) == [f"app.{name}"]


@pytest.mark.parametrize("name, value", [("PORT", "8080"), ("LOG_LEVEL", "info"), ("URL", "https://example.com/x")])
def test_plain_values_are_not_secret(name: str, value: str) -> None:
    assert secret_looking(_td([{"name": name, "value": value}])) == []


def test_template_round_trips_placeholders_and_literal_dollar_braces() -> None:
    live = {
        "family": "f",
        "executionRoleArn": "arn:aws:iam::1:role/exec",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "repo/app:7",
                "command": ["sh", "-c", "echo ${HOME}"],
                "environment": [{"name": "REGION", "value": "eu-west-1"}],
            }
        ],
    }
    values = {"task_execution_role_arn": "arn:aws:iam::1:role/exec", "aws_region": "eu-west-1", "image": "repo/app:7"}
    template = template_of(live, "app", values)
    assert template["executionRoleArn"] == "${task_execution_role_arn}"
    assert template["containerDefinitions"][0]["image"] == "${image}"
    assert template["containerDefinitions"][0]["command"][2] == "echo $${HOME}"
    assert template["containerDefinitions"][0]["environment"][0]["value"] == "${aws_region}"
    assert resolve_placeholders(template, values, "t") == live


def test_unrepresentable_services_are_refused_with_why() -> None:
    with pytest.raises(InputError, match="capacity provider strategy"):
        refuse_unrepresentable({"serviceName": "s", "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]})
    with pytest.raises(InputError, match="DAEMON"):
        refuse_unrepresentable({"serviceName": "s", "launchType": "FARGATE", "schedulingStrategy": "DAEMON"})
    with pytest.raises(InputError, match="EXTERNAL"):
        refuse_unrepresentable(
            {"serviceName": "s", "launchType": "FARGATE", "deploymentController": {"type": "EXTERNAL"}}
        )
    refuse_unrepresentable({"serviceName": "s", "launchType": "FARGATE", "deploymentController": {"type": "ECS"}})


def test_comparable_fills_in_ecs_register_defaults() -> None:
    template = {
        "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "a", "portMappings": [{"containerPort": 80}]}],
    }
    live = {
        "networkMode": "awsvpc",
        "containerDefinitions": [
            {
                "name": "a",
                "essential": True,
                "cpu": 0,
                "mountPoints": [],
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
            }
        ],
    }
    assert comparable(template) == comparable(live)
    assert comparable({**template, "memory": "512"}) != comparable(live)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "m", "-1m", "10 minutes", ""])
def test_bad_durations_are_one_line(text: str) -> None:
    with pytest.raises(InputError, match="--since"):
        parse_duration(text)


def test_streams_follow_the_awslogs_naming_and_revisions_select_tasks() -> None:
    arn1, arn2 = "arn:aws:ecs:eu-west-1:1:task-definition/f:1", "arn:aws:ecs:eu-west-1:1:task-definition/f:2"
    options = {"awslogs-group": "/g", "awslogs-stream-prefix": "p"}
    taskdefs = {
        arn2: {
            "containerDefinitions": [
                {"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": options}},
                {"name": "sidecar"},
            ]
        }
    }
    task = {"taskArn": "arn:aws:ecs:eu-west-1:1:task/c/abc123", "taskDefinitionArn": arn2}
    (stream,) = streams_of(task, taskdefs)
    assert (stream.group, stream.name, stream.container) == ("/g", "p/app/abc123", "app")
    old = {"taskArn": "arn:aws:ecs:eu-west-1:1:task/c/old", "taskDefinitionArn": arn1}
    service = {
        "deployments": [{"status": "PRIMARY", "taskDefinition": arn2}, {"status": "ACTIVE", "taskDefinition": arn1}]
    }
    assert select_tasks([task, old], service, "current", None) == [task]
    assert select_tasks([task, old], service, "previous", None) == [old]
    assert select_tasks([task, old], service, "f:1", None) == [old]
    assert select_tasks([task, old], service, None, "abc123") == [task]
    with pytest.raises(InputError, match="one revision only"):
        select_tasks([task], {"deployments": [{"status": "PRIMARY", "taskDefinition": arn2}]}, "previous", None)
