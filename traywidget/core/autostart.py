"""Start traywidget at login: XDG autostart (Linux/BSD), a LaunchAgent (macOS), the Run key (Windows).

No Qt, no side effects at import: every path is computed when a function is called, so tests only
need to point HOME / XDG_CONFIG_HOME at a temporary directory.

    enable() -> Path | str    the file written, or the registry value's location on Windows
    disable() -> bool         True if an entry was removed
    is_enabled() -> bool
    status() -> str           one human line for `traywidget autostart status`

The pure renderers (`render_desktop_entry`, `render_launch_agent`, `run_key_value`) carry the content
and are tested on every platform.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from traywidget import APP_DISPLAY_NAME, APP_NAME
from traywidget.model import AutostartError

DESKTOP_FILE_NAME = f"{APP_NAME}.desktop"
LAUNCH_AGENT_LABEL = "run.traywidget"
RUN_KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = APP_DISPLAY_NAME
GUI_SCRIPT = "traywidget-gui"


# ---------------------------------------------------------------------------------------------
# What to launch


def _platform() -> str:
    """sys.platform, through one seam tests can patch."""
    return sys.platform


def launch_command() -> list[str]:
    """The command that starts the tray app the way the user is running it now.

    A frozen (PyInstaller) build launches itself; an installed package launches the absolute path of
    its `traywidget-gui` script when that is on PATH; otherwise `python -m traywidget`.
    """
    if getattr(sys, "frozen", False):
        exe = Path(os.path.abspath(sys.executable))
        if _platform() == "win32" and exe.stem.lower() == "traywidget":
            gui = exe.with_name(f"traywidget-gui{exe.suffix}")  # the console-less twin, no window at login
            if gui.exists():
                exe = gui
        return [str(exe)]
    script = shutil.which(GUI_SCRIPT)
    if script:
        return [os.path.abspath(script)]
    python = os.path.abspath(sys.executable)
    if _platform() == "win32":
        # pythonw.exe: no console window at login.
        pythonw = Path(python).with_name("pythonw.exe")
        if pythonw.exists():
            python = str(pythonw)
    return [python, "-m", APP_NAME]


def entry_icon() -> str:
    """The Icon= value: an absolute path to the shipped 128 px PNG when that file stays put (an installed
    package, a one-dir build), else the theme name `traywidget` (a one-file build unpacks to a temp dir)."""
    try:
        if getattr(sys, "frozen", False):
            meipass = Path(getattr(sys, "_MEIPASS", ""))
            if Path(sys.executable).resolve().parent not in (meipass.resolve(), *meipass.resolve().parents):
                return APP_NAME
        from traywidget.core import assets

        node = assets.resource(assets.icon_name(128))
        if isinstance(node, Path) and node.is_file():
            return str(node.resolve())
    except Exception:  # noqa: BLE001 - the theme name is always a valid answer
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
# Locations (computed at call time)


def xdg_autostart_dir() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if os.path.isabs(config_home) else Path.home() / ".config"
    return base / "autostart"


def desktop_entry_path() -> Path:
    return xdg_autostart_dir() / DESKTOP_FILE_NAME


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def _winreg():
    import winreg  # only on Windows; imported lazily so the module loads everywhere

    return winreg


def _run_key_location() -> str:
    return f"HKCU\\{RUN_KEY_PATH}\\{RUN_VALUE_NAME}"


# ---------------------------------------------------------------------------------------------
# Public API


def enable(command: Sequence[str] | None = None) -> Path | str:
    """Register `command` (default: `launch_command()`) to start at login; returns where it was written."""
    args = list(command) if command is not None else launch_command()
    plat = _platform()
    try:
        if plat == "win32":
            winreg = _winreg()
            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:
                winreg.SetValueEx(key, RUN_VALUE_NAME, 0, winreg.REG_SZ, run_key_value(args))
            return _run_key_location()
        if plat == "darwin":
            path = launch_agent_path()
            _write(path, render_launch_agent(args))
            return path
        path = desktop_entry_path()
        _write(path, render_desktop_entry(args, icon=entry_icon()).encode("utf-8"))
        return path
    except OSError as exc:
        raise AutostartError(f"could not enable start at login: {exc}") from exc


def disable() -> bool:
    """Remove the login entry; True if one was there."""
    plat = _platform()
    try:
        if plat == "win32":
            winreg = _winreg()
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE) as key:
                    winreg.DeleteValue(key, RUN_VALUE_NAME)
            except FileNotFoundError:
                return False
            return True
        path = launch_agent_path() if plat == "darwin" else desktop_entry_path()
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
    except OSError as exc:
        raise AutostartError(f"could not disable start at login: {exc}") from exc


def registered_command() -> list[str] | None:
    """The command currently registered to start at login, or None when there is no (enabled) entry."""
    plat = _platform()
    try:
        if plat == "win32":
            winreg = _winreg()
            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_READ) as key:
                    value, _type = winreg.QueryValueEx(key, RUN_VALUE_NAME)
            except FileNotFoundError:
                return None
            return [str(value)]
        if plat == "darwin":
            path = launch_agent_path()
            if not path.is_file():
                return None
            data = plistlib.loads(path.read_bytes())
            if data.get("Disabled") is True:
                return None
            return [str(a) for a in data.get("ProgramArguments", [])]
        path = desktop_entry_path()
        if not path.is_file():
            return None
        entry = _parse_desktop_entry(path.read_text(encoding="utf-8"))
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
    except (OSError, ValueError, plistlib.InvalidFileException):
        return None


def is_enabled() -> bool:
    return registered_command() is not None


def location() -> Path | str:
    """Where the login entry lives (whether or not it exists)."""
    plat = _platform()
    if plat == "win32":
        return _run_key_location()
    return launch_agent_path() if plat == "darwin" else desktop_entry_path()


def status() -> str:
    """One line for the user: enabled (where, what) or disabled, and whether it is stale."""
    command = registered_command()
    if command is None:
        return f"start at login: off ({location()})"
    shown = run_key_value(command) if len(command) > 1 else command[0]
    line = f"start at login: on ({location()}) -> {shown}"
    if _platform() != "win32" and command and not _launchable(command[0]):
        line += "  [warning: that program no longer exists; run `traywidget autostart on` again]"
    return line


# ---------------------------------------------------------------------------------------------
# Helpers


def _launchable(program: str) -> bool:
    if os.path.isabs(program):
        return os.access(program, os.X_OK)
    return shutil.which(program) is not None


def _parse_desktop_entry(text: str) -> dict[str, str]:
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


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
