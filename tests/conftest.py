"""Shared fixtures.

Desktop tools (Xvfb, trayer, dbus, dunst, gnome-keyring) are installed by
.ci/run. On a developer machine without them the tests that need them skip
with the reason; under CI=true a missing tool fails the test instead, so CI
can never go green by skipping the real-parts tests.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# No test may ever see a developer's real config, cache or keyring.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
# Nor speak a developer's own language: the commands and apps the tests start read their words in English
# (tests/i18n chooses the other languages itself).
os.environ["LANGUAGE"] = "en"

# Hypothesis: the full count in CI (CI=true), a tenth of it for a quick local run;
# HYPOTHESIS_PROFILE=ci runs the full count anywhere. Expensive properties take a
# share of the profile's count (tests/strategies.py `examples`), never a fixed number.
# Properties run real parsers on generated input; how long one example takes is no
# property of theirs (speed is measured by `python -m bench`): no deadline.
settings.register_profile("ci", settings.get_profile("ci"), max_examples=500, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that needs a desktop (marked `desktop`: Xvfb, a tray host, D-Bus, a Secret Service) is
    also `slow`, so the quick loop (`-m "not slow"`, README) never starts one. Every other slow test
    (a subprocess, real time over about a second) carries `@pytest.mark.slow` itself."""
    for item in items:
        if item.get_closest_marker("desktop") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


def require_tools(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} (installed by .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test but {message} is missing")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and cache directories."""
    config = tmp_path / "config"
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRAYWIDGET_CONFIG_DIR", str(config))
    monkeypatch.setenv("TRAYWIDGET_CACHE_DIR", str(cache))
    return tmp_path


@pytest.fixture(scope="session")
def simulator():
    """One loopback simulator for the session (reset per test by `sim`)."""
    from traywidget.simulator import SimulatorServer

    server = SimulatorServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sim(simulator):
    simulator.sim.reset()
    return simulator


@pytest.fixture(scope="session")
def keyring_home(tmp_path_factory):
    """A throwaway HOME with a private session bus and an unlocked gnome-keyring."""
    from tests.desktop_session import dbus_session, secret_service

    require_tools("dbus-daemon", "gnome-keyring-daemon", "dbus-send")
    home = tmp_path_factory.mktemp("home")
    with dbus_session(home) as env, secret_service(env) as keyring_env:
        yield home, keyring_env


@pytest.fixture
def utc_local_time(monkeypatch):
    """Clock times are shown in local time: pin the zone to UTC so the sentences are exact, and give
    the zone back afterwards (tzset again, or the next test would still be on UTC)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
