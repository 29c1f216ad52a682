"""Dependencies point one way (issues 10 and 18): CLI (cli.py, commands/) -> domain -> AWS access, the
reporters (report/) and the sandbox are leaves the domain never imports, and no module imports another
module's private names. Read from the modules' own imports (ast), imports inside functions included, so
a new arrow the wrong way fails here; only `if TYPE_CHECKING:` imports (never run) are left out of the
cycle check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "orchestrator"
CLI = ("orchestrator.cli", "orchestrator.commands", "orchestrator.__main__")
SANDBOX = "orchestrator.sandbox"
# The renderers; the interface the domain emits through (events.Reporter) lives with the events.
REPORTERS = "orchestrator.report"
# The one domain module that may look at the sandbox: it decides whether the target is the sandbox.
TARGET_RESOLUTION = {"orchestrator.target"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The orchestrator modules an import statement loads (`from pkg import mod` names the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("orchestrator")]
    base = node.module or ""
    if node.level:
        pkg = module.split(".")
        if MODULES[module].name != "__init__.py":
            pkg = pkg[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, base] if base else pkg)
    if not base.startswith("orchestrator"):
        return []
    found = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.append(sub if sub in MODULES else base)
    return found


def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text(), str(MODULES[module]))


def run_imports(module: str) -> set[str]:
    """Every orchestrator module `module` may load when it runs: module level and inside functions,
    not what `if TYPE_CHECKING:` blocks import for the type checker alone."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_targets(node, module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_tree(module))
    return found - {module}


def imports(module: str, *, module_level_only: bool) -> set[str]:
    """Every orchestrator module `module` imports: everywhere (functions, TYPE_CHECKING blocks), or
    only what runs when it is imported (module-level statements, not under TYPE_CHECKING)."""
    tree = _tree(module)
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_targets(node, module))
            elif isinstance(node, ast.If) and module_level_only:
                if not _is_type_checking(node):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try | ast.With) and module_level_only:
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    if module_level_only:
        visit(tree.body)
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_targets(node, module))
    return found - {module}


def _under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


DOMAIN = [
    m
    for m in MODULES
    if m != "orchestrator" and not _under(m, CLI) and not _under(m, SANDBOX) and not _under(m, REPORTERS)
]


def test_the_module_list_is_read() -> None:
    assert {"orchestrator.plan", "orchestrator.target", "orchestrator.commands.release"} <= set(MODULES)
    assert "orchestrator.target" in imports("orchestrator.commands.release", module_level_only=False)
    # a function-level import is seen, a TYPE_CHECKING import is not a load-time import
    assert "orchestrator.sandbox.state" in imports("orchestrator.target", module_level_only=False)
    assert "orchestrator.sandbox.state" not in imports("orchestrator.target", module_level_only=True)
    assert "orchestrator.sandbox.state" in run_imports("orchestrator.target")  # inside a function
    assert "orchestrator.sandbox.state" in imports("orchestrator.target", module_level_only=False)


@pytest.mark.parametrize("module", DOMAIN)
def test_the_domain_imports_neither_the_cli_nor_the_reporters_nor_the_sandbox(module: str) -> None:
    wrong = sorted(m for m in imports(module, module_level_only=False) if _under(m, CLI) or _under(m, REPORTERS))
    if module not in TARGET_RESOLUTION:
        wrong += sorted(m for m in imports(module, module_level_only=False) if _under(m, SANDBOX))
    assert not wrong, f"{module} imports {', '.join(wrong)}"


def test_the_sandbox_does_not_import_the_cli() -> None:
    wrong = {
        f"{m} -> {dep}"
        for m in MODULES
        if _under(m, SANDBOX)
        for dep in imports(m, module_level_only=False)
        if _under(dep, CLI)
    }
    assert not wrong, sorted(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in graph, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = walk(dep)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_orchestrator_modules() -> None:
    """Imports inside functions count: a cycle hidden in a function is still a knot to untie."""
    graph = {m: {d for d in run_imports(m) if d in MODULES} for m in MODULES}
    # a package's __init__ is loaded before its submodules: that edge is not a cycle
    for m, deps in graph.items():
        deps.difference_update({p for p in deps if _under(m, p)})
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(module: str) -> list[str]:
    """`from orchestrator.x import _name` of another module's private name (`as _alias` of a public one
    is fine)."""
    found = []
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("orchestrator"):
            if node.module == module:
                continue
            found += [f"{node.module}.{a.name}" for a in node.names if _private(a.name)]
    return found


def test_private_names_are_told_from_public_ones() -> None:
    assert _private("_limit") and _private("_x_")
    assert not _private("__version__") and not _private("limit")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_another_modules_private_names(module: str) -> None:
    wrong = private_imports(module)
    assert not wrong, f"{module} imports {', '.join(wrong)}"
