"""The package's architecture, checked: subpackages import each other in one direction only (no cycles, even
through imports inside functions), and only ``i2i/tasks/`` names a method."""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "i2i"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Every i2i module ``path`` imports, at the top or inside a function (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else []
            found.update(n for n in [target, *names] if n.startswith("i2i"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("i2i"))
    return found


def _unit(module: str) -> str:
    """The architectural unit of a module: its subpackage (i2i.tasks.pix2pix -> tasks), or the top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> {unit it imports: [files that do]} for the subpackages and top-level modules of i2i."""
    units = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in PACKAGE.rglob("*.py"):
        source = _unit(_module_name(path))
        for target in map(_unit, _imported_modules(path)):
            if target in units and source in units and target != source:
                graph[source][target].append(str(path.relative_to(PACKAGE.parent)))
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) is None


def test_subpackages_import_each_other_in_one_direction() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle:
        edges = [f"{a} -> {b} ({', '.join(sorted(set(graph[a][b]))[:3])})" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle between subpackages:\n  " + "\n  ".join(edges))


# Lower layers must not reach up: what each unit may never import, directly or inside a function.
FORBIDDEN = {
    "metrics": {"tasks", "engine", "training", "evaluation", "deploy"},
    "engine": {"tasks", "training", "evaluation", "deploy", "report", "metrics"},
    "models": {"tasks", "engine", "losses", "metrics", "data"},
    "hub": {"deploy", "tasks", "engine", "infer", "models"},
    "infer": {"tasks", "engine", "deploy", "models", "nn"},  # inference runs without torch
    "tasks": {"training", "evaluation", "deploy", "cli", "report", "sampling", "app"},
    "deploy": {"training", "cli", "app", "live"},
}


@pytest.mark.parametrize("unit", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(unit: str) -> None:
    graph = package_graph()
    wrong = {target: files for target, files in graph.get(unit, {}).items() if target in FORBIDDEN[unit]}
    assert not wrong, f"{unit} imports {wrong}"


def test_only_tasks_branch_on_a_method_name() -> None:
    """No comparison with a registered task's name (``task == "pix2pix"``, ``in ("srgan", ...)``) outside
    i2i/tasks/: what the rest needs to know about a method, the Task interface tells it."""
    from i2i.tasks import TASKS

    names = set(TASKS.names())
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "tasks"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                constants = [c for c in ast.walk(node) if isinstance(c, ast.Constant) and c.value in names]
                found += [f"{path.relative_to(PACKAGE.parent)}:{c.lineno} {c.value!r}" for c in constants]
    assert not found, f"method names outside i2i/tasks/: {found}"


def test_a_new_file_in_a_registry_package_is_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Networks and methods are found by scanning their package: dropping a file in registers what it defines."""
    from i2i.registry import Registry, import_submodules

    package = tmp_path / "plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_private.py").write_text("raise RuntimeError('modules starting with _ are not scanned')\n")
    for name in ("beta", "alpha"):
        (package / f"{name}.py").write_text(f"from i2i_test_registry import REG\n\n@REG.register('{name}_net')\n"
                                             f"def build():\n    return '{name}'\n")
    registry: Registry[str] = Registry("network")
    module = type(pytest)("i2i_test_registry")
    module.REG = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "i2i_test_registry", module)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_submodules("plugins", [str(package)]) == ["alpha", "beta"]
    assert registry.names() == ["alpha_net", "beta_net"]
    assert registry.create("beta_net") == "beta"

