"""The deploy job reads only what the build job's artifact carries: every `release/<file>` the deploy
job names is uploaded by the build job, and written by one of its steps before the upload. (A planted
bug dropped outputs.json from the upload: every deploy job would then fail, and no test noticed.)"""

from __future__ import annotations

import copy
import re
from typing import Any

from test_workflows import REPO_ROOT, load

DEPLOY = REPO_ROOT / ".github" / "workflows" / "deploy.yml"


def _texts(step: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")), *(str(v) for v in (step.get("with") or {}).values())]


def missing_from_the_artifact(doc: dict[str, Any]) -> list[str]:
    """Problems with the hand-over from build to deploy ([] when the deploy job has all it reads)."""
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    (upload,) = [s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    (download,) = [s for s in deploy["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    problems = []
    if upload["with"]["name"] != download["with"]["name"]:
        problems.append(f"uploaded as {upload['with']['name']!r}, downloaded as {download['with']['name']!r}")
    where = str(download["with"].get("path", "."))
    uploaded = {p.strip() for p in str(upload["with"]["path"]).splitlines() if p.strip()}
    read = {m for s in deploy["steps"] for t in _texts(s) for m in re.findall(rf"\b{re.escape(where)}/([\w.-]+)", t)}
    if not read:
        problems.append(f"the deploy job reads nothing from {where}/")
    problems += [
        f"the deploy job reads {where}/{f}, which the artifact does not carry" for f in sorted(read - uploaded)
    ]
    # Each uploaded file is written by a build step before the upload.
    before = build["steps"][: build["steps"].index(upload)]
    written = " ".join(t for s in before for t in _texts(s))
    problems += [
        f"the build job uploads {f} but no step before it writes it" for f in sorted(uploaded) if f not in written
    ]
    return problems


def test_the_artifact_carries_every_file_the_deploy_job_reads() -> None:
    doc = load(DEPLOY)
    assert missing_from_the_artifact(doc) == []
    deploy = doc["jobs"]["deploy"]
    reads = " ".join(t for s in deploy["steps"] for t in _texts(s))
    assert "release/outputs.json" in reads and "release/taskdef-new.json" in reads


def test_dropping_outputs_json_from_the_upload_is_caught() -> None:
    doc = load(DEPLOY)
    broken = copy.deepcopy(doc)
    (upload,) = [
        s for s in broken["jobs"]["build"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    ]
    upload["with"]["path"] = "taskdef-new.json\n"
    assert missing_from_the_artifact(broken) == [
        "the deploy job reads release/outputs.json, which the artifact does not carry"
    ]
    renamed = copy.deepcopy(doc)
    (download,) = [
        s for s in renamed["jobs"]["deploy"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@")
    ]
    download["with"]["name"] = "other"
    assert missing_from_the_artifact(renamed) == ["uploaded as 'release', downloaded as 'other'"]
