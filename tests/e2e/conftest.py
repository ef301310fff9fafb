from __future__ import annotations

import pytest

from tests.conftest import require_tools
from tests.desktop import dbus_session, secret_service


@pytest.fixture(scope="session")
def keyring_home(tmp_path_factory):
    """A throwaway HOME with a private session bus and an unlocked gnome-keyring."""
    require_tools("dbus-daemon", "gnome-keyring-daemon", "dbus-send")
    home = tmp_path_factory.mktemp("home")
    with dbus_session(home) as env, secret_service(env) as keyring_env:
        yield home, keyring_env
