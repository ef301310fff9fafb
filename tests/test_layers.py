"""The floors of the code, read from the imports themselves.

    1  traywidget.model       values, state predicates, the error hierarchy, HTTP result types
    2  traywidget.providers   pure translation per provider
    3  traywidget.core        engine, scheduling, config, secrets, cache, history, alerts, ...
    4  ui, cli, app, demo, doctor, simulator, __main__   (views, commands, the loopback fake)

An import may point down a floor, or sideways inside its own package; never up,
and never to another package of the same floor below floor 4. Every import
counts, lazy ones inside functions and TYPE_CHECKING ones included: a lazy
import up is still an arrow up. No module may take part in an import cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import traywidget

PACKAGE_ROOT = Path(traywidget.__file__).parent

# Longest prefix wins. traywidget/__init__.py (names and the version) is floor 0.
FLOORS: dict[str, int] = {
    "traywidget": 0,
    "traywidget.model": 1,
    "traywidget.i18n": 1,
    "traywidget.providers": 2,
    "traywidget.core": 3,
    "traywidget.gateway": 3,
    "traywidget.ui": 4,
    "traywidget.cli": 4,
    "traywidget.app": 4,
    "traywidget.demo": 4,
    "traywidget.doctor": 4,
    "traywidget.simulator": 4,
    "traywidget.__main__": 4,
    "traywidget.resources": 0,  # data only
    "traywidget.locale": 0,  # data only (the translation catalogs)
}
TOP_FLOOR = 4
# The one sanctioned meeting on a floor: the gateway stands on core (config's
# rules, the secret store) beside the engine, which never imports it.
SIDEWAYS = {("traywidget.gateway", "traywidget.core")}


def floor_of(module: str) -> tuple[int, str]:
    """(floor, the FLOORS entry that decided it) for a traywidget module."""
    best = max((prefix for prefix in FLOORS if module == prefix or module.startswith(prefix + ".")), key=len)
    return FLOORS[best], best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str) -> set[str]:
    """Every traywidget module `module` imports, at any depth of the file."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from traywidget.core import alerts` imports the module traywidget.core.alerts;
            # `from traywidget.model import State` imports the package traywidget.model.
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if is_module(submodule) else target)
    return {name for name in found if name == "traywidget" or name.startswith("traywidget.")}


def is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:]) if "." in name else Path()
    candidate = PACKAGE_ROOT / relative
    return candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file()


def project_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in imports_of(path, name) if target in modules and target != name}
    return graph


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(graph.items()):
        source_floor, source_pkg = floor_of(source)
        for target in sorted(targets):
            target_floor, target_pkg = floor_of(target)
            if target_pkg == "traywidget" and target_floor == 0:
                continue  # APP_NAME and __version__: everyone may read them
            if target_floor > source_floor:
                problems.append(f"{source} (floor {source_floor}) imports {target} (floor {target_floor})")
            elif (target_floor == source_floor and target_pkg != source_pkg and source_floor < TOP_FLOOR
                  and (source_pkg, target_pkg) not in SIDEWAYS):
                problems.append(f"{source} imports {target}: two packages of floor {source_floor} must not meet")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_arrow_points_up():
    assert upward_arrows(project_graph()) == []


def test_no_import_cycle():
    assert cycles(project_graph()) == []


def test_every_module_has_a_floor():
    unplaced = [m for m in project_graph() if floor_of(m)[1] == "traywidget" and m != "traywidget"]
    assert unplaced == [], "add these modules to FLOORS (or move them into a package that has one)"


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"traywidget.model.state": {"traywidget.core.engine"}},
         ["traywidget.model.state (floor 1) imports traywidget.core.engine (floor 3)"]),
        ({"traywidget.providers.openrouter": {"traywidget.ui.text"}},
         ["traywidget.providers.openrouter (floor 2) imports traywidget.ui.text (floor 4)"]),
        ({"traywidget.core.engine": {"traywidget.simulator.server"}},
         ["traywidget.core.engine (floor 3) imports traywidget.simulator.server (floor 4)"]),
        ({"traywidget.core.engine": {"traywidget.model", "traywidget.providers.base"}}, []),
        ({"traywidget.ui.tray": {"traywidget.cli"}}, []),
        ({"traywidget.gateway.server": {"traywidget.core.secrets"}}, []),
        ({"traywidget.core.engine": {"traywidget.gateway.server"}},
         ["traywidget.core.engine imports traywidget.gateway.server: two packages of floor 3 must not meet"]),
    ],
)
def test_the_checker_sees_an_arrow_up(graph, expected):
    assert upward_arrows(graph) == expected


def test_the_checker_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
