"""Every `test_*.py` under tests/ is collected by pytest.

pytest's default `norecursedirs` skips directories such as `build` and `dist`: tests/build/ once held
33 tests that never ran. A file that fails to import, or that a conftest or `collect_ignore` hides,
is caught here too: it yields no test items.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def uncollected(root: Path, tests_dir: str = "tests") -> list[str]:
    """Test files under root/tests_dir for which `pytest --collect-only` (run in root) yields no item."""
    # Options from the caller's environment (-k, -m, -x, plugins) must not shrink the collection.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", tests_dir],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    collected = {line.split("::", 1)[0] for line in proc.stdout.splitlines() if "::" in line}
    on_disk = {p.relative_to(root).as_posix() for p in (root / tests_dir).rglob("test_*.py")}
    return sorted(on_disk - collected)


def test_every_test_file_is_collected() -> None:
    missing = uncollected(REPO_ROOT)
    assert missing == [], (
        f"pytest collects no test from {missing}: a directory pytest skips by default (build, dist, ...), "
        "an import error, or a collect_ignore; run `pytest --collect-only` on the file to see which"
    )


def test_the_check_sees_a_file_in_a_directory_pytest_skips(tmp_path: Path) -> None:
    # The failure this guards against, reproduced: pytest's norecursedirs includes `build`.
    for folder in ("imaging", "build"):
        (tmp_path / "tests" / folder).mkdir(parents=True)
        (tmp_path / "tests" / folder / "test_one.py").write_text("def test_one() -> None:\n    assert True\n")
    (tmp_path / "tests" / "test_broken.py").write_text("import no_such_module_here\n\ndef test_x(): pass\n")
    assert uncollected(tmp_path) == ["tests/build/test_one.py", "tests/test_broken.py"]
