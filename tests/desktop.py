"""Real desktop parts for tests: a private D-Bus session, a Secret Service,
Xvfb, a tray host. Each is a context manager that owns its processes and
ends them by PID; every wait is bounded.

Recipes from ../shared/DESKTOP-TESTING.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _stop(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


@contextmanager
def dbus_session(home: Path) -> Iterator[dict[str, str]]:
    """A private session bus; yields the environment that points at it."""
    runtime = home / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, env=env, text=True,
    )
    try:
        address = proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        yield env
    finally:
        _stop(proc)


@contextmanager
def secret_service(env: dict[str, str], password: str = "test-login-password") -> Iterator[dict[str, str]]:
    """An unlocked gnome-keyring Secret Service on the session bus in `env`."""
    proc = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    try:
        proc.stdin.write(password)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        keyring_env = {**env}
        keyring_env.pop("PYTHON_KEYRING_BACKEND", None)
        _wait_for_bus_name(env, "org.freedesktop.secrets")
        yield keyring_env
    finally:
        _stop(proc)


def _wait_for_bus_name(env: dict[str, str], name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
             "org.freedesktop.DBus.ListNames"], env=env, capture_output=True, text=True, timeout=5,
        ).stdout
        if f'"{name}"' in out:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not appear on the session bus")


def free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number")


@contextmanager
def xvfb(env: dict[str, str], size: str = "800x300x24") -> Iterator[dict[str, str]]:
    number = free_display()
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("Xvfb did not start")
            time.sleep(0.05)
        display_env = {**env, "DISPLAY": f":{number}"}
        display_env.pop("QT_QPA_PLATFORM", None)
        yield display_env
    finally:
        _stop(proc)


@contextmanager
def trayer(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """trayer: a small real XEmbed system tray host."""
    proc = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "48",
         "--transparent", "false", "--tint", "0x202020"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        yield proc
    finally:
        _stop(proc)


def have(*tools: str) -> bool:
    return all(shutil.which(tool) for tool in tools)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
