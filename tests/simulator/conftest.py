"""One simulator server per test module, on a manual clock; fresh keys per test."""

from __future__ import annotations

import httpx
import pytest

from traywidget.simulator import ManualClock, Simulator, SimulatorServer


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def server(clock):
    with SimulatorServer(Simulator(clock, stream_interval_s=0.05)) as srv:
        yield srv


@pytest.fixture
def sim(server):
    return server.sim


@pytest.fixture
def client():
    with httpx.Client(timeout=5) as c:
        yield c


@pytest.fixture
def rr(server):
    """routing.run base URL."""
    return server.url("routing.run")


@pytest.fixture
def orb(server):
    return server.url("openrouter")


@pytest.fixture
def rw(server):
    return server.url("routeway")
