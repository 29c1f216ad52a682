"""The test-wide check of sandbox responses against botocore's output shapes (tests/conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from support.stack import make_stack

from orchestrator.sandbox.shapes import SHAPES, ShapeChecker


def test_the_checker_finds_extra_keys_wrong_types_and_unknown_enum_values() -> None:
    checker = ShapeChecker()
    checker.enabled = True
    body = {"deploymentInfo": {"status": "Bogus", "extra": 1, "deploymentOverview": {"Pending": "1"}, "creator": None}}
    checker.check("codedeploy", "GetDeployment", "json", "200 OK", json.dumps(body).encode())
    assert checker.violations() == [
        "codedeploy:GetDeployment .deploymentInfo.deploymentOverview.Pending: str where the model has an long",
        "codedeploy:GetDeployment .deploymentInfo.extra: a key the model does not have",
        "codedeploy:GetDeployment .deploymentInfo.status: 'Bogus' is not one of the model's values",
    ]
    # Errors and unchecked services are left alone.
    checker.clear()
    checker.check("codedeploy", "GetDeployment", "json", "400 Bad Request", b'{"__type": "X"}')
    checker.check("ec2", "DescribeVpcs", "query", "200 OK", b"<xml/>")
    assert checker.violations() == []


def test_the_checker_reads_elbv2_query_xml() -> None:
    checker = ShapeChecker()
    checker.enabled = True
    xml = (
        '<DescribeListenersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">'
        "<DescribeListenersResult><Listeners><member><Port>eighty</Port><Protocol>GOPHER</Protocol>"
        "<DefaultActions><member><Type>forward</Type><Weight>1</Weight></member></DefaultActions>"
        "<AlpnPolicy/></member></Listeners></DescribeListenersResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeListenersResponse>"
    )
    checker.check("elasticloadbalancing", "DescribeListeners", "query", "200 OK", xml.encode())
    assert checker.violations() == [
        "elasticloadbalancing:DescribeListeners .Listeners[*].DefaultActions[*].Weight: a key the model does not have",
        "elasticloadbalancing:DescribeListeners .Listeners[*].Port: 'eighty' where the model has an integer",
        "elasticloadbalancing:DescribeListeners .Listeners[*].Protocol: 'GOPHER' is not one of the model's values",
    ]


def test_the_suite_checks_every_response_of_the_sandbox(endpoint: str) -> None:
    assert SHAPES.enabled
    stack = make_stack(endpoint)
    before = set(SHAPES.violations())
    deployment_id = stack.deploy()
    stack.wait(deployment_id, ("Succeeded",))
    target: Any = stack.target(deployment_id)
    assert target["taskSetsInfo"]
    assert set(SHAPES.violations()) == before  # our engine's answers match the model
