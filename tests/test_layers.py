"""The floors of the code, read from the imports themselves. This file is their one statement.

    1  traywidget.model, traywidget.i18n   values, state predicates, the error hierarchy; the catalog
    2  traywidget.providers                pure translation per provider
    3  traywidget.present                  Qt-free words and judgements every view shares
    4  traywidget.store                    config, secrets, cache, history: what is kept on disk
    5  traywidget.engine                   polling, scheduling, readings, the HTTP layer, its thread
       traywidget.desktop                  autostart, notifications, assets, host checks, doctor
    6  traywidget.gateway                  the local pass-through proxy (stands on the engine's loop)
    7  ui, cli, simulator, demo, __main__  views, commands, the loopback fake

An import may point down a floor, or sideways inside its own package; never up,
and never to another package of the same floor below the top. Every import
counts, lazy ones inside functions and TYPE_CHECKING ones included: a lazy
import up is still an arrow up. No module may take part in an import cycle.

On the top floor, packages meet only through each other's front door (the
package itself, or a module named in FRONT_DOORS), never through internals;
and the CLI never imports the GUI: what both need lives below them.
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
    "traywidget.present": 3,
    "traywidget.store": 4,
    "traywidget.engine": 5,
    "traywidget.desktop": 5,
    "traywidget.gateway": 6,
    "traywidget.ui": 7,
    "traywidget.cli": 7,
    "traywidget.demo": 7,
    "traywidget.simulator": 7,
    "traywidget.__main__": 7,
    "traywidget.resources": 0,  # data only
    "traywidget.locale": 0,  # data only (the translation catalogs)
}
TOP_FLOOR = 7
# What one top-floor package may import of another, besides the package itself.
FRONT_DOORS = {
    "traywidget.ui.app",  # run_app: the one GUI start-up path, for __main__
    "traywidget.demo",  # the built-in demo, for the GUI and the CLI's --demo
}
# Pairs that never meet at all, even through a front door.
FORBIDDEN = {("traywidget.cli", "traywidget.ui")}


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
            # `from traywidget.present import alerts` imports the module traywidget.present.alerts;
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
            if (source_pkg, target_pkg) in FORBIDDEN:
                problems.append(f"{source} imports {target}: {source_pkg} must never import {target_pkg}")
            elif target_floor > source_floor:
                problems.append(f"{source} (floor {source_floor}) imports {target} (floor {target_floor})")
            elif target_floor == source_floor and target_pkg != source_pkg:
                if source_floor < TOP_FLOOR:
                    problems.append(f"{source} imports {target}: two packages of floor {source_floor} must not meet")
                elif target != target_pkg and target not in FRONT_DOORS:
                    problems.append(f"{source} imports {target}: reach {target_pkg} through its front door")
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
        ({"traywidget.model.state": {"traywidget.engine.engine"}},
         ["traywidget.model.state (floor 1) imports traywidget.engine.engine (floor 5)"]),
        ({"traywidget.providers.openrouter": {"traywidget.present.text"}},
         ["traywidget.providers.openrouter (floor 2) imports traywidget.present.text (floor 3)"]),
        ({"traywidget.engine.engine": {"traywidget.simulator.runner"}},
         ["traywidget.engine.engine (floor 5) imports traywidget.simulator.runner (floor 7)"]),
        ({"traywidget.store.config": {"traywidget.engine.schedule"}},
         ["traywidget.store.config (floor 4) imports traywidget.engine.schedule (floor 5)"]),
        ({"traywidget.engine.engine": {"traywidget.model", "traywidget.providers.base", "traywidget.store.config"}},
         []),
        ({"traywidget.gateway.server": {"traywidget.store.secrets", "traywidget.engine.loop_thread"}}, []),
        ({"traywidget.engine.engine": {"traywidget.gateway.server"}},
         ["traywidget.engine.engine (floor 5) imports traywidget.gateway.server (floor 6)"]),
        ({"traywidget.engine.engine": {"traywidget.desktop.notifications"}},
         ["traywidget.engine.engine imports traywidget.desktop.notifications: two packages of floor 5 must not meet"]),
        ({"traywidget.cli.polling": {"traywidget.ui.tray"}},
         ["traywidget.cli.polling imports traywidget.ui.tray: traywidget.cli must never import traywidget.ui"]),
        ({"traywidget.cli.polling": {"traywidget.ui"}},
         ["traywidget.cli.polling imports traywidget.ui: traywidget.cli must never import traywidget.ui"]),
        ({"traywidget.cli.system": {"traywidget.simulator.world"}},
         ["traywidget.cli.system imports traywidget.simulator.world: "
          "reach traywidget.simulator through its front door"]),
        ({"traywidget.cli.system": {"traywidget.simulator", "traywidget.demo"}}, []),
        ({"traywidget.__main__": {"traywidget.ui.app", "traywidget.cli"}}, []),
    ],
)
def test_the_checker_sees_an_arrow_up(graph, expected):
    assert upward_arrows(graph) == expected


def test_the_checker_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
