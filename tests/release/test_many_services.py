"""Several services in one release (issue 13), end to end: the real CLI against the sandbox over HTTP.

Three services (api, web, worker) released at once; one service's deployment failing with and without
--atomic, what serves each service afterwards read from the listeners and the primary task sets; a bad
task definition in one service writing nothing for any.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from support import cli
from support.jsonlines import events, summary

pytestmark = pytest.mark.e2e

SERVICES = ("api", "web", "worker")


@pytest.fixture
def three(sandbox: Any) -> Any:
    sandbox.reprovision(SERVICES)
    return sandbox


def primary(sandbox: Any, key: str) -> str:
    svc = sandbox.client("ecs").describe_services(cluster="demo", services=[key])["services"][0]
    sets = [ts for ts in svc.get("taskSets", []) if ts["status"] == "PRIMARY"]
    return str(sets[0]["taskDefinition"] if sets else svc["taskDefinition"])


def serving_group(sandbox: Any, key: str) -> str:
    """The target group that takes all of the service's production traffic (DescribeListeners)."""
    arn = sandbox.service_outputs(key)["prod_listener_arn"]
    action = sandbox.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    taking = [g for g in groups if int(g.get("Weight", 1)) > 0]
    assert len(taking) == 1, groups  # all production traffic on one target group
    return str(taking[0]["TargetGroupArn"]).split(":targetgroup/")[1].split("/")[0]


def group_of_task_set(sandbox: Any, key: str) -> str:
    """The target group of the service's primary task set."""
    svc = sandbox.client("ecs").describe_services(cluster="demo", services=[key])["services"][0]
    ts = next(ts for ts in svc["taskSets"] if ts["status"] == "PRIMARY")
    return str(ts["loadBalancers"][0]["targetGroupArn"]).split(":targetgroup/")[1].split("/")[0]


def images(sandbox: Any, tag: str) -> list[str]:
    return [f"--image={key}={sandbox.service_outputs(key)['ecr_repository_url']}:{tag}" for key in SERVICES]


def start(sandbox: Any, *args: str) -> subprocess.Popen[str]:
    """`orchestrator *args` against the sandbox, its output read as it comes."""
    return cli.start(*args, env=sandbox.env(), cwd=sandbox.repo_root)


def release(sandbox: Any, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return sandbox.cli("release", "--sandbox", "--output", "json", *args, timeout=timeout)


def test_three_services_released_at_once_each_serves_its_new_task_definition(three: Any) -> None:
    before = {k: primary(three, k) for k in SERVICES}
    res = release(three, "--all", *images(three, "v2"))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["ok"] and s["status"] == "Succeeded"
    assert list(s["services"]) == list(SERVICES)
    created = {}
    for key in SERVICES:
        one = s["services"][key]
        assert one["status"] == "Succeeded", one
        arn = one["task_definition_arn"]
        assert arn != before[key] and f"demo-{key}:" in arn
        assert primary(three, key) == arn == one["serving_task_definition"]
        assert one["image"] == three.service_outputs(key)["ecr_repository_url"] + ":v2"
        # The listener sends all production traffic to the primary task set's target group.
        assert serving_group(three, key) == group_of_task_set(three, key)
        created[key] = one["deployment_id"]
    # The deployments ran at once: each was created before any of them ended.
    cd = three.client("codedeploy")
    infos = cd.batch_get_deployments(deploymentIds=list(created.values()))["deploymentsInfo"]
    assert max(i["createTime"] for i in infos) < min(i["completeTime"] for i in infos)
    # Every event of a service carries its key; the summary's keys are the contract's.
    tagged = [e for e in events(res.stdout) if e["event"] in ("deployment_created", "service_state")]
    assert {e["service_key"] for e in tagged} == set(SERVICES)
    assert events(res.stdout)[0]["event"] == "fleet_started"


def test_shared_poller_polls_in_batches(three: Any) -> None:
    """Three deployments followed with BatchGetDeployments, not one GetDeployment loop each."""
    res = release(three, "--service", "web", "--service", "worker", *images(three, "v3")[1:])
    assert res.returncode == 0, res.stderr
    counts = three.counts()
    cd = counts.get("codedeploy", {})
    assert cd.get("BatchGetDeployments", 0) > 0, counts
    assert cd.get("GetDeployment", 0) <= 2, counts  # the policy reads, not the watch


def _fail_next_deployment(sandbox: Any, key: str = "worker") -> None:
    """The next deployment on the service's deployment group fails at AfterAllowTestTraffic (a fault on
    that group only: `sandbox fault --group NAME`)."""
    group = sandbox.service_outputs(key)["codedeploy_deployment_group_name"]
    sandbox.control.set_faults(
        fail_at="AfterAllowTestTraffic", message="smoke test failed: GET /health got 503", group=group
    )


def test_one_service_failing_without_atomic_leaves_the_others_released(three: Any) -> None:
    before = {k: primary(three, k) for k in SERVICES}
    _fail_next_deployment(three)
    res = release(three, "--all", *images(three, "v2"))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Failed" and not s["ok"]
    assert s["services"]["worker"]["status"] == "Failed"
    assert "smoke test failed" in s["services"]["worker"]["reason"]
    assert s["services"]["worker"]["rollback_deployment_id"]  # the group rolls back on failure
    assert primary(three, "worker") == before["worker"]
    for key in ("api", "web"):
        assert s["services"][key]["status"] == "Succeeded"
        assert primary(three, key) == s["services"][key]["task_definition_arn"] != before[key]
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith("error: worker: deployment d-") and "2 of 3 services succeeded" in err
    assert len(err) < 400


def test_atomic_rolls_every_service_back_when_one_fails(three: Any) -> None:
    before = {k: primary(three, k) for k in SERVICES}
    _fail_next_deployment(three)
    res = release(three, "--all", "--atomic", *images(three, "v2"))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "RolledBack" and s["atomic"] is True
    assert s["services"]["worker"]["status"] == "Failed"  # its own deployment failed (and rolled back)
    for key in SERVICES:
        one = s["services"][key]
        assert key == "worker" or one["status"] in ("RolledBack", "Skipped"), one
        # Each serves its previous task definition: primary task set and listener agree.
        assert primary(three, key) == before[key] == one["serving_task_definition"]
        assert serving_group(three, key) == group_of_task_set(three, key)
    # A service whose traffic had moved is back through CodeDeploy (a rollback deployment), not by hand.
    rolled = [k for k in SERVICES if s["services"][k]["rollback_deployment_id"]]
    assert rolled, s["services"]
    states = [(e["service_key"], e["state"]) for e in events(res.stdout) if e["event"] == "service_state"]
    assert ("worker", "failed") in states
    assert any(state in ("stopping", "rolling-back") for key, state in states if key != "worker")
    assert "every service rolled back (--atomic)" in res.stderr


def test_atomic_rolls_back_services_that_already_succeeded(three: Any) -> None:
    """One at a time (--max-parallel 1, in key order): api and web succeed before worker's deployment
    fails on its group's fault; both are redeployed to their previous task definitions through CodeDeploy."""
    before = {k: primary(three, k) for k in SERVICES}
    _fail_next_deployment(three, "worker")
    res = release(three, "--all", "--atomic", "--max-parallel", "1", *images(three, "v5"))
    assert res.returncode == 1, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "RolledBack"
    states = [(e["service_key"], e["state"]) for e in events(res.stdout) if e["event"] == "service_state"]
    for key in ("api", "web"):
        assert states.index((key, "succeeded")) < states.index(("worker", "deploying"))
        one = s["services"][key]
        assert one["status"] == "RolledBack", one
        rb = three.client("codedeploy").get_deployment(deploymentId=one["rollback_deployment_id"])["deploymentInfo"]
        assert rb["status"] == "Succeeded" and rb["creator"] == "user"  # a new deployment, as `rollback` makes
    for key in SERVICES:
        assert primary(three, key) == before[key]
        assert serving_group(three, key) == group_of_task_set(three, key)


def test_max_parallel_one_runs_one_deployment_at_a_time(three: Any) -> None:
    res = release(three, "--all", "--max-parallel", "1", *images(three, "v6"))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    ids = [s["services"][k]["deployment_id"] for k in SERVICES]
    infos = three.client("codedeploy").batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    by_id = {i["deploymentId"]: i for i in infos}
    for a, b in itertools.pairwise(ids):
        assert by_id[a]["completeTime"] <= by_id[b]["createTime"]


def test_a_bad_task_definition_in_one_service_writes_nothing_for_any(three: Any, tmp_path: Path) -> None:
    root = three.repo_root
    (tmp_path / "services" / "worker").mkdir(parents=True)
    for name in ("taskdef.json", "appspec.json"):
        (tmp_path / name).write_text((root / name).read_text())
    bad = json.loads((root / "taskdef.json").read_text())
    bad["containerDefinitions"][0]["memory"] = "lots"
    (tmp_path / "services" / "worker" / "taskdef.json").write_text(json.dumps(bad))
    res = three.cli("release", "--sandbox", "-o", "json", "--all", *images(three, "v7"), cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: worker: ") and "services/worker/taskdef.json" in err[0]
    assert three.mutating_calls() == []


def test_image_for_every_service_and_per_service_images(three: Any) -> None:
    repo = three.service_outputs("web")["ecr_repository_url"].rsplit("/", 1)[0]
    res = release(
        three,
        "--service",
        "web",
        "--service",
        "worker",
        "--image",
        f"{repo}/mono:v1",
        "--image",
        f"worker={repo}/demo-worker:special",
        "--dry-run",
    )
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "DryRun"
    assert s["services"]["web"]["image"] == f"{repo}/mono:v1"
    assert s["services"]["worker"]["image"] == f"{repo}/demo-worker:special"
    assert "api" not in s["services"]
    plans = [e for e in events(res.stdout) if e["event"] == "plan"]
    assert {e["service_key"] for e in plans} == {"web", "worker"}
    assert three.mutating_calls() == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--all", "--image", "nosuch=repo/x:1"], "'nosuch' is not a service"),
        (["--all", "--service", "web"], "--all and --service exclude each other"),
        (["--service", "web", "--service", "nope"], "no service 'nope'"),
        (["--all", "--taskdef", "taskdef.json"], "--taskdef taskdef.json names one service's file"),
        (["--all", "--pre-task", "migrate"], "--pre-task runs with one service's task definition"),
    ],
)
def test_bad_multi_service_options_are_one_line_and_write_nothing(three: Any, args: list[str], words: str) -> None:
    res = release(three, *args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert words in res.stderr
    assert three.mutating_calls() == []


def test_ctrl_c_with_stop_on_cancel_stops_every_deployment(three: Any) -> None:
    three.control.time_scale(0.05)  # slow enough to interrupt mid-way
    before = {k: primary(three, k) for k in SERVICES}
    proc = start(three, "release", "--sandbox", "-o", "json", "--all", "--stop-on-cancel", *images(three, "v8"))
    assert proc.stdout is not None
    deploying: set[str] = set()
    lines = []
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if event["event"] == "service_state" and event["state"] == "deploying":
            deploying.add(event["service_key"])
            if deploying == set(SERVICES):
                time.sleep(0.5)
                proc.send_signal(signal.SIGINT)
    proc.wait(timeout=180)
    assert proc.returncode == 130
    s = summary("".join(lines))
    ids = [s["services"][k]["deployment_id"] for k in SERVICES]
    infos = three.client("codedeploy").batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    assert {i["status"] for i in infos} == {"Stopped"}
    for key in SERVICES:
        assert primary(three, key) == before[key]


def test_rollback_all_returns_every_service_to_its_previous_task_definition(three: Any) -> None:
    before = {k: primary(three, k) for k in SERVICES}
    res = release(three, "--all", *images(three, "v9"))
    assert res.returncode == 0, res.stderr
    released = {k: primary(three, k) for k in SERVICES}
    assert all(released[k] != before[k] for k in SERVICES)
    back = three.cli("rollback", "--sandbox", "-o", "json", "--all", timeout=180)
    assert back.returncode == 0, back.stderr
    s = summary(back.stdout)
    assert s["status"] == "RolledBack"
    for key in SERVICES:
        assert s["services"][key]["status"] == "RolledBack"
        assert primary(three, key) == before[key] == s["services"][key]["serving_task_definition"]
        assert serving_group(three, key) == group_of_task_set(three, key)
    assert three.counts()["codedeploy"].get("BatchGetDeployments", 0) > 0


def test_rollback_all_with_nothing_to_roll_back_to_writes_nothing(three: Any) -> None:
    res = release(three, "--service", "web", *images(three, "v10")[1:2])
    assert res.returncode == 0, res.stderr
    three.control.reset_requests()
    back = three.cli("rollback", "--sandbox", "-o", "json", "--all", timeout=120)
    # api has only the task definition it was provisioned with: nothing to roll back to.
    assert back.returncode == 2, back.stdout + back.stderr
    assert back.stderr.strip().splitlines()[-1].startswith("error: api: ")
    assert three.mutating_calls() == []


def test_render_all_to_a_directory_then_deploy_it(three: Any, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    rendered = three.cli("render", "--sandbox", "--all", "--out-dir", str(out), *images(three, "v12"))
    assert rendered.returncode == 0, rendered.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{k}.json" for k in SERVICES]
    res = three.cli("deploy", str(out), "--sandbox", "--all", "-o", "json", timeout=180)
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    for key in SERVICES:
        arn = s["services"][key]["task_definition_arn"]
        assert primary(three, key) == arn
        td = three.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
        assert (
            td["containerDefinitions"][0]["image"]
            == json.loads((out / f"{key}.json").read_text())["containerDefinitions"][0]["image"]
        )


def test_deploy_of_several_services_needs_the_rendered_directory(three: Any, tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text("{}")
    res = three.cli("deploy", str(tmp_path), "--sandbox", "--all", "-o", "json")
    assert res.returncode == 2
    # The first service in order names its problem: api's file is missing (web's would be invalid).
    assert res.stderr.strip().splitlines() == [
        f"error: api: {tmp_path / 'api.json'}: no such file (render it with `orchestrator render --all --out-dir DIR`)"
    ]
    assert three.mutating_calls() == []


def test_plain_lines_say_which_service_they_are_about(three: Any) -> None:
    res = three.cli("release", "--sandbox", "-o", "plain", "--all", *images(three, "v13"), timeout=180)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    created = [line for line in lines if " created (" in line]
    assert sorted(line.split("]")[0] + "]" for line in created) == [f"[{k}]" for k in SERVICES]
    last = lines[-1]
    assert last.startswith("release succeeded") and all(k in last for k in SERVICES)


def test_no_wait_creates_every_deployment_and_says_how_to_follow(three: Any) -> None:
    res = release(three, "--all", "--no-wait", *images(three, "v14"))
    assert res.returncode == 0, res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Created"
    assert "3 deployments created, not followed" in s["message"]
    assert "orchestrator status --sandbox --all" in s["message"]
    ids = [s["services"][k]["deployment_id"] for k in SERVICES]
    infos = three.client("codedeploy").batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    assert len(infos) == 3 and all(i["status"] not in ("Failed", "Stopped") for i in infos)


def test_ctrl_c_without_stop_on_cancel_names_the_deployments_that_keep_running(three: Any) -> None:
    three.control.time_scale(0.05)
    proc = start(three, "release", "--sandbox", "-o", "json", "--all", *images(three, "v15"))
    assert proc.stdout is not None and proc.stderr is not None
    deploying: set[str] = set()
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "service_state" and event["state"] == "deploying":
            deploying.add(event["service_key"])
            if deploying == set(SERVICES):
                proc.send_signal(signal.SIGINT)
                break
    proc.stdout.read()
    proc.wait(timeout=60)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert "still running in CodeDeploy" in err and all(f"{k} (d-" in err for k in SERVICES)
    running = three.client("codedeploy").list_deployments(includeOnlyStatuses=["InProgress", "Created", "Queued"])
    assert len(running["deployments"]) == 3  # left running, as the message says


def test_timeout_with_on_timeout_stop_stops_every_late_deployment_and_exits_3(three: Any) -> None:
    """The budget runs out while all three deployments run: each is stopped with rollback, exit 3."""
    three.control.time_scale(0.05)
    before = {k: primary(three, k) for k in SERVICES}
    res = release(three, "--all", "--timeout", "1", "--on-timeout", "stop", *images(three, "v16"), timeout=240)
    assert res.returncode == 3, res.stdout[-2000:] + res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Failed"
    ids = [s["services"][k]["deployment_id"] for k in SERVICES]
    infos = three.client("codedeploy").batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    assert {i["status"] for i in infos} == {"Stopped"}
    for key in SERVICES:
        assert "stopped with rollback (--on-timeout stop)" in s["services"][key]["reason"]
        assert primary(three, key) == before[key]


@pytest.mark.parametrize("mode", [["-o", "json"], ["-o", "plain"], ["-o", "json", "--dry-run"], ["-o", "rich"]])
def test_container_environment_values_never_printed_for_several_services(three: Any, mode: list[str]) -> None:
    secret = "s3cr3t-fleet-value-9f2c"
    res = three.cli(
        "release", "--sandbox", "--all", *mode, "--container-env", f"API_TOKEN={secret}", *images(three, "v17"),
        timeout=180,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert secret not in res.stdout and secret not in res.stderr
    if "--dry-run" not in mode:  # the value was planted: every service's new task definition holds it
        for key in SERVICES:
            td = three.client("ecs").describe_task_definition(taskDefinition=primary(three, key))["taskDefinition"]
            assert {"name": "API_TOKEN", "value": secret} in td["containerDefinitions"][0]["environment"]


def _deploy_behind_its_back(sandbox: Any, key: str) -> str:
    """Another deployment on the service's group, created directly (as another pipeline would); linear
    traffic shifting makes it outlast a release of the default config."""
    out = sandbox.service_outputs(key)
    spec = json.loads((sandbox.repo_root / "appspec.json").read_text())
    target = spec["Resources"][0]["TargetService"]["Properties"]
    target["TaskDefinition"] = primary(sandbox, key)
    target["LoadBalancerInfo"] = {"ContainerName": out["container_name"], "ContainerPort": out["container_port"]}
    content = json.dumps(spec)
    return str(
        sandbox.client("codedeploy").create_deployment(
            applicationName=out["codedeploy_app_name"],
            deploymentGroupName=out["codedeploy_deployment_group_name"],
            deploymentConfigName="CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
            },
        )["deploymentId"]
    )


@pytest.mark.parametrize("if_active", ["fail", "wait"])
def test_a_deployment_that_takes_a_group_meanwhile_is_handled_by_if_active(three: Any, if_active: str) -> None:
    """--max-parallel 1: web's group is taken by another deployment while api deploys, after the policy
    checks; web's create then loses the race. fail: its revision is deregistered and web fails; wait:
    web deploys after the other deployment ends."""
    proc = start(
        three,
        "release",
        "--sandbox",
        "-o",
        "json",
        "-s",
        "api",
        "-s",
        "web",
        "--max-parallel",
        "1",
        "--if-active",
        if_active,
        *images(three, "v18")[:2],
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines, other = [], None
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if event["event"] == "service_state" and event["service_key"] == "api" and event["state"] == "deploying":
            other = _deploy_behind_its_back(three, "web")
    proc.wait(timeout=180)
    s = summary("".join(lines))
    web = s["services"]["web"]
    assert other is not None
    if if_active == "fail":
        assert proc.returncode == 1, proc.stderr.read()
        assert web["status"] == "Failed" and "another deployment started meanwhile" in web["reason"]
        td = three.client("ecs").describe_task_definition(taskDefinition=web["task_definition_arn"])
        assert td["taskDefinition"]["status"] == "INACTIVE"  # deregistered: never deployed
    else:
        assert proc.returncode == 0, proc.stderr.read()
        assert web["status"] == "Succeeded" and web["deployment_id"] != other
        assert primary(three, "web") == web["task_definition_arn"]


def test_a_busy_group_with_no_wait_follows_if_active(three: Any) -> None:
    """--no-wait still applies the policies first: --if-active wait deploys after the other deployment;
    --if-active fail refuses before anything is written, for every service."""
    _deploy_behind_its_back(three, "web")
    res = release(three, "--all", "--no-wait", "--if-active", "wait", *images(three, "v19"), timeout=180)
    assert res.returncode == 0, res.stderr
    assert summary(res.stdout)["status"] == "Created"
    # Real time from here: the deployments just created must still hold their groups when the next
    # release looks (at the tests' scale a loaded machine saw them end first).
    three.control.time_scale(1.0)
    three.control.reset_requests()  # web's and the others' deployments now hold their groups
    busy = release(three, "--service", "api", "--service", "web", "--no-wait", *images(three, "v20")[:2])
    assert busy.returncode == 1, busy.stderr
    assert busy.stderr.strip().splitlines()[-1].startswith("error: api: deployment d-")
    assert "is in progress" in busy.stderr and "nothing was written" in busy.stderr
    assert three.mutating_calls() == []


def test_one_service_failing_and_another_timing_out_exits_1(three: Any) -> None:
    """A failure and a timeout in one release: the failure decides the exit code (1, not 3); each service's
    own outcome stays in the summary."""
    three.control.time_scale(0.05)  # linear shifting (10 steps of a minute) outlasts the budget
    _fail_next_deployment(three, "worker")  # worker fails before its traffic moves
    res = release(
        three, "--service", "web", "--service", "worker", "--timeout", "20",
        "--deployment-config", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", *images(three, "v21")[1:],
        timeout=240,
    )  # fmt: skip
    assert res.returncode == 1, res.stdout[-2000:] + res.stderr
    s = summary(res.stdout)
    assert s["status"] == "Failed" and s["exit_code"] == 1
    assert s["services"]["worker"]["status"] == "Failed"
    assert s["services"]["web"]["status"] == "TimedOut"
