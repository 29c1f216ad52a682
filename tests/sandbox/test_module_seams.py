"""The sandbox follows moto's seam: state and rules (backend modules), wire format (responses), and
moto_ext.py that only patches moto and hands the engine over. No module reaches the engine or the
patches through another module's globals."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "orchestrator" / "sandbox"
# Modules given the engine as an argument; they may name its type, never import its module at run time.
ENGINE_PASSED_IN = (
    "codedeploy_backend",
    "codedeploy_responses",
    "ecs_backend",
    "hooks_api",
    "hooks",
    "alarms",
    "shapes",
    "moto_ext",
)


def runtime_imports(module: str) -> set[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks (function-level imports included)."""
    tree = ast.parse((SANDBOX / f"{module}.py").read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_engine_is_passed_in_not_imported() -> None:
    for module in ENGINE_PASSED_IN:
        assert "orchestrator.sandbox.engine" not in runtime_imports(module), module


def test_nothing_but_the_launcher_reaches_the_patches() -> None:
    for path in SANDBOX.glob("*.py"):
        if path.stem in ("moto_ext", "launcher"):
            continue
        found = [i for i in runtime_imports(path.stem) if i.startswith("orchestrator.sandbox.moto_ext")]
        assert found == [], path.stem


def test_moto_ext_only_patches() -> None:
    """No state and no rules in moto_ext.py: its functions are install() and the engine binder."""
    tree = ast.parse((SANDBOX / "moto_ext.py").read_text())
    functions = sorted(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    assert functions == ["_with_engine", "install"]
    assert not [n for n in tree.body if isinstance(n, ast.ClassDef)]


COMMANDS = SANDBOX.parents[0] / "commands"
OWN = [*SANDBOX.glob("*.py"), *COMMANDS.glob("sandbox*.py")]


def test_modules_and_functions_stay_small() -> None:
    """No sandbox module over 600 lines, no function body over 80 (docstring aside)."""
    for path in OWN:
        source = path.read_text()
        assert len(source.splitlines()) <= 600, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:] or body
                length = (body[-1].end_lineno or 0) - body[0].lineno + 1
                assert length <= 80, f"{path.name}: {node.name} has a {length}-line body"


def test_no_import_cycle_among_sandbox_modules() -> None:
    """Imports inside functions count too (only `if TYPE_CHECKING:` imports do not)."""
    prefix = "orchestrator.sandbox."
    graph = {
        path.stem: {i[len(prefix) :].split(".")[0] for i in runtime_imports(path.stem) if i.startswith(prefix)}
        for path in SANDBOX.glob("*.py")
    }
    graph = {name: {d for d in deps if d in graph and d != name} for name, deps in graph.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = sorted(name for name in graph if reaches(name, name, set()))
    assert cycles == []
