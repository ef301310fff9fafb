"""The one "is the keyring usable" check, against a real gnome-keyring on a private session bus."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_tools
from tests.desktop_session import dbus_session, secret_service

pytestmark = pytest.mark.desktop

STATUS = (
    "import json, sys;"
    "from traywidget.store.keyring_check import keyring_status;"
    "s = keyring_status(unlock=sys.argv[1] == 'unlock');"
    "print(json.dumps({'state': s.state.value, 'usable': s.usable, 'message': s.message}))"
)
LOCK = (
    "import secretstorage;"
    "c = secretstorage.dbus_init();"
    "secretstorage.get_default_collection(c).lock()"
)


def status(env: dict[str, str], unlock: bool = False) -> dict:
    proc = subprocess.run([sys.executable, "-c", STATUS, "unlock" if unlock else "look"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def private_keyring(tmp_path):
    """A keyring of this test's own: locking it must not lock the session-wide one other tests use."""
    require_tools("dbus-daemon", "gnome-keyring-daemon")
    with dbus_session(tmp_path) as env, secret_service(env) as keyring_env:
        yield keyring_env


def test_an_unlocked_secret_service_is_usable(private_keyring):
    result = status(private_keyring)
    assert result["state"] == "usable" and result["usable"] is True
    assert "SecretService" in result["message"]


def test_a_locked_keyring_is_told_apart_from_a_refused_unlock(private_keyring):
    subprocess.run([sys.executable, "-c", LOCK], env=private_keyring, check=True, timeout=60)
    locked = status(private_keyring)
    assert locked["state"] == "locked" and locked["usable"] is False
    assert "locked" in locked["message"]
    # With no one to answer the unlock prompt (no prompter on this bus), the prompt is dismissed.
    refused = status(private_keyring, unlock=True)
    assert refused["state"] == "refused" and refused["usable"] is False
    assert "dismissed" in refused["message"]


def test_no_session_bus_is_no_keyring(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/none"}
    result = status(env)
    assert result["state"] == "no_keyring" and result["usable"] is False
    assert result["message"].startswith("No keyring")
