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
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def stop_process(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """Terminate, then kill if it will not go; always reaped."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={tmp}</listen>
  <auth>EXTERNAL</auth>
  {servicedirs}
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextmanager
def dbus_session(home: Path, services: list[Path] | None = None) -> Iterator[dict[str, str]]:
    """A private session bus; yields the environment that points at it.

    `services`: the only folders of D-Bus-activatable services the bus knows (none for []), instead of
    the machine's standard ones (where, for instance, an installed dunst is activatable)."""
    runtime = home / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    command = ["dbus-daemon", "--session", "--nofork", "--print-address=1"]
    if services is not None:
        config = home / "session-bus.conf"
        config.write_text(_BUS_CONFIG.format(
            tmp=runtime, servicedirs="".join(f"<servicedir>{folder}</servicedir>" for folder in services)))
        command = ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    try:
        address = proc.stdout.readline().strip()  # type: ignore[union-attr]  # started with stdout=PIPE
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        yield env
    finally:
        stop_process(proc)


@contextmanager
def secret_service(env: dict[str, str], password: str = "test-login-password") -> Iterator[dict[str, str]]:
    """An unlocked gnome-keyring Secret Service on the session bus in `env`."""
    proc = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    try:
        proc.stdin.write(password)  # type: ignore[union-attr]  # started with stdin=PIPE
        proc.stdin.close()  # type: ignore[union-attr]  # started with stdin=PIPE
        keyring_env = {**env}
        keyring_env.pop("PYTHON_KEYRING_BACKEND", None)
        _wait_for_bus_name(env, "org.freedesktop.secrets")
        yield keyring_env
    finally:
        stop_process(proc)


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
    """A private Xvfb. It picks a free display itself (-displayfd), so parallel test runs cannot race
    for the same number and end up drawing on each other's server."""
    import select

    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        data = b""
        deadline = time.monotonic() + 10
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                raise RuntimeError("Xvfb did not start")
            chunk = os.read(read_fd, 64)
            if not chunk:
                raise RuntimeError(f"Xvfb did not start (exit {proc.poll()})")
            data += chunk
        display_env = {**env, "DISPLAY": f":{int(data)}"}
        display_env.pop("QT_QPA_PLATFORM", None)
        yield display_env
    finally:
        os.close(read_fd)
        stop_process(proc)


@contextmanager
def trayer(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """trayer: a small real XEmbed system tray host, up (its "panel" window exists) when this yields.
    An app started before the tray exists finds no tray and never docks.

    On a loaded machine trayer has been seen to exit at once, now and then (never reproduced alone):
    it is started once more, and a second early exit fails with what trayer printed."""
    for attempt in (1, 2):
        log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - outlives this block: closed when trayer stops
        proc = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "48",
             "--transparent", "false", "--tint", "0x202020"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            if _trayer_panel_up(proc, env):
                break
            log.seek(0)
            printed = log.read().strip()[-500:]
        finally:
            if proc.poll() is not None:
                log.close()
        if attempt == 2:
            raise RuntimeError(f"trayer exited ({proc.returncode}) twice: {printed or 'it printed nothing'}")
    try:
        yield proc
    finally:
        stop_process(proc)
        log.close()


def _trayer_panel_up(proc: subprocess.Popen, env: dict[str, str]) -> bool:
    """True once trayer's panel window exists (and it had a moment to claim the tray); False if it exited."""
    if not shutil.which("xwininfo"):
        time.sleep(0.5)
        return proc.poll() is None

    def panel_up() -> bool | None:
        if proc.poll() is not None:
            return None
        tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True,
                              timeout=10).stdout
        return '"panel" "trayer"' in tree

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = panel_up()
        if state is None:
            return False
        if state:
            time.sleep(0.2)  # the panel exists; let it claim the tray selection
            return proc.poll() is None
        time.sleep(0.05)
    raise TimeoutError("trayer's panel window not reached within 10 s")


def have(*tools: str) -> bool:
    return all(shutil.which(tool) for tool in tools)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the app under a real desktop
REPO = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; that value, or TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


@contextmanager
def background(cmd: list[str], env: dict[str, str], log: Path | None = None, **popen) -> Iterator[subprocess.Popen]:
    """Any helper process, owned: stdout+stderr to `log` (or discarded), ended by its PID on exit."""
    out = open(log, "w") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(cmd, env=env, stdout=popen.pop("stdout", out), stderr=popen.pop("stderr",
                                                                                            subprocess.STDOUT),
                            **popen)
    try:
        yield proc
    finally:
        stop_process(proc)
        if log is not None:
            out.close()  # type: ignore[union-attr]  # a file when log is given


def app_env(env: dict[str, str], root: Path, instance: str, demo_port: int | None = None) -> dict[str, str]:
    """The environment for a throwaway app: private config/cache, instance name, demo port, no real keyring."""
    app = {
        **env,
        "TRAYWIDGET_CONFIG_DIR": str(root / "config"),
        "TRAYWIDGET_CACHE_DIR": str(root / "cache"),
        "TRAYWIDGET_INSTANCE_NAME": instance,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(REPO),
    }
    if demo_port is not None:
        app["TRAYWIDGET_DEMO_PORT"] = str(demo_port)
    return app


def app_command(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "traywidget", *args]


def sim_call(port: int, path: str, body: dict | None = None, timeout: float = 5.0) -> dict:
    """GET (body None) or POST JSON to the demo simulator's /_sim control API."""
    import json
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_sim/{path}", data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def sim_up(port: int) -> bool:
    try:
        return bool(sim_call(port, "health", timeout=1.0).get("ok"))
    except OSError:
        return False


# --------------------------------------------------------------------------- X11 inspection
def x(env: dict[str, str], *cmd: str, timeout: float = 10.0) -> str:
    return subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=timeout, check=True).stdout


_GEOMETRY = r"(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)"


def x_windows(env: dict[str, str]) -> list[dict]:
    """Every window of `xwininfo -root -tree`: id, name, class, depth (indent), w, h, absolute x, y."""
    import re

    # The tree is walked window by window: one that closes meanwhile (a notification, a menu) fails the
    # whole walk with BadWindow. A new walk sees the windows as they are now.
    for attempt in range(5):
        try:
            out = x(env, "xwininfo", "-root", "-tree")
            break
        except subprocess.CalledProcessError:
            if attempt == 4:
                raise
    windows = []
    for line in out.splitlines():
        m = re.match(r"^(\s+)(0x[0-9a-f]+) (\"(?:[^\"]*)\"|\(has no name\)):? \(([^)]*)\)\s+" + _GEOMETRY + r"\s*$",
                     line)
        if not m:
            continue
        indent, wid, name, klass, w, h, ax, ay = m.groups()
        windows.append({"id": wid, "name": name.strip('"') if name.startswith('"') else "",
                        "class": klass, "indent": len(indent), "w": int(w), "h": int(h),
                        "x": int(ax), "y": int(ay)})
    return windows


def docked_icon(env: dict[str, str], name: str = "Traywidget") -> dict | None:
    """The app's icon window docked inside trayer's "panel" window, or None."""
    windows = x_windows(env)
    for i, win in enumerate(windows):
        if '"panel" "trayer"' not in win["class"]:
            continue
        for child in windows[i + 1:]:
            if child["indent"] <= win["indent"]:
                break
            if child["name"] == name and child["w"] > 1 and child["h"] > 1:
                return child
    return None


def _stats(env: dict[str, str], wid: str) -> str:
    """`xwininfo -stats` of a window; "" if it is gone (windows come and go between two calls)."""
    return subprocess.run(["xwininfo", "-id", wid, "-stats"], env=env, capture_output=True, text=True,
                          timeout=10).stdout


def override_redirect(env: dict[str, str], wid: str) -> bool:
    return "Override Redirect State: yes" in _stats(env, wid)


def mapped(env: dict[str, str], wid: str) -> bool:
    return "Map State: IsViewable" in _stats(env, wid)


def screenshot(env: dict[str, str], path: Path) -> Path:
    x(env, "import", "-window", "root", str(path), timeout=20)
    return path


def region_stats(path: Path, x0: int, y0: int, w: int, h: int) -> tuple[float, int]:
    """(standard deviation 0..1 over all channels, number of distinct colours) of a rectangle of an image."""
    out = subprocess.run(
        ["convert", str(path), "-crop", f"{w}x{h}+{x0}+{y0}", "+repage", "-format", "%[fx:standard_deviation] %k",
         "info:"], capture_output=True, text=True, timeout=20, check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


# --------------------------------------------------------------------------- D-Bus desktop services
@contextmanager
def dunst(env: dict[str, str], log: Path | None = None) -> Iterator[subprocess.Popen]:
    """dunst as org.freedesktop.Notifications (needs DISPLAY in env)."""
    conf = Path(env.get("HOME", "/tmp")) / "dunstrc"
    if not conf.exists():
        conf.write_text("[global]\n    timeout = 2\n")
    with background(["dunst", "-config", str(conf)], env, log) as proc:
        _wait_for_bus_name(env, "org.freedesktop.Notifications")
        yield proc


class Lines:
    """Lines a process prints, collected by a thread, so a test can wait for one with a bound."""

    def __init__(self, stream) -> None:
        import threading

        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def join(self, timeout: float) -> None:
        """Wait until the stream is read to its end (the process has exited)."""
        self._thread.join(timeout)

    def wait_for(self, prefix: str, timeout: float) -> str:
        return wait_until(lambda: next((line for line in self.lines if line.startswith(prefix)), None), timeout,
                          what=f"a line starting {prefix!r}")


@contextmanager
def sni_watcher(env: dict[str, str]) -> Iterator[Lines]:
    """tests/e2e/sni_watcher.py on the bus, so Qt uses StatusNotifierItem + Notify. Yields its event lines."""
    import sys

    with background([sys.executable, "-u", str(REPO / "tests" / "e2e" / "sni_watcher.py")], env,
                    stdout=subprocess.PIPE, stderr=None, text=True) as proc:
        events = Lines(proc.stdout)
        try:
            events.wait_for("ready", 10)
        except TimeoutError:
            raise RuntimeError(f"sni_watcher did not start (exit {proc.poll()}): {events.lines}") from None
        yield events


@contextmanager
def dbus_monitor(env: dict[str, str], match: str, log: Path) -> Iterator[Path]:
    """dbus-monitor on the session bus writing the matching messages to `log`."""
    with background(["stdbuf", "-oL", "dbus-monitor", "--session", match] if shutil.which("stdbuf")
                    else ["dbus-monitor", "--session", match], env, log):
        # dbus-monitor prints its own NameAcquired/NameLost signals once it is a monitor.
        wait_until(lambda: log.exists() and log.stat().st_size > 0, 10, what="dbus-monitor start")
        yield log


def notify_calls(monitor_text: str) -> list[dict]:
    """org.freedesktop.Notifications.Notify calls in dbus-monitor's output: app_name, summary, body."""
    import re

    calls = []
    blocks = re.split(r"(?m)^(?=method call |signal |method return |error )", monitor_text)
    for block in blocks:
        if not block.startswith("method call") or "member=Notify" not in block:
            continue
        # Arguments: string app_name, uint32 replaces_id, string icon, string summary, string body, ...
        strings = re.findall(r'(?ms)^   string "(.*?)"\n(?=   \S|\Z)', block)
        if len(strings) < 4:
            continue
        calls.append({"app_name": strings[0], "icon": strings[1], "summary": strings[2], "body": strings[3],
                      "raw": block})
    return calls
