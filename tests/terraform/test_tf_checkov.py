"""checkov on modules/ and terraform/: zero failed checks, and every skip justified on its resource."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tfhelpers import MODULES_DIR, REPO_ROOT, ROOT_DIR

CHECKOV = REPO_ROOT / ".venv-tools" / "checkov" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"#checkov:skip=([A-Z0-9_]+)(?::(.*))?$")


def _checkov(directory: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--compact",
            "--skip-download",  # no network: use the bundled checks only
            "--download-external-modules",
            "false",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return terraform


@pytest.fixture(scope="module")
def reports() -> dict[Path, dict[str, Any]]:
    """Both scans at once: each takes seconds of mostly single-threaded work."""
    if not CHECKOV.is_file():
        pytest.skip(f"{CHECKOV.relative_to(REPO_ROOT)} is missing: run `make tools`")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {d: pool.submit(_checkov, d) for d in (MODULES_DIR, ROOT_DIR)}
        return {d: f.result() for d, f in futures.items()}


@pytest.mark.parametrize("directory", [MODULES_DIR, ROOT_DIR], ids=["modules", "terraform"])
def test_checkov_finds_no_failed_checks(directory: Path, reports: dict[Path, dict[str, Any]]) -> None:
    report = reports[directory]
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert summary["parsing_errors"] == 0
    # Not vacuous: the resources were seen and checked.
    assert summary["resource_count"] >= 30
    assert summary["passed"] >= 100
    for skipped in report["results"].get("skipped_checks", []):
        reason = skipped.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) >= 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"


def _skip_comments() -> list[tuple[Path, int, str, str]]:
    found = []
    for path in sorted(list(MODULES_DIR.glob("*/*.tf")) + list(ROOT_DIR.glob("*.tf"))):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = SKIP_COMMENT.search(line.strip())
            if m:
                found.append((path, number, m.group(1), (m.group(2) or "").strip()))
    return found


def test_every_checkov_skip_is_inline_on_its_resource_with_a_reason() -> None:
    comments = _skip_comments()
    assert comments, "no checkov skips at all? then this test can go"
    for path, number, check, reason in comments:
        where = f"{path.relative_to(REPO_ROOT)}:{number}"
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), f"{where}: {check} is not a checkov AWS check id"
        assert len(reason) >= 40, f"{where}: skip of {check} needs a reason that says why"
        # Inside a resource/data block (indented), not a file-wide suppression.
        line = path.read_text().splitlines()[number - 1]
        assert line.startswith("  #checkov:skip="), f"{where}: put the skip inside the resource it applies to"
