"""Start at login: real XDG autostart files on Linux (and the Exec line really launches traywidget),
macOS LaunchAgent and Windows Run-key content checked by value."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traywidget import __version__
from traywidget.desktop import autostart
from traywidget.model import AutostartError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    return home


@pytest.fixture
def xdg(home: Path) -> autostart.XdgAutostart:
    return autostart.XdgAutostart()


def _entry_values(text: str) -> dict[str, str]:
    return autostart.parse_desktop_entry(text)


@pytest.mark.parametrize(("platform", "kind"), [
    ("linux", autostart.XdgAutostart), ("freebsd14", autostart.XdgAutostart),
    ("darwin", autostart.LaunchAgent), ("win32", autostart.RunKey),
])
def test_login_item_is_the_platforms_class(platform: str, kind: type) -> None:
    assert type(autostart.login_item(platform)) is kind


# --- Linux, for real -------------------------------------------------------------------------


def test_enable_writes_xdg_entry_and_disable_removes_it(home: Path, xdg: autostart.XdgAutostart) -> None:
    command = ["/opt/traywidget/traywidget"]
    where = xdg.enable(command)
    expected = home / "xdg-config" / "autostart" / "traywidget.desktop"
    assert where == expected and expected.is_file()
    assert expected.stat().st_mode & 0o777 == 0o644
    assert list(expected.parent.iterdir()) == [expected]  # written atomically: no temporary file left
    values = _entry_values(expected.read_text())
    assert values["Type"] == "Application"
    assert values["Name"] == "Traywidget"
    assert values["Exec"] == "/opt/traywidget/traywidget"
    assert values["X-GNOME-Autostart-enabled"] == "true"
    assert values["Terminal"] == "false"
    assert xdg.is_enabled()
    assert xdg.registered_command() == command
    assert xdg.status() == f"start at login: on ({expected}) -> /opt/traywidget/traywidget  [warning: that " \
                           "program no longer exists; run `traywidget autostart on` again]"

    assert xdg.disable() is True
    assert not expected.exists()
    assert not xdg.is_enabled()
    assert xdg.disable() is False
    assert xdg.status() == f"start at login: off ({expected})"


def test_status_names_the_registered_command(xdg: autostart.XdgAutostart) -> None:
    xdg.enable([sys.executable, "-m", "traywidget"])
    assert xdg.status() == f"start at login: on ({xdg.location}) -> {sys.executable} -m traywidget"


def test_a_directory_that_cannot_be_written_is_a_clear_error(home: Path, xdg: autostart.XdgAutostart) -> None:
    (home / "xdg-config").write_text("a file where the directory should be")
    with pytest.raises(AutostartError, match="could not enable start at login"):
        xdg.enable(["/usr/bin/traywidget-gui"])
    assert not xdg.is_enabled()


def test_xdg_config_home_relative_is_ignored(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the spec says: must be absolute
    assert autostart.XdgAutostart().location == home / ".config" / "autostart" / "traywidget.desktop"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert autostart.XdgAutostart().location == home / ".config" / "autostart" / "traywidget.desktop"


@pytest.mark.parametrize("line", ["Hidden=true", "X-GNOME-Autostart-enabled=false"])
def test_entry_switched_off_by_the_desktop_counts_as_disabled(xdg: autostart.XdgAutostart, line: str) -> None:
    path = xdg.enable(["/usr/bin/traywidget-gui"])
    text = path.read_text().replace("X-GNOME-Autostart-enabled=true", "")
    path.write_text(text + line + "\n")
    assert not xdg.is_enabled()
    assert xdg.disable() is True  # still removes the file


def test_status_warns_when_the_registered_program_is_gone(xdg: autostart.XdgAutostart, tmp_path: Path) -> None:
    xdg.enable([str(tmp_path / "gone" / "traywidget")])
    assert "no longer exists" in xdg.status()


@pytest.mark.slow
def test_entry_passes_desktop_file_validate(xdg: autostart.XdgAutostart) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    path = xdg.enable(["/home/user name/bin/traywidget", "--demo"])
    proc = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)
    errors = [ln for ln in proc.stdout.splitlines() if "error" in ln]
    assert proc.returncode == 0 and not errors, proc.stdout


@pytest.mark.slow
def test_no_side_effects_at_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "fresh-home"
    home.mkdir()
    code = "import traywidget.desktop.autostart, traywidget.desktop.doctor, traywidget.desktop.assets, sys; " \
           "print('PySide6' in sys.modules)"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "autostart, doctor and assets must not import Qt"
    assert list(home.iterdir()) == []


# --- what gets launched ---------------------------------------------------------------------


def test_launch_command_frozen_is_the_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = tmp_path / "traywidget"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert autostart.launch_command() == [str(exe)]


def test_launch_command_frozen_windows_prefers_the_gui_twin(monkeypatch, tmp_path: Path) -> None:
    exe = tmp_path / "traywidget.exe"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert autostart.RunKey().launch_command() == [str(exe)]  # no twin next to it
    (tmp_path / "traywidget-gui.exe").write_bytes(b"")
    assert autostart.RunKey().launch_command() == [str(tmp_path / "traywidget-gui.exe")]
    assert autostart.XdgAutostart().launch_command() == [str(exe)]


def test_launch_command_on_windows_prefers_pythonw(monkeypatch, tmp_path: Path) -> None:
    python = tmp_path / "python.exe"
    (tmp_path / "pythonw.exe").write_bytes(b"")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "executable", str(python))
    assert autostart.RunKey().launch_command() == [str(tmp_path / "pythonw.exe"), "-m", "traywidget"]


def test_launch_command_prefers_the_gui_script_on_path(monkeypatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "traywidget-gui"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert autostart.launch_command() == [str(script)]


def test_launch_command_falls_back_to_python_m(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert autostart.launch_command() == [os.path.abspath(sys.executable), "-m", "traywidget"]


def _exec_argv(xdg: autostart.XdgAutostart) -> list[str]:
    values = _entry_values(xdg.location.read_text())
    argv = autostart.desktop_exec_unquote(values["Exec"])
    if not any(c in values["Exec"] for c in "\"\\%"):
        assert shlex.split(values["Exec"]) == argv  # simple paths: plain shell words too
    return argv


@pytest.mark.slow
@pytest.mark.parametrize("via", ["python -m", "gui script"])
def test_the_exec_line_really_starts_traywidget(xdg, home: Path, monkeypatch, tmp_path: Path, via: str) -> None:
    """enable() with the default command, then run exactly what the session manager would run,
    with --version appended: it must be this traywidget."""
    monkeypatch.delattr(sys, "frozen", raising=False)
    if via == "gui script":
        script = Path(sys.executable).with_name("traywidget-gui")
        if not script.exists():
            pytest.skip(f"no traywidget-gui script next to {sys.executable} (package not installed)")
        monkeypatch.setenv("PATH", str(script.parent))
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    xdg.enable()
    argv = _exec_argv(xdg)
    if via == "gui script":
        assert Path(argv[0]).name == "traywidget-gui"
    else:
        assert argv[1:] == ["-m", "traywidget"]
    proc = subprocess.run(argv + ["--version"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": os.defpath})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"traywidget {__version__}"


@pytest.mark.slow
def test_the_exec_line_starts_the_gui(xdg, monkeypatch, tmp_path: Path) -> None:
    """The registered command brings the tray app up (offscreen self-test: build tray and badge, exit 0)."""
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    xdg.enable()
    argv = _exec_argv(xdg)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TRAYWIDGET_SELFTEST": "1"}
    proc = subprocess.run(argv + ["--self-test"], capture_output=True, text=True, timeout=90, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- Exec quoting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/usr/bin/traywidget-gui"], "/usr/bin/traywidget-gui"),
        (["/usr/bin/python3", "-m", "traywidget"], "/usr/bin/python3 -m traywidget"),
        (["/home/a b/traywidget"], '"/home/a b/traywidget"'),
        (["/x/100%/t"], "/x/100%%/t"),
        (['/x/"q"$HOME'], '"/x/\\\\"q\\\\"\\\\$HOME"'),
        ([""], '""'),
    ],
)
def test_desktop_exec_quote_table(argv: list[str], expected: str) -> None:
    assert autostart.desktop_exec_quote(argv) == expected
    assert autostart.desktop_exec_unquote(expected) == argv


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"))), min_size=1, max_size=4))
def test_desktop_exec_round_trip(argv: list[str]) -> None:
    assert autostart.desktop_exec_unquote(autostart.desktop_exec_quote(argv)) == argv


# --- macOS, by content --------------------------------------------------------------------------


def test_launch_agent_content_round_trips() -> None:
    args = ["/Applications/Traywidget.app/Contents/MacOS/traywidget"]
    data = plistlib.loads(autostart.render_launch_agent(args))
    assert data == {
        "Label": "run.traywidget",
        "ProgramArguments": args,
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    assert autostart.render_launch_agent(args).startswith(b"<?xml")


def test_macos_enable_writes_the_launch_agent(home: Path) -> None:
    agent = autostart.LaunchAgent()
    args = ["/Applications/Traywidget.app/Contents/MacOS/traywidget"]
    where = agent.enable(args)
    assert where == home / "Library" / "LaunchAgents" / "run.traywidget.plist"
    assert plistlib.loads(where.read_bytes()) == plistlib.loads(autostart.render_launch_agent(args))
    assert agent.is_enabled() and agent.registered_command() == args
    where.write_bytes(b"not a plist")
    assert not agent.is_enabled()  # a damaged file is "off", never a crash
    assert agent.disable() is True and not where.exists() and not agent.is_enabled()


# --- Windows, by value (with a stand-in for winreg) ------------------------------------------------


def test_run_key_value_quotes_like_createprocess() -> None:
    assert autostart.run_key_value([r"C:\Program Files\Traywidget\traywidget-gui.exe"]) == \
        r'"C:\Program Files\Traywidget\traywidget-gui.exe"'
    assert autostart.run_key_value([r"C:\Python311\pythonw.exe", "-m", "traywidget"]) == \
        r"C:\Python311\pythonw.exe -m traywidget"


class FakeWinreg:
    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    KEY_READ = 1
    REG_SZ = 1

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    class _Key:
        def __init__(self, path: str) -> None:
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

    def CreateKeyEx(self, root, path, reserved, access):
        assert root == "HKCU" and path == autostart.RUN_KEY_PATH
        return self._Key(path)

    def OpenKey(self, root, path, reserved, access):
        return self._Key(path)

    def SetValueEx(self, key, name, reserved, kind, value):
        assert kind == self.REG_SZ
        self.values[(key.path, name)] = value

    def QueryValueEx(self, key, name):
        try:
            return self.values[(key.path, name)], self.REG_SZ
        except KeyError:
            raise FileNotFoundError(name) from None

    def DeleteValue(self, key, name):
        try:
            del self.values[(key.path, name)]
        except KeyError:
            raise FileNotFoundError(name) from None


def test_windows_enable_sets_the_run_value(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeWinreg()
    monkeypatch.setitem(sys.modules, "winreg", fake)  # the registry module exists only on Windows
    run_key = autostart.RunKey()
    exe = r"C:\Program Files\Traywidget\traywidget-gui.exe"
    where = run_key.enable([exe])
    assert where == r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Traywidget"
    assert fake.values == {(autostart.RUN_KEY_PATH, "Traywidget"): f'"{exe}"'}
    assert run_key.is_enabled()
    assert run_key.status() == f'start at login: on ({where}) -> "{exe}"'
    assert run_key.disable() is True and fake.values == {}
    assert run_key.disable() is False and not run_key.is_enabled()


def test_entry_icon_is_a_stable_file_or_the_theme_name(xdg, monkeypatch, tmp_path: Path) -> None:
    path = xdg.enable(["/usr/bin/traywidget-gui"])
    icon = _entry_values(path.read_text())["Icon"]
    assert Path(icon).is_absolute() and Path(icon).is_file() and icon.endswith("traywidget-128.png")
    # a one-file build unpacks into a temp dir that is gone after exit: use the theme name
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_MEI12345"), raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "dist" / "traywidget"))
    assert autostart.entry_icon() == "traywidget"
