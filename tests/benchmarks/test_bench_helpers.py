"""The pure arithmetic `make bench` reports with (bench/benchlib.py): calls before the first write over an
ordered request log, which calls grow between two histories, and a release's overhead."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from benchlib import Call, before_first_write, grown, overhead, per_action, read_call_log


def test_calls_before_the_first_write_stop_at_the_first_mutating_call() -> None:
    log = [
        Call("codedeploy", "GetDeploymentGroup"),
        Call("codedeploy", "BatchGetDeployments"),
        Call("sts", "GetCallerIdentity"),
        Call("ecs", "RegisterTaskDefinition"),
        Call("codedeploy", "CreateDeployment"),
        Call("codedeploy", "GetDeployment"),
    ]
    before, first = before_first_write(log)
    assert [str(c) for c in before] == [
        "codedeploy:GetDeploymentGroup",
        "codedeploy:BatchGetDeployments",
        "sts:GetCallerIdentity",
    ]
    assert first == Call("ecs", "RegisterTaskDefinition")


def test_a_log_without_a_write_is_all_before_and_names_no_write() -> None:
    log = [Call("ecs", "DescribeServices"), Call("iam", "SimulatePrincipalPolicy")]
    assert before_first_write(log) == (log, None)
    assert before_first_write([]) == ([], None)


def test_the_log_is_read_in_time_order_whatever_the_threads_wrote_first(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    lines = [
        {"at": 3.0, "service": "ecs", "action": "RegisterTaskDefinition"},
        {"at": 1.0, "service": "ecs", "action": "DescribeServices"},
        {"at": 2.0, "service": "codedeploy", "action": "ListDeployments"},
    ]
    path.write_text("\n".join(json.dumps(e) for e in lines) + "\n\n")
    calls = read_call_log(path)
    assert before_first_write(calls)[0] == [Call("ecs", "DescribeServices"), Call("codedeploy", "ListDeployments")]


def test_growth_names_only_the_calls_whose_count_changed_biggest_first() -> None:
    small = per_action([Call("cd", "GetApplicationRevision"), Call("cd", "ListDeployments"), Call("ecs", "X")])
    large = per_action(
        [Call("cd", "GetApplicationRevision")] * 46 + [Call("cd", "ListDeployments"), Call("cd", "BatchGetDeployments")]
    )
    assert grown(small, large) == {
        "cd:GetApplicationRevision": (1, 46),
        "cd:BatchGetDeployments": (0, 1),
        "ecs:X": (1, 0),
    }
    assert grown(small, small) == {}


def test_overhead_is_wall_time_minus_the_deployments_span() -> None:
    assert overhead(30.0, started=100.0, finished=119.5) == pytest.approx(10.5)
    with pytest.raises(ValueError, match="before it started"):
        overhead(30.0, started=120.0, finished=100.0)


def test_calltrace_logs_each_botocore_call_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    import botocore.client
    from botocore.stub import Stubber
    from calltrace import install

    # monkeypatch restores the real _make_api_call after the test: install() replaces it process-wide.
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", botocore.client.BaseClient._make_api_call)
    log = tmp_path / "calls.jsonl"
    install(str(log))
    ecs = boto3.client("ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecs) as stub:
        stub.add_response("describe_services", {"services": []}, {"services": ["web"], "cluster": "demo"})
        stub.add_response("list_task_definitions", {"taskDefinitionArns": []}, {})
        ecs.describe_services(services=["web"], cluster="demo")
        ecs.list_task_definitions()
    assert read_call_log(log) == [Call("ecs", "DescribeServices"), Call("ecs", "ListTaskDefinitions")]
