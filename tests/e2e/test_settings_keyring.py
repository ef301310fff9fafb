"""Settings checks a real keyring when it opens: a real gnome-keyring on a private session bus, locked or
not, the app's own engine, controller, bridge to the engine's thread and qasync loop (offscreen, in a subprocess: one
QApplication per process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_tools
from tests.desktop_session import dbus_session, secret_service
from traywidget.store.keyring_check import KeyringState
from traywidget.ui.settings import KEYRING_PROBLEMS

pytestmark = pytest.mark.desktop

OPEN_SETTINGS = r"""
import asyncio, json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
import qasync

app = QApplication([])
from traywidget.store.config import Config, ConfigStore
from traywidget.engine.engine import Engine
from traywidget.store.secrets import KeyringSecretStore
from traywidget.engine.loop_thread import LoopThread
from traywidget.ui.bridge import EngineBridge
from traywidget.ui.controller import AppController

loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
thread = LoopThread()
thread.start()
secrets = KeyringSecretStore()
controller = AppController(Engine([], secrets), bridge=EngineBridge(thread), config=Config(),
                           config_store=ConfigStore(Path(sys.argv[1])), secrets=secrets)
dialog = controller.open_settings()
checking = dialog.keyring_label.text()

async def checked():
    while not dialog.keyring_again.isEnabled():  # re-enabled when the worker thread has answered
        await asyncio.sleep(0.05)

loop.run_until_complete(asyncio.wait_for(checked(), 60))
editor = dialog.add_account()
print(json.dumps({"checking": checking, "banner": dialog.keyring_label.text(),
                  "shown": not dialog.keyring_box.isHidden(), "editor": editor.keyring_banner.text()}))
if len(sys.argv) > 2:
    dialog.grab().save(sys.argv[2])
thread.stop()  # ends the engine's thread and its worker threads, as the app's shutdown does
loop.close()
"""
LOCK = "import secretstorage; secretstorage.get_default_collection(secretstorage.dbus_init()).lock()"


def open_settings(env: dict[str, str], tmp_path) -> dict:
    env = {**env, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHON_KEYRING_BACKEND", None)  # keyring's own choice: the Secret Service on this bus
    proc = subprocess.run([sys.executable, "-c", OPEN_SETTINGS, str(tmp_path / "config")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture
def private_keyring(tmp_path):
    require_tools("dbus-daemon", "gnome-keyring-daemon")
    with dbus_session(tmp_path / "home") as env, secret_service(env) as keyring_env:
        yield keyring_env


def test_an_unlocked_keyring_says_nothing(private_keyring, tmp_path):
    result = open_settings(private_keyring, tmp_path)
    assert result["checking"] == "Checking whether keys can be saved in the keyring…"
    assert (result["banner"], result["shown"], result["editor"]) == ("", False, "")


def test_a_locked_keyring_whose_prompt_is_dismissed_is_said_at_once(private_keyring, tmp_path):
    subprocess.run([sys.executable, "-c", LOCK], env=private_keyring, check=True, timeout=60)
    # No prompter answers on this private bus: the unlock prompt is dismissed.
    result = open_settings(private_keyring, tmp_path)
    refused = KEYRING_PROBLEMS[KeyringState.REFUSED]
    assert (result["banner"], result["shown"], result["editor"]) == (refused, True, refused)


def test_no_keyring_at_all(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    result = open_settings(env, tmp_path)
    missing = KEYRING_PROBLEMS[KeyringState.NO_KEYRING]
    assert (result["banner"], result["shown"], result["editor"]) == (missing, True, missing)
