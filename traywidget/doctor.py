"""`traywidget doctor`: what this desktop offers the app, and what to do about what is missing.

    checks = run_doctor()          # list[Check]; never raises, every probe bounded by a timeout
    print(format_report(checks))

No Qt import here: the tray probe runs Qt in a subprocess (a missing display aborts a Qt process),
D-Bus is asked through jeepney, the keyring through `keyring` in a bounded worker thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

OK = "ok"
WARN = "warn"
FAIL = "fail"
INFO = "info"

PROBE_ENV = "TRAYWIDGET_DOCTOR_PROBE"  # set to "tray" to make a (frozen) process run the tray probe
DBUS_TIMEOUT_S = 2.0
TRAY_PROBE_TIMEOUT_S = 15.0
KEYRING_TIMEOUT_S = 5.0

SNI_WATCHER = "org.kde.StatusNotifierWatcher"
NOTIFICATIONS = "org.freedesktop.Notifications"

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    key: str  # stable id: session, tray, notifications, keyring, config, cache, autostart
    title: str
    state: str  # ok | warn | fail | info
    detail: str
    hint: str = ""  # what to do when state is warn/fail

    @property
    def ok(self) -> bool:
        return self.state in (OK, INFO)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Bounded helpers


def _bounded(fn: Callable[[], T], timeout: float, default: T) -> tuple[T, str | None]:
    """Run fn in a daemon thread; (result, None) or (default, reason) on timeout or exception."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - a probe must never raise
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="traywidget-doctor-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return default, f"timed out after {timeout:g} s"
    if "error" in box:
        return default, box["error"]
    return box["value"], None


def _desktop() -> str:
    return os.environ.get("XDG_CURRENT_DESKTOP") or os.environ.get("DESKTOP_SESSION") or ""


def _is_linux_like() -> bool:
    return sys.platform not in ("win32", "darwin")


# ---------------------------------------------------------------------------------------------
# D-Bus (jeepney)


def _dbus_query(names: list[str], timeout: float = DBUS_TIMEOUT_S) -> dict[str, Any]:
    """{'bus': bool, 'error': str|None, 'owned': {name: bool}, 'activatable': [...], 'server': ...}."""

    def work() -> dict[str, Any]:
        from jeepney import DBusAddress, new_method_call
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        out: dict[str, Any] = {"bus": True, "error": None, "owned": {}, "activatable": [], "server": None}
        conn = open_dbus_connection(bus="SESSION", auth_timeout=timeout)
        try:
            for name in names:
                reply = conn.send_and_get_reply(message_bus.NameHasOwner(name), timeout=timeout)
                out["owned"][name] = bool(reply.body[0])
            reply = conn.send_and_get_reply(message_bus.ListActivatableNames(), timeout=timeout)
            out["activatable"] = [n for n in reply.body[0] if n in names]
            if out["owned"].get(NOTIFICATIONS):
                addr = DBusAddress(
                    "/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface=NOTIFICATIONS
                )
                reply = conn.send_and_get_reply(
                    new_method_call(addr, "GetServerInformation"), timeout=timeout
                )
                if reply.body and len(reply.body) >= 2:
                    out["server"] = f"{reply.body[0]} {reply.body[2] if len(reply.body) > 2 else ''}".strip()
        finally:
            conn.close()
        return out

    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not _is_linux_like():
        return {"bus": False, "error": "no session bus on this platform", "owned": {}, "activatable": []}
    result, error = _bounded(work, timeout * 3, None)
    if result is None:
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            error = "DBUS_SESSION_BUS_ADDRESS is not set"
        return {"bus": False, "error": error, "owned": {}, "activatable": [], "server": None}
    return result


# ---------------------------------------------------------------------------------------------
# Tray: Qt in a subprocess


_TRAY_PROBE_CODE = """
import json, sys
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
app = QApplication(["traywidget-doctor"])
print(json.dumps({"tray": bool(QSystemTrayIcon.isSystemTrayAvailable()),
                  "platform": app.platformName()}), flush=True)
"""


def probe_main() -> int:
    """The tray probe itself, run in a child process (`python -m traywidget.doctor --probe-tray`, or a
    frozen binary started with TRAYWIDGET_DOCTOR_PROBE=tray, see packaging/entry.py)."""
    exec(compile(_TRAY_PROBE_CODE, "<traywidget-doctor-probe>", "exec"), {"__name__": "__probe__"})
    return 0


def _tray_probe_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable]  # entry.py sees TRAYWIDGET_DOCTOR_PROBE and runs probe_main()
    return [sys.executable, "-c", _TRAY_PROBE_CODE]


def _qt_tray_probe(timeout: float = TRAY_PROBE_TIMEOUT_S) -> dict[str, Any]:
    """{'tray': bool|None, 'platform': str|None, 'error': str|None} from a Qt child process."""
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # ask the real desktop, not offscreen
    env[PROBE_ENV] = "tray"
    try:
        proc = subprocess.run(
            _tray_probe_command(),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"tray": None, "platform": None, "error": f"Qt probe timed out after {timeout:g} s"}
    except OSError as exc:
        return {"tray": None, "platform": None, "error": f"could not start the Qt probe: {exc}"}
    for line in reversed(proc.stdout.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "tray" in data:
            return {"tray": bool(data["tray"]), "platform": data.get("platform"), "error": None}
    err = (proc.stderr or "").strip().splitlines()
    reason = next((ln for ln in err if "could not connect to display" in ln.lower()), None)
    reason = reason or (err[-1] if err else f"exit status {proc.returncode}")
    return {"tray": None, "platform": None, "error": f"Qt could not start: {reason}"}


def _tray_hint() -> str:
    desktop = _desktop().lower()
    if "gnome" in desktop or "ubuntu" in desktop or "unity" in desktop:
        return (
            "GNOME has no tray by default: install and enable the 'AppIndicator and "
            "KStatusNotifierItem Support' extension (Debian/Ubuntu: gnome-shell-extension-appindicator), "
            "then log out and in."
        )
    if "kde" in desktop or "plasma" in desktop:
        return "Plasma: add the 'System Tray' widget back to a panel."
    if any(w in desktop for w in ("sway", "hyprland", "river", "wlroots")):
        return "Wayland compositor: enable a tray in your bar (waybar's \"tray\" module, or sfwbar)."
    if any(w in desktop for w in ("xfce", "lxqt", "lxde", "mate", "cinnamon", "budgie")):
        return "Add the 'Notification Area' / 'Status Tray' plugin to a panel."
    return (
        "Run a panel with a system tray (a notification area or StatusNotifier host), e.g. "
        "trayer or stalonetray on plain X11, waybar on Wayland. Without one traywidget opens "
        "its panel as a normal window instead."
    )


def check_tray(*, use_qt: bool = True) -> Check:
    title = "System tray"
    if sys.platform == "darwin":
        return Check("tray", title, OK, "macOS menu bar (status items are always available)")
    if sys.platform == "win32":
        return Check("tray", title, OK, "Windows notification area")
    bus = _dbus_query([SNI_WATCHER])
    sni = bool(bus["owned"].get(SNI_WATCHER))
    display = os.environ.get("DISPLAY")
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        if sni:
            return Check("tray", title, WARN, "a StatusNotifier host is on D-Bus, but there is no display",
                         "Start traywidget from inside your graphical session.")
        return Check("tray", title, FAIL, "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)",
                     "Run traywidget inside a graphical session; the CLI (`traywidget status`) works without one.")
    qt = _qt_tray_probe() if use_qt else {"tray": None, "platform": None, "error": "not probed"}
    if qt["tray"]:
        how = "StatusNotifierItem host on D-Bus" if sni else "XEmbed tray (owner of _NET_SYSTEM_TRAY_S0)"
        return Check("tray", title, OK, f"{how}; Qt platform {qt['platform']}")
    if sni:
        return Check("tray", title, OK, f"StatusNotifierItem host ({SNI_WATCHER}) on the session bus")
    detail = "no tray host: no XEmbed tray owns _NET_SYSTEM_TRAY_S0"
    detail += " and no " + SNI_WATCHER + (" on the session bus" if bus["bus"] else " (no session bus)")
    if qt["error"] and qt["error"] != "not probed":
        detail += f"; {qt['error']}"
    return Check("tray", title, FAIL, detail, _tray_hint())


# ---------------------------------------------------------------------------------------------
# Notifications


def check_notifications() -> Check:
    title = "Notifications"
    if sys.platform == "darwin":
        return Check("notifications", title, OK, "macOS Notification Center")
    if sys.platform == "win32":
        return Check("notifications", title, OK, "Windows notifications (tray balloons)")
    bus = _dbus_query([NOTIFICATIONS])
    hint = ("Install and run a notification daemon, such as dunst or xfce4-notifyd (X11) or mako (Wayland); "
            "GNOME and Plasma include one.")
    if not bus["bus"]:
        return Check("notifications", title, FAIL, f"no D-Bus session bus ({bus['error']})",
                     "Start your desktop session with D-Bus (dbus-run-session or dbus-launch). " + hint)
    if bus["owned"].get(NOTIFICATIONS):
        server = bus.get("server") or "a notification server"
        return Check("notifications", title, OK, f"{NOTIFICATIONS} is served by {server}")
    if NOTIFICATIONS in bus["activatable"]:
        return Check("notifications", title, OK, f"{NOTIFICATIONS} starts on demand (D-Bus activation)")
    return Check("notifications", title, WARN,
                 f"nothing owns {NOTIFICATIONS}: alerts fall back to tray balloons", hint)


# ---------------------------------------------------------------------------------------------
# Keyring


def check_keyring(timeout: float = KEYRING_TIMEOUT_S) -> Check:
    from traywidget.core.secrets import KEYRING_HELP, KeyringState, keyring_status

    title = "Keyring"
    status, error = _bounded(keyring_status, timeout, None)
    if status is None:
        return Check("keyring", title, FAIL, f"keyring probe failed: {error}", KEYRING_HELP)
    if status.usable:
        return Check("keyring", title, OK, status.message)
    if status.state is KeyringState.LOCKED:
        return Check("keyring", title, WARN, f"{status.backend}: {status.message}",
                     "Unlock your login keyring (it usually unlocks with your login password).")
    return Check("keyring", title, FAIL, status.message, KEYRING_HELP)


# ---------------------------------------------------------------------------------------------
# Paths, session, autostart


def _dir_check(key: str, title: str, path_fn: Callable[[], Any], env: str) -> Check:
    try:
        path = path_fn()
    except Exception as exc:  # noqa: BLE001
        return Check(key, title, FAIL, f"cannot compute the directory: {exc}")
    source = f" (from {env})" if os.environ.get(env) else ""
    if path.exists():
        writable = os.access(path, os.W_OK)
        if not writable:
            return Check(key, title, FAIL, f"{path}{source}: not writable",
                         f"Fix the permissions of {path}, or point {env} elsewhere.")
        return Check(key, title, OK, f"{path}{source}")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not os.access(parent, os.W_OK):
        return Check(key, title, FAIL, f"{path}{source}: cannot be created ({parent} is not writable)",
                     f"Point {env} at a writable directory.")
    return Check(key, title, INFO, f"{path}{source} (created on first save)")


def check_paths() -> list[Check]:
    from traywidget.core import paths

    return [
        _dir_check("config", "Config directory", paths.config_dir, "TRAYWIDGET_CONFIG_DIR"),
        _dir_check("cache", "Cache directory", paths.cache_dir, "TRAYWIDGET_CACHE_DIR"),
    ]


def check_session() -> Check:
    if sys.platform in ("darwin", "win32"):
        return Check("session", "Desktop session", INFO, sys.platform)
    parts = [
        f"{var}={os.environ[var]}"
        for var in ("XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP", "DISPLAY", "WAYLAND_DISPLAY")
        if os.environ.get(var)
    ]
    return Check("session", "Desktop session", INFO, ", ".join(parts) or "no graphical session variables set")


def check_autostart() -> Check:
    try:
        from traywidget.core import autostart

        return Check("autostart", "Start at login", INFO, autostart.status().removeprefix("start at login: "))
    except Exception as exc:  # noqa: BLE001
        return Check("autostart", "Start at login", WARN, f"cannot tell: {exc}")


# ---------------------------------------------------------------------------------------------
# Public API


def run_doctor(*, probe_tray_with_qt: bool = True) -> list[Check]:
    """Every check, in display order. Never raises."""
    checks: list[Check] = []
    steps: list[Callable[[], Check | list[Check]]] = [
        check_session,
        lambda: check_tray(use_qt=probe_tray_with_qt),
        check_notifications,
        check_keyring,
        check_paths,
        check_autostart,
    ]
    for step in steps:
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - belt and braces; each check handles its own errors
            name = getattr(step, "__name__", "check").removeprefix("check_")
            result = Check(name, name.title(), FAIL, f"check crashed: {type(exc).__name__}: {exc}")
        checks.extend(result if isinstance(result, list) else [result])
    return checks


_MARK = {OK: "ok", WARN: "!!", FAIL: "XX", INFO: "--"}


def format_report(checks: list[Check]) -> str:
    """A plain-text report: one line per check, the fix indented under anything missing."""
    width = max((len(c.title) for c in checks), default=10)
    lines = []
    for c in checks:
        lines.append(f"[{_MARK.get(c.state, '??')}] {c.title:<{width}}  {c.detail}")
        if c.hint and c.state in (WARN, FAIL):
            lines.append(f"     {'':<{width}}  -> {c.hint}")
    problems = [c for c in checks if c.state in (WARN, FAIL)]
    if problems:
        lines.append("")
        lines.append(f"{len(problems)} thing(s) to look at: " + ", ".join(c.title for c in problems) + ".")
    else:
        lines.append("")
        lines.append("Everything traywidget needs is here.")
    return "\n".join(lines)


def report_json(checks: list[Check]) -> str:
    return json.dumps([c.to_dict() for c in checks], indent=2)


def main(argv: list[str] | None = None) -> int:
    """`python -m traywidget.doctor [--json]`; exit 0 when nothing failed, 1 otherwise."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--probe-tray" in argv:
        return probe_main()
    checks = run_doctor()
    print(report_json(checks) if "--json" in argv else format_report(checks))
    return 1 if any(c.state == FAIL for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
