"""Which files each service's release uses (orchestrator/servicefiles.py) and which services a command
acts on (Outputs.select): the convention `services/<key>/taskdef.json|appspec.json` over the top-level
templates, and `--service` repeated / `--all`."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.outputs import service_values

from orchestrator.contract import parse_outputs
from orchestrator.errors import ExitCode, InputError
from orchestrator.servicefiles import files_for, service_files


def _outputs(*keys: str):
    return parse_outputs({"aws_region": "eu-west-1", "services": {k: service_values(k) for k in keys}}, "outputs.json")


def _write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The top-level templates; `worker` has its own task definition, `api` its own AppSpec."""
    _write(tmp_path / "taskdef.json")
    _write(tmp_path / "appspec.json")
    _write(tmp_path / "services" / "worker" / "taskdef.json")
    _write(tmp_path / "services" / "api" / "appspec.json")
    return tmp_path


def test_a_service_without_its_own_files_uses_the_top_level_templates(project: Path) -> None:
    files = service_files("web", project)
    assert (files.key, files.taskdef, files.appspec) == ("web", project / "taskdef.json", project / "appspec.json")


def test_each_file_comes_from_the_services_folder_when_it_is_there(project: Path) -> None:
    worker = service_files("worker", project)
    assert worker.taskdef == project / "services" / "worker" / "taskdef.json"
    assert worker.appspec == project / "appspec.json"  # no services/worker/appspec.json: the template
    api = service_files("api", project)
    assert api.taskdef == project / "taskdef.json"
    assert api.appspec == project / "services" / "api" / "appspec.json"


def test_explicit_files_win_over_the_convention(project: Path) -> None:
    mine = project / "elsewhere.json"
    files = service_files("worker", project, taskdef=mine)
    assert files.taskdef == mine
    assert files.appspec == project / "appspec.json"
    assert service_files("api", project, appspec=mine).appspec == mine


def test_the_default_root_is_the_working_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert service_files("worker").taskdef == Path("services/worker/taskdef.json")
    assert service_files("web").taskdef == Path("taskdef.json")


def test_files_for_keeps_the_order_given(project: Path) -> None:
    files = files_for(["worker", "api", "web"], project)
    assert list(files) == ["worker", "api", "web"]
    assert files["worker"].taskdef == project / "services" / "worker" / "taskdef.json"
    assert files["web"].taskdef == project / "taskdef.json"


def test_files_for_one_service_takes_explicit_files(project: Path) -> None:
    mine = project / "mine.json"
    files = files_for(["worker"], project, taskdef=mine, appspec=mine)
    assert (files["worker"].taskdef, files["worker"].appspec) == (mine, mine)


@pytest.mark.parametrize("option", ["taskdef", "appspec"])
def test_explicit_files_with_several_services_are_refused(project: Path, option: str) -> None:
    with pytest.raises(InputError) as err:
        files_for(["web", "worker"], project, **{option: Path("x.json")})
    assert err.value.exit_code == ExitCode.BAD_INPUT
    text = str(err.value)
    assert f"--{option} x.json" in text and "2 services" in text
    assert f"services/<key>/{option}.json" in text  # says where each service's file goes instead


# --- Outputs.select: the keys a command acts on ---


def test_select_all_is_every_service_sorted() -> None:
    assert _outputs("worker", "web", "api").select(None, every=True) == ["api", "web", "worker"]


def test_select_keeps_the_order_given_and_each_key_once() -> None:
    assert _outputs("worker", "web", "api").select(["worker", "api", "worker"]) == ["worker", "api"]


def test_select_without_names_is_the_only_service() -> None:
    assert _outputs("web").select(None) == ["web"]
    assert _outputs("web").select([]) == ["web"]


def test_select_without_names_among_several_says_how_to_choose() -> None:
    with pytest.raises(InputError) as err:
        _outputs("web", "worker").select(None)
    assert "2 services (web, worker)" in str(err.value)
    assert "--all" in str(err.value)


def test_select_an_unknown_key_names_the_known_ones() -> None:
    with pytest.raises(InputError) as err:
        _outputs("web", "worker").select(["web", "nope"])
    assert "no service 'nope'" in str(err.value) and "web, worker" in str(err.value)


def test_select_all_and_names_exclude_each_other() -> None:
    with pytest.raises(InputError) as err:
        _outputs("web", "worker").select(["web"], every=True)
    assert "--all and --service exclude each other" in str(err.value)
