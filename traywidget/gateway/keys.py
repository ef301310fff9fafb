"""Provider keys for forwarded requests, read from the keyring and kept in memory.

Each keyring read is a D-Bus round trip (or a Keychain/Credential Manager
call): a key is read once and reused, like the engine does, and read again
after the provider refused it (the user may have just saved a new one), and
at once after any process changed the keys (`traywidget keys set|delete`,
Settings): the store's change stamp, asked before every use, says so.
"""

from __future__ import annotations

import asyncio
import time

from traywidget.store.secrets import SecretStore

# Keys are reused this long before the keyring is asked again.
KEY_REREAD_S = 1800.0


class KeyCache:
    def __init__(self, store: SecretStore, reread_s: float = KEY_REREAD_S) -> None:
        self._store = store
        self._reread_s = reread_s
        self._keys: dict[str, tuple[str, float]] = {}
        self._stamp = store.change_stamp()
        # One keyring read at a time: gnome-keyring fails concurrent reads now and then.
        self._lock = asyncio.Lock()

    async def get(self, account_id: str) -> str | None:
        """The account's API key (None when none is saved); SecretStoreError when the keyring fails."""
        self._forget_if_changed()
        cached = self._keys.get(account_id)
        if cached is not None and time.monotonic() - cached[1] < self._reread_s:
            return cached[0]
        async with self._lock:
            cached = self._keys.get(account_id)
            if cached is not None and time.monotonic() - cached[1] < self._reread_s:
                return cached[0]
            key = await asyncio.to_thread(self._store.get, account_id, False)
            if key:  # a missing key is looked for again next time: the user may be saving it now
                self._keys[account_id] = (key, time.monotonic())
            return key

    def _forget_if_changed(self) -> None:
        stamp = self._store.change_stamp()  # a stat of a small file: no keyring access
        if stamp != self._stamp:
            self._stamp = stamp
            self._keys.clear()

    def forget(self, account_id: str | None = None) -> None:
        """Read the key again next time (all keys when account_id is None)."""
        if account_id is None:
            self._keys.clear()
        else:
            self._keys.pop(account_id, None)

    def __repr__(self) -> str:
        return f"KeyCache(<{len(self._keys)} keys hidden>)"
