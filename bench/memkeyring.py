"""A tiny in-memory keyring backend for benchmarks (never for real keys).

Select it with PYTHON_KEYRING_BACKEND=bench.memkeyring.MemKeyring. Its
entries come from the TRAYWIDGET_BENCH_KEYS environment variable: a JSON object
{username: value} of the service "traywidget" (bench.common.app_home writes
the app's one entry, "keys"), holding fake keys that only the benchmark's
simulator knows.
"""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "TRAYWIDGET_BENCH_KEYS"


class MemKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # keyring declares priority a classproperty

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[str, str] = json.loads(os.environ.get(ENV, "{}"))

    def get_password(self, service: str, username: str) -> str | None:
        return self._keys.get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._keys[username] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._keys.pop(username, None) is None:
            raise PasswordDeleteError(username)
