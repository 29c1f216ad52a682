"""End to end, as the deploy workflow runs it, against the sandbox: a real image build of app/ with
buildah, a real push into the sandbox's docker-registry, then render + deploy of exactly that image.

Runs under a simulated GitHub Actions environment so that the step outputs the workflow relies on
(image, task_definition_arn, deployment_id) are checked too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from support.jsonlines import summary

from orchestrator.sandbox.registry import registry_binary, stop_registry

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah not installed (apt-get install buildah)"),
    pytest.mark.skipif(
        registry_binary() is None, reason="docker-registry not installed (apt-get install docker-registry)"
    ),
    pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None, reason="gcc/make needed for app/"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        name, delim = lines[i].split("<<", 1)
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return out


def registry_digest(image_ref: str) -> str:
    """The digest the registry itself reports for repository:tag."""
    host, rest = image_ref.split("/", 1)
    repo, tag = rest.rsplit(":", 1)
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}", method="HEAD")
    req.add_header("Accept", MANIFEST_TYPES)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(resp.headers["Docker-Content-Digest"])


@pytest.fixture
def buildah_env(tmp_path: Path) -> dict[str, str]:
    """buildah with its own vfs storage and auth file (no system state touched), chroot isolation."""
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{tmp_path}/graph"\nrunroot = "{tmp_path}/run"\n')
    return {
        "CONTAINERS_STORAGE_CONF": str(conf),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "BUILDAH_ISOLATION": "chroot",
    }


def test_build_push_render_deploy(sandbox, tmp_path: Path, buildah_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "app")], check=True, capture_output=True, timeout=120)
    gh_output, gh_summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {
        **buildah_env,
        "GITHUB_ACTIONS": "true",
        "ORCHESTRATOR_GITHUB": "on",
        "GITHUB_OUTPUT": str(gh_output),
        "GITHUB_STEP_SUMMARY": str(gh_summary),
    }
    try:
        built = sandbox.cli(
            "build", "--sandbox", "--builder", "buildah", "--context", "app", "--output", "json", env=env, timeout=300
        )
        assert built.returncode == 0, built.stderr + built.stdout[-3000:]
        s = summary(built.stdout)
        repo, digest = s["image"].split("@")
        registry = repo.split("/", 1)[0]
        assert registry.startswith("127.0.0.1:")
        assert repo.endswith("/" + sandbox.service_outputs()["ecr_repository_url"].split("/", 1)[1])
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        assert s["tags"][0].startswith(sha) and s["git_sha"] == sha
        # What we report is what the registry holds under the commit tag.
        assert registry_digest(f"{repo}:{s['tags'][0]}") == digest
        # The registry is recorded in the sandbox state for later commands.
        assert json.loads((sandbox.sandbox_dir / "server.json").read_text())["registry"] == registry

        rendered = tmp_path / "taskdef-new.json"
        r = sandbox.cli("render", "--sandbox", "--out-file", str(rendered), "--image", s["image"], env=env)
        assert r.returncode == 0, r.stderr
        td = json.loads(rendered.read_text())
        assert td["containerDefinitions"][0]["image"] == s["image"]

        d = sandbox.cli("deploy", str(rendered), "--sandbox", "--output", "json", env=env, timeout=120)
        assert d.returncode == 0, d.stderr + d.stdout[-3000:]
        ds = summary(d.stdout)
        assert ds["ok"] is True and ds["status"] == "Succeeded"
        ecs = sandbox.client("ecs")
        live = ecs.describe_task_definition(taskDefinition=ds["task_definition_arn"])["taskDefinition"]
        assert live["containerDefinitions"][0]["image"] == s["image"]

        # The step outputs the workflow passes between steps and jobs.
        outputs = read_outputs(gh_output)
        assert outputs["image"] == s["image"]
        assert outputs["task_definition_arn"] == ds["task_definition_arn"]
        assert outputs["deployment_id"] == ds["deployment_id"]
        text = gh_summary.read_text()
        assert "### ✅ orchestrator build succeeded" in text and "### ✅ orchestrator deploy succeeded" in text
    finally:
        stop_registry(sandbox.sandbox_dir)


def test_release_build_pushes_then_releases_the_pushed_digest(  # type: ignore[no-untyped-def]
    sandbox, tmp_path: Path, buildah_env: dict[str, str]
) -> None:
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "app")], check=True, capture_output=True, timeout=120)
    try:
        # Bad input is found before the build: nothing is built, pushed or registered.
        bad = tmp_path / "appspec.json"
        bad.write_text(json.dumps({"version": 0.0, "Resources": []}))
        r = sandbox.cli(
            "release", "--sandbox", "--build", "--builder", "buildah", "--build-context", "app",
            "--appspec", str(bad), env=buildah_env, timeout=120,
        )  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert "appspec.json" in r.stderr
        assert sandbox.mutating_calls() == []
        # No registry was even started for the push.
        assert json.loads((sandbox.sandbox_dir / "server.json").read_text()).get("registry") is None

        r = sandbox.cli(
            "release", "--sandbox", "--build", "--builder", "buildah", "--build-context", "app",
            "--output", "json", env=buildah_env, timeout=300,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr + r.stdout[-3000:]
        events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        pushed = next(e for e in events if e["event"] == "image_pushed")
        s = events[-1]
        assert s["event"] == "summary" and s["status"] == "Succeeded"
        assert "@sha256:" in s["image"] and s["image"] == pushed["image"]
        assert registry_digest(f"{s['image'].split('@')[0]}:{pushed['tags'][0]}") == s["image"].split("@")[1]
        live = sandbox.client("ecs").describe_task_definition(taskDefinition=s["task_definition_arn"])
        assert live["taskDefinition"]["containerDefinitions"][0]["image"] == s["image"]
    finally:
        stop_registry(sandbox.sandbox_dir)
