"""The house rules a newcomer relies on: where modules live, thin handlers, no import
cycles (see README, Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"__init__", "cli", "demo", "app", "web", "runtime", "jobs", "ids"}
HANDLER_MAX_LINES = 25


def test_bot_top_level_holds_only_entry_points() -> None:
    modules = {path.stem for path in (ROOT / "bot").glob("*.py")}
    assert modules <= ENTRY_POINTS, f"move {sorted(modules - ENTRY_POINTS)} into a layer folder"


def test_handlers_are_thin() -> None:
    too_long = []
    for path in (ROOT / "handlers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > HANDLER_MAX_LINES:
                    too_long.append(f"{path.name}:{node.name} ({length} lines)")
    assert not too_long, f"handlers over {HANDLER_MAX_LINES} lines: {too_long}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Module-level imports between the project's own modules (imports inside functions
    are the deliberate way to break a cycle, so they are not counted)."""
    paths = [
        p
        for package in ("bot", "handlers", "models")
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    ]
    known = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = _module_name(path)
        targets: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def test_no_import_cycles() -> None:
    graph = _imports()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
