"""Provider keys for forwarded requests, read from the keyring and kept in memory.

Each keyring read is a D-Bus round trip (or a Keychain/Credential Manager
call): a key is read once and reused, like the engine does, and read again
after the provider refused it (the user may have just saved a new one).

A keyring read may never come back (a locked keyring waiting on its unlock
prompt): each is waited for at most KEYRING_WAIT_S, and while one is stuck the
requests that need the keyring are answered at once with what to do
(KeyringNotAnswering), never left waiting in a queue behind it.
"""

from __future__ import annotations

import asyncio
import time

from traywidget.core.offthread import StuckGuard
from traywidget.core.secrets import SecretStore
from traywidget.model import SecretStoreError

# Keys are reused this long before the keyring is asked again.
KEY_REREAD_S = 1800.0
# How long a request waits for the keyring before it is told the keyring does not answer.
KEYRING_WAIT_S = 5.0


class KeyringNotAnswering(SecretStoreError):
    """The keyring did not answer in time (English: it is a gateway answer to a program)."""

    def __init__(self) -> None:
        super().__init__(f"The keyring did not answer within {KEYRING_WAIT_S:g} s; it is probably locked and "
                         "waiting for its password. Unlock it (log in to the desktop session, or open the "
                         "keyring in your password manager), then send the request again.")


class KeyCache:
    def __init__(self, store: SecretStore, reread_s: float = KEY_REREAD_S,
                 keyring: StuckGuard | None = None) -> None:
        self._store = store
        self._reread_s = reread_s
        self._keyring = keyring or StuckGuard(KEYRING_WAIT_S)
        self._keys: dict[str, tuple[str, float]] = {}
        # One keyring read at a time: gnome-keyring fails concurrent reads now and then.
        self._lock = asyncio.Lock()

    async def get(self, account_id: str) -> str | None:
        """The account's API key (None when none is saved); SecretStoreError when the keyring fails,
        KeyringNotAnswering when it does not answer in time."""
        cached = self._keys.get(account_id)
        if cached is not None and time.monotonic() - cached[1] < self._reread_s:
            return cached[0]
        if self._keyring.stuck:
            raise KeyringNotAnswering()
        async with self._lock:
            cached = self._keys.get(account_id)
            if cached is not None and time.monotonic() - cached[1] < self._reread_s:
                return cached[0]
            try:
                key = await self._keyring.call(self._store.get, account_id, False)
            except TimeoutError:
                raise KeyringNotAnswering() from None
            if key:  # a missing key is looked for again next time: the user may be saving it now
                self._keys[account_id] = (key, time.monotonic())
            return key

    def forget(self, account_id: str | None = None) -> None:
        """Read the key again next time (all keys when account_id is None)."""
        if account_id is None:
            self._keys.clear()
        else:
            self._keys.pop(account_id, None)

    def __repr__(self) -> str:
        return f"KeyCache(<{len(self._keys)} keys hidden>)"
