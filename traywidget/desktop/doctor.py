"""What this desktop offers the app, and what to do about what is missing.

    checks = run_doctor()          # list[Check]; never raises, every probe bounded by a timeout
    print(format_report(checks))   # or report_json(checks); the exit status is exit_code(checks)

`traywidget doctor [--json]` is its one entry point (traywidget.cli.system).

No Qt import here: the tray probe runs Qt in a subprocess (a missing display aborts a Qt process),
D-Bus is asked through jeepney, the keyring through `keyring` in a bounded worker thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from traywidget.i18n import enumeration, tr, tr_noop, trn
from traywidget.model import EXIT_ACCOUNT_ERROR, EXIT_OK
from traywidget.present.formatting import pad, text_width

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
    """One finding. title, detail and hint are English templates (marked for translation)
    filled from `params`: `--json` prints them in English, the report in the user's language."""

    key: str  # stable id: session, tray, notifications, keyring, config, cache, autostart
    title: str
    state: str  # ok | warn | fail | info
    detail: str
    hint: str = ""  # what to do when state is warn/fail
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state in (OK, INFO)

    def text(self, part: str, translate: Callable[[str], str] = str) -> str:
        """`part` ("title", "detail" or "hint") filled in, through `translate` (tr for people)."""
        template = getattr(self, part)
        return translate(template).format(**self.params) if template else ""

    def sentence(self) -> str:
        """The finding and what to do about it, as one line for people."""
        return tr("{detail}. {hint}").format(detail=self.text("detail", tr), hint=self.text("hint", tr))

    @property
    def exit_code(self) -> int:
        return exit_code([self])

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.text("title"), "state": self.state,
                "detail": self.text("detail"), "hint": self.text("hint")}


# ---------------------------------------------------------------------------------------------
# Bounded helpers


def _bounded(fn: Callable[[], T], timeout: float, default: T) -> tuple[T, str | None]:
    """Run fn in a daemon thread; (result, None) or (default, reason) on timeout or exception."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="traywidget-doctor-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return default, tr("timed out after {seconds:g} s").format(seconds=timeout)
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
        return {"bus": False, "error": tr("no session bus on this platform"), "owned": {}, "activatable": []}
    result, error = _bounded(work, timeout * 3, None)
    if result is None:
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            error = tr("DBUS_SESSION_BUS_ADDRESS is not set")
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
    """The tray probe itself, in the frozen binary's child process (started with
    TRAYWIDGET_DOCTOR_PROBE=tray, see packaging/entry.py; from source it runs as `python -c`)."""
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
        return {"tray": None, "platform": None, "error": tr("Qt probe timed out after {seconds:g} s").format(
            seconds=timeout)}
    except OSError as exc:
        return {"tray": None, "platform": None, "error": tr("could not start the Qt probe: {error}").format(error=exc)}
    for line in reversed(proc.stdout.splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "tray" in data:
            return {"tray": bool(data["tray"]), "platform": data.get("platform"), "error": None}
    err = (proc.stderr or "").strip().splitlines()
    reason = next((ln for ln in err if "could not connect to display" in ln.lower()), None)
    reason = reason or (err[-1] if err else tr("exit status {code}").format(code=proc.returncode))
    return {"tray": None, "platform": None, "error": tr("Qt could not start: {reason}").format(reason=reason)}


def _tray_hint() -> str:
    desktop = _desktop().lower()
    if "gnome" in desktop or "ubuntu" in desktop or "unity" in desktop:
        return tr_noop(
            "GNOME has no tray by default: install and enable the 'AppIndicator and "
            "KStatusNotifierItem Support' extension (Debian/Ubuntu: gnome-shell-extension-appindicator), "
            "then log out and in."
        )
    if "kde" in desktop or "plasma" in desktop:
        return tr_noop("Plasma: add the 'System Tray' widget back to a panel.")
    if any(w in desktop for w in ("sway", "hyprland", "river", "wlroots")):
        return tr_noop("Wayland compositor: enable a tray in your bar (waybar's \"tray\" module, or sfwbar).")
    if any(w in desktop for w in ("xfce", "lxqt", "lxde", "mate", "cinnamon", "budgie")):
        return tr_noop("Add the 'Notification Area' / 'Status Tray' plugin to a panel.")
    return tr_noop(
        "Run a panel with a system tray (a notification area or StatusNotifier host), e.g. "
        "trayer or stalonetray on plain X11, waybar on Wayland. Without one traywidget opens "
        "its panel as a normal window instead."
    )


# Qt platforms that draw without a display server (tests, packaging checks, remote desktops of their own).
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _no_display(title: str) -> Check:
    return Check("tray", title, FAIL, tr_noop("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"),
                 tr_noop("Run traywidget inside a graphical session; the CLI (`traywidget status`) "
                         "works without one."))


def missing_display() -> Check | None:
    """The failed check when the tray cannot start for want of a display, else None (asked before Qt is made:
    Qt would abort the process, blaming a missing xcb library)."""
    if not _is_linux_like() or _has_display():
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform in HEADLESS_PLATFORMS:
        return None
    return _no_display(tr_noop("System tray"))


def check_tray() -> Check:
    title = tr_noop("System tray")
    if sys.platform == "darwin":
        return Check("tray", title, OK, tr_noop("macOS menu bar (status items are always available)"))
    if sys.platform == "win32":
        return Check("tray", title, OK, tr_noop("Windows notification area"))
    bus = _dbus_query([SNI_WATCHER])
    sni = bool(bus["owned"].get(SNI_WATCHER))
    if not _has_display():
        if sni:
            return Check("tray", title, WARN, tr_noop("a StatusNotifier host is on D-Bus, but there is no display"),
                         tr_noop("Start traywidget from inside your graphical session."))
        return _no_display(title)
    qt = _qt_tray_probe()
    if qt["tray"]:
        how = (tr_noop("StatusNotifierItem host on D-Bus; Qt platform {platform}") if sni
               else tr_noop("XEmbed tray (owner of _NET_SYSTEM_TRAY_S0); Qt platform {platform}"))
        return Check("tray", title, OK, how, params={"platform": qt["platform"]})
    if sni:
        return Check("tray", title, OK, tr_noop("StatusNotifierItem host ({watcher}) on the session bus"),
                     params={"watcher": SNI_WATCHER})
    detail = (tr_noop("no tray host: no XEmbed tray owns _NET_SYSTEM_TRAY_S0 and no {watcher} on the session "
                      "bus{probe}") if bus["bus"]
              else tr_noop("no tray host: no XEmbed tray owns _NET_SYSTEM_TRAY_S0 and no {watcher} (no session "
                           "bus){probe}"))
    probe = f"; {qt['error']}" if qt["error"] else ""
    return Check("tray", title, FAIL, detail, _tray_hint(), params={"watcher": SNI_WATCHER, "probe": probe})


# ---------------------------------------------------------------------------------------------
# Notifications


def check_notifications() -> Check:
    """Which path the app's notifications take: the rule is the app's own
    (desktop.notifications.notification_server_available); the bus is asked again only
    for the server's name and, when there is none, for why."""
    from traywidget.desktop.notifications import notification_server_available

    title = tr_noop("Notifications")
    if sys.platform == "darwin":
        return Check("notifications", title, OK, tr_noop("macOS Notification Center"))
    if sys.platform == "win32":
        return Check("notifications", title, OK, tr_noop("Windows notifications (tray balloons)"))
    bus = _dbus_query([NOTIFICATIONS])
    params = {"service": NOTIFICATIONS, "error": bus["error"], "server": bus.get("server") or ""}
    if notification_server_available():
        if params["server"]:
            detail = tr_noop("sent over D-Bus to the desktop's notification server ({server})")
        else:
            detail = tr_noop("sent over D-Bus to {service} (its server starts on demand)")
        return Check("notifications", title, OK, detail, params=params)
    hint = tr_noop("Install and run a notification daemon, such as dunst or xfce4-notifyd (X11) or mako "
                   "(Wayland); GNOME and Plasma include one.")
    if not bus["bus"]:
        return Check("notifications", title, FAIL,
                     tr_noop("no D-Bus session bus ({error}): alerts can only be the tray's own balloons"),
                     tr_noop("Start your desktop session with D-Bus (dbus-run-session or dbus-launch). Install "
                             "and run a notification daemon, such as dunst or xfce4-notifyd (X11) or mako "
                             "(Wayland); GNOME and Plasma include one."), params=params)
    return Check("notifications", title, WARN,
                 tr_noop("no notification server on the session bus ({service}): alerts are the tray's own "
                         "balloons"), hint, params=params)


# ---------------------------------------------------------------------------------------------
# Keyring


def check_keyring(timeout: float = KEYRING_TIMEOUT_S) -> Check:
    from traywidget.store.keyring_check import KEYRING_HELP, KeyringState, keyring_status

    title = tr_noop("Keyring")
    status, error = _bounded(keyring_status, timeout, None)
    if status is None:
        return Check("keyring", title, FAIL, tr_noop("keyring probe failed: {error}"), KEYRING_HELP,
                     params={"error": error})
    params = {"backend": status.backend, "message": status.message}
    if status.usable:
        return Check("keyring", title, OK, "{message}", params=params)
    if status.state is KeyringState.LOCKED:
        return Check("keyring", title, WARN, "{backend}: {message}",
                     tr_noop("Unlock your login keyring (it usually unlocks with your login password)."),
                     params=params)
    return Check("keyring", title, FAIL, "{message}", KEYRING_HELP, params=params)


# ---------------------------------------------------------------------------------------------
# Paths, session, autostart


def _dir_check(key: str, title: str, path_fn: Callable[[], Any], env: str) -> Check:
    try:
        path = path_fn()
    except Exception as exc:
        return Check(key, title, FAIL, tr_noop("cannot compute the directory: {error}"), params={"error": exc})
    params = {"path": path, "env": env, "parent": ""}
    overridden = bool(os.environ.get(env))
    if path.exists():
        if not os.access(path, os.W_OK):
            return Check(key, title, FAIL,
                         tr_noop("{path} (from {env}): not writable") if overridden
                         else tr_noop("{path}: not writable"),
                         tr_noop("Fix the permissions of {path}, or point {env} elsewhere."), params=params)
        return Check(key, title, OK, tr_noop("{path} (from {env})") if overridden else "{path}", params=params)
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not os.access(parent, os.W_OK):
        params["parent"] = parent
        return Check(key, title, FAIL,
                     tr_noop("{path} (from {env}): cannot be created ({parent} is not writable)") if overridden
                     else tr_noop("{path}: cannot be created ({parent} is not writable)"),
                     tr_noop("Point {env} at a writable directory."), params=params)
    return Check(key, title, INFO,
                 tr_noop("{path} (from {env}) (created on first save)") if overridden
                 else tr_noop("{path} (created on first save)"), params=params)


def check_paths() -> list[Check]:
    from traywidget.store import paths

    return [
        _dir_check("config", tr_noop("Config directory"), paths.config_dir, "TRAYWIDGET_CONFIG_DIR"),
        _dir_check("cache", tr_noop("Cache directory"), paths.cache_dir, "TRAYWIDGET_CACHE_DIR"),
    ]


def check_session() -> Check:
    title = tr_noop("Desktop session")
    if sys.platform in ("darwin", "win32"):
        return Check("session", title, INFO, "{platform}", params={"platform": sys.platform})
    parts = [
        f"{var}={os.environ[var]}"
        for var in ("XDG_SESSION_TYPE", "XDG_CURRENT_DESKTOP", "DISPLAY", "WAYLAND_DISPLAY")
        if os.environ.get(var)
    ]
    if not parts:
        return Check("session", title, INFO, tr_noop("no graphical session variables set"))
    return Check("session", title, INFO, "{variables}", params={"variables": ", ".join(parts)})


def check_autostart() -> Check:
    title = tr_noop("Start at login")
    try:
        from traywidget.desktop.autostart import login_item

        template, params = login_item().state()
        return Check("autostart", title, INFO, template, params=params)
    except Exception as exc:
        return Check("autostart", title, WARN, tr_noop("cannot tell: {error}"), params={"error": exc})


# ---------------------------------------------------------------------------------------------
# Public API


def run_doctor() -> list[Check]:
    """Every check, in display order. Never raises."""
    checks: list[Check] = []
    steps: list[Callable[[], Check | list[Check]]] = [
        check_session,
        check_tray,
        check_notifications,
        check_keyring,
        check_paths,
        check_autostart,
    ]
    for step in steps:
        try:
            result = step()
        except Exception as exc:
            name = getattr(step, "__name__", "check").removeprefix("check_")
            result = Check(name, name.title(), FAIL, tr_noop("check crashed: {error}"),
                           params={"error": f"{type(exc).__name__}: {exc}"})
        checks.extend(result if isinstance(result, list) else [result])
    return checks


def exit_code(checks: list[Check]) -> int:
    """The one exit rule: 1 when something traywidget needs is missing (a failed check);
    warnings are advice and leave it at 0."""
    return EXIT_ACCOUNT_ERROR if any(c.state == FAIL for c in checks) else EXIT_OK


_MARK = {OK: "ok", WARN: "!!", FAIL: "XX", INFO: "--"}


def format_report(checks: list[Check]) -> str:
    """A plain-text report in the user's language: one line per check, the fix indented under
    anything missing."""
    titles = {id(c): c.text("title", tr) for c in checks}
    width = max((text_width(t) for t in titles.values()), default=10)
    lines = []
    for c in checks:
        lines.append(f"[{_MARK.get(c.state, '??')}] {pad(titles[id(c)], width)}  {c.text('detail', tr)}")
        if c.hint and c.state in (WARN, FAIL):
            lines.append(f"     {'':<{width}}  -> {c.text('hint', tr)}")
    problems = [titles[id(c)] for c in checks if c.state in (WARN, FAIL)]
    lines.append("")
    if problems:
        lines.append(trn("{n} thing to look at: {titles}.", "{n} things to look at: {titles}.", len(problems)).format(
            n=len(problems), titles=enumeration(problems)))
    else:
        lines.append(tr("Everything traywidget needs is here."))
    return "\n".join(lines)


def report_json(checks: list[Check]) -> str:
    """The checks as JSON, in English (stable for scripts)."""
    return json.dumps([c.to_dict() for c in checks], indent=2)
