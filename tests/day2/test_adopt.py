"""`orchestrator adopt` end to end: a rolling service made through the AWS API (not by the stack) is
adopted; `render` of what it writes equals the live task definition; the import blocks parse and name
only resources the root defines; secrets and services the roots cannot hold are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.jsonlines import of_kind, summary

pytestmark = pytest.mark.e2e


def _live(sandbox, arn: str) -> dict:
    from orchestrator.drift import comparable
    from orchestrator.ecs_read import without_empty
    from orchestrator.taskdef import strip_read_only

    td = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return comparable(without_empty(strip_read_only(td, arn)))


def test_adopt_a_rolling_service_renders_back_to_its_live_task_definition(sandbox, legacy, tmp_path) -> None:
    from orchestrator.drift import comparable

    before = len(sandbox.mutating_calls())
    res = sandbox.cli(
        "adopt", "--sandbox", "--cluster", legacy.cluster, "--ecs-service", "legacy", "-o", "json", cwd=tmp_path
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(sandbox.mutating_calls()) == before  # read-only against AWS
    done = summary(res.stdout)
    assert done["deployment_engine"] == "ecs"
    assert done["imports"] == ['module.ecs_native_service["legacy"].aws_ecs_service.this']
    written = {e["path"] for e in of_kind(res.stdout, "file_written")}
    assert written == {
        str(Path(".") / p)
        for p in (
            "services/legacy/taskdef.json",
            "services/legacy/outputs.json",
            "terraform/ecs-native/adopt-legacy.tf",
            "terraform/ecs-native/adopt-legacy.services.hcl",
        )
    }
    # The ECS-native root (terraform/ecs-native/, another issue's) defines its service at this address.
    assert _imports(tmp_path / "terraform/ecs-native/adopt-legacy.tf") == [
        ('module.ecs_native_service["legacy"].aws_ecs_service.this', "demo/legacy")
    ]
    template = json.loads((tmp_path / "services/legacy/taskdef.json").read_text())
    assert template["executionRoleArn"] == "${task_execution_role_arn}"
    assert template["taskRoleArn"] == "${task_role_arn}"
    (app,) = template["containerDefinitions"]
    assert app["image"] == "${image}"
    assert app["logConfiguration"]["options"]["awslogs-group"] == "${log_group_name}"
    assert app["logConfiguration"]["options"]["awslogs-region"] == "${aws_region}"
    outputs = json.loads((tmp_path / "services/legacy/outputs.json").read_text())
    entry = outputs["services"]["value"]["legacy"]
    assert entry["deployment_engine"] == "ecs" and entry["container_name"] == "app"
    assert entry["task_execution_role_arn"] == legacy.execution_role_arn
    assert entry["prod_listener_rule_arn"] == legacy.rule_arn
    assert entry["blue_target_group_name"] == "legacy-app"

    from legacy import LEGACY_IMAGE

    rendered = tmp_path / "rendered.json"
    res = sandbox.cli(
        "render",
        "--outputs-file",
        "services/legacy/outputs.json",
        "--image",
        LEGACY_IMAGE,
        "--out-file",
        str(rendered),
        "--show-values",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert comparable(json.loads(rendered.read_text())) == _live(sandbox, legacy.task_definition_arn)

    # diff of the adopted files: equal; a local edit: different.
    res = sandbox.cli("diff", "--outputs-file", "services/legacy/outputs.json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    template["memory"] = "1024"
    (tmp_path / "services/legacy/taskdef.json").write_text(json.dumps(template))
    res = sandbox.cli("diff", "--outputs-file", "services/legacy/outputs.json", cwd=tmp_path)
    assert res.returncode == 1 and '+  "memory": "1024"' in res.stdout

    again = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "legacy", cwd=tmp_path)
    assert again.returncode == 2
    assert (
        again.stderr.strip()
        == f"error: {Path('.') / 'services/legacy/taskdef.json'} exists; nothing written (--force overwrites)"
    )


def _imports(path: Path) -> list[tuple[str, str]]:
    import hcl2

    with path.open() as handle:
        doc = hcl2.load(handle)
    # python-hcl2 gives an expression as "${...}" and a string with its quotes.
    return [
        (str(b["to"]).removeprefix("${").removesuffix("}"), str(b["id"]).strip('"')) for b in doc.get("import") or []
    ]


def test_adopt_a_codedeploy_service_writes_imports_the_root_defines(sandbox, tmp_path) -> None:
    import shutil

    from orchestrator.adopt_terraform import root_addresses

    shutil.copytree(sandbox.repo_root / "terraform", tmp_path / "terraform")
    shutil.copytree(sandbox.repo_root / "modules", tmp_path / "modules")
    image = sandbox.service_outputs()["ecr_repository_url"] + ":v7"
    rel = sandbox.cli("release", "--sandbox", "--image", image, "-o", "plain")
    assert rel.returncode == 0, rel.stdout + rel.stderr

    res = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "web", "-o", "json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    imports = _imports(tmp_path / "terraform/adopt-web.tf")
    defined = root_addresses(tmp_path / "terraform")
    assert defined is not None
    for address, _ in imports:
        generic = address.replace('["web"]', '["*"]')
        assert generic in defined, address
    assert dict(imports) == {
        'module.ecs_service["web"].aws_ecs_service.this': "demo/web",
        'module.codedeploy["web"].aws_codedeploy_app.this': "demo-web",
        'module.codedeploy["web"].aws_codedeploy_deployment_group.this': "demo-web:demo-web",
        'module.ecs_service["web"].aws_cloudwatch_log_group.this': "/ecs/demo/web",
        'module.ecr["web"].aws_ecr_repository.this': "demo/web",
    }
    skipped = {e["resource"]: e["reason"] for e in of_kind(res.stdout, "import_skipped")}
    assert "shared" in skipped["aws_ecs_cluster.this"]
    assert any("aws_iam_role" in r for r in skipped)
    # The AppSpec is the last deployment's, with the task definition back to its placeholder.
    spec = json.loads((tmp_path / "services/web/appspec.json").read_text())
    props = spec["Resources"][0]["TargetService"]["Properties"]
    assert props["TaskDefinition"] == "<TASK_DEFINITION>" and props["LoadBalancerInfo"]["ContainerName"] == "web"
    entry = (tmp_path / "terraform/adopt-web.services.hcl").read_text()
    assert 'container_name = "web"' in entry and "deployment_config_name" in entry
    # The adopted files are what a release would send: diff with them says equal.
    res = sandbox.cli("diff", "--outputs-file", "services/web/outputs.json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    # A release from the adopted files succeeds, and diff is equal after it too.
    rel = sandbox.cli(
        "release",
        "--outputs-file",
        "services/web/outputs.json",
        "--image",
        image + "-adopted",
        "-o",
        "plain",
        cwd=tmp_path,
    )
    assert rel.returncode == 0, rel.stdout + rel.stderr
    res = sandbox.cli("diff", "--outputs-file", "services/web/outputs.json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_adopt_refuses_secret_looking_values_and_unrepresentable_services(sandbox, tmp_path) -> None:
    from legacy import create_legacy

    create_legacy(
        sandbox,
        environment=[
            {"name": "PORT", "value": "8080"},
            {"name": "DB_PASSWORD", "value": "hunter2-very-secret"},
            {"name": "UPSTREAM", "value": "https://bob:pw1234@example.com/x"},
        ],
    )
    res = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "legacy", cwd=tmp_path)
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert "app.DB_PASSWORD, app.UPSTREAM" in line and "secrets" in line
    assert "hunter2" not in res.stdout + res.stderr and "pw1234" not in res.stdout + res.stderr
    assert list(tmp_path.iterdir()) == []

    res = sandbox.cli(
        "adopt",
        "--sandbox",
        "--cluster",
        "demo",
        "--ecs-service",
        "legacy",
        "--omit-env",
        "DB_PASSWORD",
        "--omit-env",
        "UPSTREAM",
        "-o",
        "plain",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    text = (tmp_path / "services/legacy/taskdef.json").read_text()
    assert "hunter2" not in text and "pw1234" not in text and "DB_PASSWORD" not in text
    assert "left out of services/legacy/taskdef.json: DB_PASSWORD, UPSTREAM" in res.stdout

    (tmp_path / "x").mkdir()
    ecs = sandbox.client("ecs")
    legacy = ecs.describe_services(cluster="demo", services=["legacy"])["services"][0]
    ecs.create_service(
        cluster="demo",
        serviceName="onec2",
        taskDefinition=legacy["taskDefinition"],
        desiredCount=1,
        launchType="EC2",
        # awsvpc task definitions need one on EC2 too (CreateService: networkConfiguration)
        networkConfiguration=legacy["networkConfiguration"],
    )
    res = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "onec2", cwd=tmp_path / "x")
    assert res.returncode == 2
    assert res.stderr.strip() == (
        "error: service onec2 cannot be adopted without replacing it: its launch type is EC2; "
        "the roots run FARGATE services, and launch_type is replaced, not updated"
    )
    missing = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "nope", cwd=tmp_path / "x")
    assert missing.returncode == 2 and missing.stderr.startswith("error: --ecs-service nope in --cluster demo: ")
    assert list((tmp_path / "x").iterdir()) == []


def test_adopt_a_rolling_service_into_the_ecs_native_root_uses_its_own_import(sandbox, legacy, tmp_path) -> None:
    import shutil

    import hcl2

    from orchestrator.adopt_terraform import root_addresses, root_import_targets

    shutil.copytree(sandbox.repo_root / "terraform", tmp_path / "terraform")
    shutil.copytree(sandbox.repo_root / "modules", tmp_path / "modules")
    res = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "legacy", "-o", "json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    root = tmp_path / "terraform/ecs-native"
    address = 'module.ecs_native_service["legacy"].aws_ecs_service.this'
    assert summary(res.stdout)["imports"] == [address]
    # terraform/ecs-native/imports.tf imports every adopt_existing service: a second block would be a
    # duplicate import, so none is written, and the entry says adopt_existing = true.
    assert not (root / "adopt-legacy.tf").exists()
    assert 'module.ecs_native_service["*"].aws_ecs_service.this' in root_import_targets(root)
    assert 'module.ecs_native_service["*"].aws_ecs_service.this' in (root_addresses(root) or set())
    with (root / "adopt-legacy.services.hcl").open() as handle:
        entry = hcl2.load(handle)["services"]["legacy"]
    assert entry["strategy"] == '"ROLLING"' or entry["strategy"] == "ROLLING"
    assert entry["adopt_existing"] is True and entry["circuit_breaker_rollback"] is True
    skipped = {e["resource"]: e["reason"] for e in of_kind(res.stdout, "import_skipped")}
    assert "ecs_native_shared output" in skipped['ecs_native_shared.services["legacy"]']


def test_adopt_top_level_writes_the_project_templates(sandbox, legacy, tmp_path) -> None:
    res = sandbox.cli(
        "adopt",
        "--sandbox",
        "--cluster",
        "demo",
        "--ecs-service",
        "legacy",
        "--key",
        "app",
        "--top-level",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "taskdef.json").is_file() and not (tmp_path / "services/app/taskdef.json").exists()
    outputs = json.loads((tmp_path / "services/app/outputs.json").read_text())
    assert list(outputs["services"]["value"]) == ["app"]
    assert outputs["services"]["value"]["app"]["service_name"] == "legacy"
    # The top-level template is the service's file when it has none of its own.
    res = sandbox.cli("diff", "--outputs-file", "services/app/outputs.json", "-o", "json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    bad = sandbox.cli("adopt", "--sandbox", "--cluster", "demo", "--ecs-service", "legacy", "--key", "Bad Key")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --key 'Bad Key': 1-32 lower-case letters")
