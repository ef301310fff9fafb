"""Start traywidget at login: XDG autostart (Linux/BSD), a LaunchAgent (macOS), the Run key (Windows).

One small class per platform, each with the same four questions (maestral's autostart is the
model); `login_item()` picks the one for this platform:

    item = login_item()
    item.enable() -> Path | str   the file written, or the registry value's location on Windows
    item.disable() -> bool        True if an entry was removed
    item.is_enabled() -> bool
    item.status() -> str          one human line for `traywidget autostart status`

No Qt, no side effects at import: every path is computed when asked, so tests only need to point
HOME / XDG_CONFIG_HOME at a temporary directory. Files are written through `paths.atomic_write`.
The pure renderers (`render_desktop_entry`, `render_launch_agent`, `run_key_value`) carry the
content and are tested on every platform.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from traywidget import APP_DISPLAY_NAME, APP_NAME
from traywidget.i18n import tr, tr_noop
from traywidget.model import AutostartError
from traywidget.store.paths import atomic_write

DESKTOP_FILE_NAME = f"{APP_NAME}.desktop"
LAUNCH_AGENT_LABEL = "run.traywidget"
RUN_KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = APP_DISPLAY_NAME
GUI_SCRIPT = "traywidget-gui"

# What `status` says (and doctor, in English for --json): templates filled from `LoginItem.state()`.
STATE_OFF = tr_noop("off ({where})")
STATE_ON = tr_noop("on ({where}) -> {command}")
STATE_STALE = tr_noop("on ({where}) -> {command}  [warning: that program no longer exists; "
                      "run `traywidget autostart on` again]")


# ---------------------------------------------------------------------------------------------
# What to launch


def launch_command() -> list[str]:
    """The command that starts the tray app the way the user is running it now.

    A frozen (PyInstaller) build launches itself; an installed package launches the absolute path of
    its `traywidget-gui` script when that is on PATH; otherwise `python -m traywidget`.
    """
    if getattr(sys, "frozen", False):
        return [os.path.abspath(sys.executable)]
    script = shutil.which(GUI_SCRIPT)
    if script:
        return [os.path.abspath(script)]
    return [os.path.abspath(sys.executable), "-m", APP_NAME]


def entry_icon() -> str:
    """The Icon= value: an absolute path to the shipped 128 px PNG when that file stays put (an installed
    package, a one-dir build), else the theme name `traywidget` (a one-file build unpacks to a temp dir)."""
    try:
        if getattr(sys, "frozen", False):
            meipass = Path(getattr(sys, "_MEIPASS", ""))
            if Path(sys.executable).resolve().parent not in (meipass.resolve(), *meipass.resolve().parents):
                return APP_NAME
        from traywidget.desktop import assets

        node = assets.resource(assets.icon_name(128))
        if isinstance(node, Path) and node.is_file():
            return str(node.resolve())
    except Exception:
        pass
    return APP_NAME


# ---------------------------------------------------------------------------------------------
# Pure renderers


_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_exec_quote(args: Sequence[str]) -> str:
    """Quote argv for a desktop entry's Exec key (freedesktop Desktop Entry spec, "The Exec key").

    Arguments with reserved characters are double-quoted, escaping `"`, `` ` ``, `$` and `\\` inside;
    `%` becomes `%%` (field codes). The general string-value escaping (backslash doubling) is applied
    on top, as the spec requires for the key's value.
    """
    parts = []
    for arg in args:
        arg = arg.replace("%", "%%")
        if arg == "" or any(c in _DESKTOP_RESERVED for c in arg):
            inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
            arg = f'"{inner}"'
        parts.append(arg)
    joined = " ".join(parts)
    # string-type escaping of the key value
    return joined.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def desktop_exec_unquote(value: str) -> list[str]:
    """Inverse of `desktop_exec_quote` for the values it produces (used by tests and `status`)."""
    unescaped = []
    i = 0
    while i < len(value):  # undo the string-type escaping
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            unescaped.append({"\\": "\\", "n": "\n", "t": "\t", "s": " "}.get(nxt, "\\" + nxt))
            i += 2
            continue
        unescaped.append(c)
        i += 1
    text = "".join(unescaped)
    # The spec's quoting: whitespace separates; inside "..." a backslash escapes the next character.
    args: list[str] = []
    current: list[str] = []
    have_arg = in_quotes = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_quotes:
            if c == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_quotes = False
            else:
                current.append(c)
        elif c == '"':
            in_quotes = have_arg = True
        elif c in " \t\n":
            if have_arg:
                args.append("".join(current))
                current, have_arg = [], False
        else:
            current.append(c)
            have_arg = True
        i += 1
    if in_quotes:
        raise ValueError(f"unterminated quote in Exec value: {value!r}")
    if have_arg:
        args.append("".join(current))
    return [arg.replace("%%", "%") for arg in args]


def render_desktop_entry(exec_cmd: Sequence[str] | str, *, icon: str = APP_NAME) -> str:
    """An XDG autostart .desktop entry that runs `exec_cmd` (argv list, or an already-quoted string)."""
    exec_value = exec_cmd if isinstance(exec_cmd, str) else desktop_exec_quote(exec_cmd)
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={APP_DISPLAY_NAME}",
        "Comment=Requests and credits left on your LLM API routers, in the system tray",
        f"Exec={exec_value}",
        f"Icon={icon}",
        "Terminal=false",
        "StartupNotify=false",
        "Categories=Utility;Network;",
        "X-GNOME-Autostart-enabled=true",
        "X-GNOME-Autostart-Delay=5",
        "X-KDE-autostart-after=panel",
        "X-MATE-Autostart-Delay=5",
        "",
    ]
    return "\n".join(lines)


def render_launch_agent(args: Sequence[str]) -> bytes:
    """A per-user LaunchAgent plist that runs `args` once at login (no restart on quit)."""
    plist = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(args),
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    return plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=True)


def run_key_value(args: Sequence[str]) -> str:
    """The Windows Run value (REG_SZ) for `args`: a command line quoted the way CreateProcess parses it."""
    return subprocess.list2cmdline(list(args))


# ---------------------------------------------------------------------------------------------
# One class per platform


class LoginItem(ABC):
    """Start at login on one platform."""

    @property
    @abstractmethod
    def location(self) -> Path | str:
        """Where the login entry lives (whether or not it exists)."""

    @abstractmethod
    def _write(self, command: list[str]) -> None: ...

    @abstractmethod
    def _remove(self) -> bool: ...

    @abstractmethod
    def registered_command(self) -> list[str] | None:
        """The command registered to start at login, or None when there is no (enabled) entry."""

    def launch_command(self) -> list[str]:
        return launch_command()

    def enable(self, command: Sequence[str] | None = None) -> Path | str:
        """Register `command` (default: `launch_command()`) to start at login; returns where it was written."""
        try:
            self._write(list(command) if command is not None else self.launch_command())
        except OSError as exc:
            raise AutostartError(tr("could not enable start at login: {error}").format(error=exc)) from exc
        return self.location

    def disable(self) -> bool:
        """Remove the login entry; True if one was there."""
        try:
            return self._remove()
        except OSError as exc:
            raise AutostartError(tr("could not disable start at login: {error}").format(error=exc)) from exc

    def is_enabled(self) -> bool:
        return self.registered_command() is not None

    def state(self) -> tuple[str, dict[str, Any]]:
        """(English template, its values): enabled (where, what) or disabled, and whether it is stale."""
        command = self.registered_command()
        params: dict[str, Any] = {"where": self.location}
        if command is None:
            return STATE_OFF, params
        params["command"] = run_key_value(command) if len(command) > 1 else command[0]
        return (STATE_ON if self._launchable(command[0]) else STATE_STALE), params

    def status(self) -> str:
        """One line for the user: "start at login: on (…) -> …" or "start at login: off (…)"."""
        template, params = self.state()
        return tr("start at login: {state}").format(state=tr(template).format(**params))

    def _launchable(self, program: str) -> bool:
        if os.path.isabs(program):
            return os.access(program, os.X_OK)
        return shutil.which(program) is not None


class _FileItem(LoginItem):
    """A login entry that is one file in the user's home."""

    @property
    @abstractmethod
    def location(self) -> Path: ...

    def _remove(self) -> bool:
        try:
            self.location.unlink()
        except FileNotFoundError:
            return False
        return True


class XdgAutostart(_FileItem):
    """Linux and the BSDs: a desktop entry in $XDG_CONFIG_HOME/autostart (freedesktop Desktop
    Application Autostart spec)."""

    @property
    def location(self) -> Path:
        config_home = os.environ.get("XDG_CONFIG_HOME", "")
        # The spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
        base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
        return base / "autostart" / DESKTOP_FILE_NAME

    def _write(self, command: list[str]) -> None:
        atomic_write(self.location, render_desktop_entry(command, icon=entry_icon()).encode("utf-8"), mode=0o644)

    def registered_command(self) -> list[str] | None:
        try:
            entry = parse_desktop_entry(self.location.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        # The desktop's own switches for an entry it shows as "off".
        if entry.get("Hidden", "").lower() == "true":
            return None
        if entry.get("X-GNOME-Autostart-enabled", "true").lower() == "false":
            return None
        exec_value = entry.get("Exec")
        if not exec_value:
            return None
        try:
            return desktop_exec_unquote(exec_value)
        except ValueError:
            return [exec_value]


class LaunchAgent(_FileItem):
    """macOS: a per-user LaunchAgent plist, run once at login."""

    @property
    def location(self) -> Path:
        return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def _write(self, command: list[str]) -> None:
        atomic_write(self.location, render_launch_agent(command), mode=0o644)

    def registered_command(self) -> list[str] | None:
        try:
            data = plistlib.loads(self.location.read_bytes())
        except (OSError, ValueError, plistlib.InvalidFileException):
            return None
        if not isinstance(data, dict) or data.get("Disabled") is True:
            return None
        return [str(a) for a in data.get("ProgramArguments", [])] or None


class RunKey(LoginItem):
    """Windows: a value under HKCU\\…\\CurrentVersion\\Run."""

    @property
    def location(self) -> str:
        return f"HKCU\\{RUN_KEY_PATH}\\{RUN_VALUE_NAME}"

    def launch_command(self) -> list[str]:
        """As everywhere, but the console-less twin: no console window opens at login."""
        command = launch_command()
        program = Path(command[0])
        if getattr(sys, "frozen", False):
            gui = program.with_name(f"traywidget-gui{program.suffix}")
            return [str(gui)] if program.stem.lower() == "traywidget" and gui.exists() else command
        if len(command) > 1:  # python -m traywidget
            pythonw = program.with_name("pythonw.exe")
            if pythonw.exists():
                return [str(pythonw), *command[1:]]
        return command

    def _write(self, command: list[str]) -> None:
        import winreg  # only on Windows

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux
            winreg.SetValueEx(key, RUN_VALUE_NAME, 0, winreg.REG_SZ, run_key_value(command))  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux

    def _remove(self) -> bool:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux
                winreg.DeleteValue(key, RUN_VALUE_NAME)  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux
        except FileNotFoundError:
            return False
        return True

    def registered_command(self) -> list[str] | None:
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_READ) as key:  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux
                value, _type = winreg.QueryValueEx(key, RUN_VALUE_NAME)  # type: ignore[attr-defined]  # winreg is typed only for win32; the tests run a stand-in on Linux
        except OSError:
            return None
        return [str(value)]

    def _launchable(self, program: str) -> bool:
        return True  # the value is one command line; Windows reports a missing program itself


def login_item(platform: str = sys.platform) -> LoginItem:
    """The login item for `platform` (this one by default)."""
    if platform == "win32":
        return RunKey()
    if platform == "darwin":
        return LaunchAgent()
    return XdgAutostart()


# ---------------------------------------------------------------------------------------------
# Reading our own desktop entries


def parse_desktop_entry(text: str) -> dict[str, str]:
    """Keys of the [Desktop Entry] group (enough for our own files; no locale handling)."""
    values: dict[str, str] = {}
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            in_group = line == "[Desktop Entry]"
            continue
        if in_group and "=" in line:
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), value.strip())
    return values
