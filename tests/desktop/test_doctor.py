"""`traywidget doctor`: says what is missing without crashing, every probe bounded; and on a real
private desktop (Xvfb, trayer, D-Bus, dunst, gnome-keyring) the checks pass."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_tools
from tests.desktop_session import dbus_session, dunst, secret_service, trayer, xvfb
from traywidget.desktop import doctor
from traywidget.desktop.doctor import FAIL, INFO, OK, WARN, Check


def _bare_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CURRENT_DESKTOP",
                        "XDG_SESSION_TYPE", "QT_QPA_PLATFORM")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(tmp_path / "no-runtime"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    return env


def _run_doctor(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "traywidget", "doctor", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _by_key(data: list[dict]) -> dict[str, dict]:
    return {item["key"]: item for item in data}


# --- nothing there ---------------------------------------------------------------------------


@pytest.mark.slow
def test_no_display_no_bus_no_keyring_reports_what_is_missing(tmp_path: Path) -> None:
    env = _bare_env(tmp_path)
    started = time.monotonic()
    proc = _run_doctor(env)
    assert time.monotonic() - started < 30
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    assert "no display" in out
    assert "no D-Bus session bus" in out
    assert "no keyring" in out.lower()
    assert "gnome-keyring" in out and "KWallet" in out
    assert "dunst" in out
    assert "3 things to look at: System tray, Notifications, Keyring." in out

    as_json = _run_doctor(env, "--json")
    assert as_json.returncode == 1  # the same rule with --json
    data = _by_key(json.loads(as_json.stdout))
    assert data["tray"]["state"] == FAIL
    assert data["notifications"]["state"] == FAIL
    assert data["keyring"]["state"] == FAIL
    assert set(data["tray"]) == {"key", "title", "state", "detail", "hint"}
    assert data["tray"]["detail"] == "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    assert data["config"]["detail"].startswith(os.environ["TRAYWIDGET_CONFIG_DIR"])
    assert "TRAYWIDGET_CONFIG_DIR" in data["config"]["detail"]


def test_run_doctor_in_process_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    checks = doctor.run_doctor()
    keys = [c.key for c in checks]
    assert keys == ["session", "tray", "notifications", "keyring", "config", "cache", "autostart"]
    assert all(isinstance(c, Check) and c.state in (OK, WARN, FAIL, INFO) for c in checks)
    assert all(c.hint for c in checks if c.state == FAIL)


def test_dead_bus_address_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/nobody-here")
    started = time.monotonic()
    check = doctor.check_notifications()
    assert time.monotonic() - started < 5
    assert check.state == FAIL and "no D-Bus session bus" in check.text("detail")


@pytest.mark.slow
def test_a_bus_that_never_answers_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket that accepts and then says nothing: the probe gives up after its timeout."""
    path = tmp_path / "silent-bus"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={path}")
        started = time.monotonic()
        result = doctor._dbus_query([doctor.NOTIFICATIONS], timeout=0.5)
        assert time.monotonic() - started < 5
        assert result["bus"] is False and result["error"]
    finally:
        server.close()


def test_bounded_returns_default_on_timeout_and_error() -> None:
    started = time.monotonic()
    assert doctor._bounded(lambda: time.sleep(10), 0.2, "d") == ("d", "timed out after 0.2 s")
    assert time.monotonic() - started < 2
    value, error = doctor._bounded(lambda: 1 / 0, 1, None)
    assert value is None and error.startswith("ZeroDivisionError")


@pytest.mark.slow
def test_keyring_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail, null

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    assert doctor.check_keyring().state == FAIL
    monkeypatch.setattr(keyring, "get_keyring", lambda: null.Keyring())
    assert doctor.check_keyring().state == FAIL

    class Hangs(keyring.backend.KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            time.sleep(10)

        def set_password(self, *a):
            raise AssertionError("doctor must never write")

        def delete_password(self, *a):
            raise AssertionError("doctor must never delete")

    monkeypatch.setattr(keyring, "get_keyring", lambda: Hangs())
    check = doctor.check_keyring(timeout=0.3)
    assert check.state == FAIL and "timed out" in check.text("detail")

    class Fine(Hangs):
        def get_password(self, service, username):
            assert (service, username) == ("traywidget", "keyring-check")
            return None

    monkeypatch.setattr(keyring, "get_keyring", lambda: Fine())
    assert doctor.check_keyring().state == OK


def test_tray_hint_follows_the_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "ubuntu:GNOME")
    assert "AppIndicator and KStatusNotifierItem Support" in doctor._tray_hint()
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "sway")
    assert "waybar" in doctor._tray_hint()
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", "")
    assert "trayer" in doctor._tray_hint()


def test_frozen_probe_runs_the_binary_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert doctor._tray_probe_command() == [sys.executable]


def test_format_report() -> None:
    checks = [
        Check("tray", "System tray", FAIL, "no tray host", "install one"),
        Check("keyring", "Keyring", OK, "SecretService.Keyring: usable"),
        Check("config", "Config directory", INFO, "/tmp/x"),
    ]
    text = doctor.format_report(checks)
    assert "[XX] System tray" in text and "-> install one" in text
    assert "[ok] Keyring" in text and text.endswith("\n\n1 thing to look at: System tray.")
    assert doctor.format_report(checks[1:]).endswith("Everything traywidget needs is here.")


def test_check_text_is_filled_in_and_english_in_json() -> None:
    check = Check("cache", "Cache directory", FAIL, "{path}: not writable", "Point {env} at a writable directory.",
                  params={"path": "/x", "env": "TRAYWIDGET_CACHE_DIR"})
    assert check.to_dict() == {"key": "cache", "title": "Cache directory", "state": FAIL,
                               "detail": "/x: not writable",
                               "hint": "Point TRAYWIDGET_CACHE_DIR at a writable directory."}
    german = {"{path}: not writable": "{path}: nicht beschreibbar"}
    assert check.text("detail", lambda msgid: german.get(msgid, msgid)) == "/x: nicht beschreibbar"


def test_one_exit_rule_failures_count_warnings_do_not() -> None:
    ok = Check("keyring", "Keyring", OK, "usable")
    warn = Check("notifications", "Notifications", WARN, "balloons")
    fail = Check("tray", "System tray", FAIL, "no tray")
    info = Check("config", "Config directory", INFO, "/tmp/x")
    assert doctor.exit_code([ok, info]) == 0
    assert doctor.exit_code([ok, warn, info]) == 0
    assert doctor.exit_code([ok, warn, fail]) == 1


@pytest.mark.slow
def test_packaging_entry_runs_the_tray_probe(tmp_path: Path) -> None:
    """packaging/entry.py (the frozen binary's entry) answers the probe when asked through the env."""
    entry = Path(__file__).resolve().parents[2] / "packaging" / "entry.py"
    env = {**_bare_env(tmp_path), "TRAYWIDGET_DOCTOR_PROBE": "tray", "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, str(entry)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"tray": False, "platform": "offscreen"}


# --- a real private desktop --------------------------------------------------------------------


@pytest.mark.desktop
def test_xvfb_without_a_tray_host_says_so(tmp_path: Path) -> None:
    require_tools("Xvfb")
    with xvfb(_bare_env(tmp_path)) as env:
        env["XDG_CURRENT_DESKTOP"] = "GNOME"
        data = _by_key(json.loads(_run_doctor(env, "--json").stdout))
    assert data["tray"]["state"] == FAIL
    assert "_NET_SYSTEM_TRAY_S0" in data["tray"]["detail"]
    assert "AppIndicator" in data["tray"]["hint"]


@pytest.mark.desktop
def test_xvfb_with_trayer_finds_the_tray(tmp_path: Path) -> None:
    require_tools("Xvfb", "trayer")
    with xvfb(_bare_env(tmp_path)) as env, trayer(env):
        data = _by_key(json.loads(_run_doctor(env, "--json").stdout))
    assert data["tray"]["state"] == OK, data["tray"]
    assert "XEmbed" in data["tray"]["detail"]


@pytest.mark.desktop
def test_notifications_say_which_path_they_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own rule (notification_server_available) decides; doctor says it in words."""
    require_tools("dbus-daemon", "dbus-send", "Xvfb", "dunst")
    with dbus_session(tmp_path / "bare", services=[]) as env:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", env["DBUS_SESSION_BUS_ADDRESS"])
        check = doctor.check_notifications()
        assert (check.state, check.text("detail")) == (
            WARN, "no notification server on the session bus (org.freedesktop.Notifications): alerts are the "
                  "tray's own balloons")
        with xvfb(env) as display, dunst(display, tmp_path / "dunst.log"):
            check = doctor.check_notifications()
    assert check.state == OK
    assert check.text("detail").startswith("sent over D-Bus to the desktop's notification server (dunst")
    services = tmp_path / "services"
    services.mkdir()
    (services / "org.freedesktop.Notifications.service").write_text(
        "[D-BUS Service]\nName=org.freedesktop.Notifications\nExec=/usr/bin/dunst\n")
    with dbus_session(tmp_path / "activatable", services=[services]) as env:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", env["DBUS_SESSION_BUS_ADDRESS"])
        check = doctor.check_notifications()
    assert (check.state, check.text("detail")) == (
        OK, "sent over D-Bus to org.freedesktop.Notifications (its server starts on demand)")


@pytest.mark.desktop
def test_notifications_and_keyring_pass_on_a_private_session(tmp_path: Path) -> None:
    require_tools("Xvfb", "dbus-daemon", "dbus-send", "dunst", "gnome-keyring-daemon")
    base = _bare_env(tmp_path)
    with dbus_session(tmp_path / "home") as bus_env, xvfb(bus_env) as env:
        dunst = subprocess.Popen(["dunst"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            from tests.desktop_session import _wait_for_bus_name

            _wait_for_bus_name(env, doctor.NOTIFICATIONS)
            env["PYTHON_KEYRING_BACKEND"] = base["PYTHON_KEYRING_BACKEND"]
            with secret_service(env) as kenv:
                proc = _run_doctor(kenv, "--json")
        finally:
            dunst.terminate()
            dunst.wait(5)
    data = _by_key(json.loads(proc.stdout))
    assert data["notifications"]["state"] == OK
    assert data["notifications"]["detail"].startswith("sent over D-Bus to the desktop's notification server (dunst")
    assert data["keyring"]["state"] == OK and "SecretService" in data["keyring"]["detail"]
