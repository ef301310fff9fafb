"""Reliability and security suites: shared fixtures and the session figures.

Every suite reports its figure (faults survived, examples tried, requests
counted, crashes simulated) through the `report` fixture: it is printed at
once (visible with -s / -rA) and collected into a "reliability figures"
section of the terminal summary, so plain CI output shows them too.
"""

from __future__ import annotations

import os

import pytest

# The tray part of the fault matrix builds Qt objects in this process.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def report(request):
    """report(figure): print a suite's figure and keep it for the session summary."""

    def _report(figure: str) -> None:
        print("\n" + figure)
        _FIGURES.append((request.node.nodeid, figure))

    return _report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for nodeid, figure in _FIGURES:
        name = nodeid.split("::", 1)[-1]
        for i, line in enumerate(figure.splitlines()):
            terminalreporter.write_line(f"{name}: {line}" if i == 0 else f"    {line}")
