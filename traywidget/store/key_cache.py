"""Every key of the app, read from the keyring in one call and kept a while: the engine's polls and the
gateway's forwarded requests both take their keys from a KeyCache.

Each keyring read is a D-Bus round trip (or a Keychain/Credential Manager call), and gnome-keyring
fails concurrent reads now and then. So one read at a time, shared: accounts that ask together get
the same read, and the same failure (a locked keyring asks once, not once per account). The keys are
read again after `max_age`; at once after any process changed them (`traywidget keys set|delete`,
Settings: the store's change stamp, a stat of a small file, is compared before every use); and when
a caller says the keys it has are older than a refusal it saw (`read_after`), or forgets them.

A keyring read may never come back (a locked keyring waiting on its unlock prompt): each is waited
for at most KEYRING_WAIT_S, and while one is stuck whoever needs the keys is told at once
(KeyringNotAnswering, with what to do), never left waiting in a queue behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from traywidget.i18n import tr, tr_noop
from traywidget.model import SecretStoreError
from traywidget.store.offthread import StuckGuard
from traywidget.store.secrets import SecretStore, key_name

# Keys are reused this long before the keyring is asked again.
KEY_REREAD_S = 1800.0
# How long a request or a poll waits for the keyring before it is told the keyring does not answer.
KEYRING_WAIT_S = 5.0
_NOT_ANSWERING = tr_noop(
    "The keyring did not answer within {seconds} s; it is probably locked and waiting for its password. "
    "Unlock it (log in to the desktop session, or open the keyring in your password manager), then try again.")


class KeyringNotAnswering(SecretStoreError):
    def __init__(self) -> None:
        super().__init__(tr(_NOT_ANSWERING).format(seconds=f"{KEYRING_WAIT_S:g}"))


class KeyCache:
    def __init__(self, store: SecretStore, keyring: StuckGuard | None = None) -> None:
        self._store = store
        self._keyring = keyring or StuckGuard(KEYRING_WAIT_S)
        self._keys: dict[str, str] = {}
        self._read_at: float | None = None  # monotonic start of the last good read
        self._lock = asyncio.Lock()
        self._reads = 0  # finished reads, good or failed
        self._failure: str | None = None
        self._stamp = store.change_stamp()

    def forget(self) -> None:
        """Read the keys again next time (a provider refused one: the user may have just saved another)."""
        self._read_at = None

    async def keys(
        self, account_ids: list[str], *, now: float, max_age: float = KEY_REREAD_S, read_after: float | None = None
    ) -> Mapping[str, str]:
        """{key_name(...): key} for these accounts; SecretStoreError when the keyring fails,
        KeyringNotAnswering when it does not answer in time (or is still stuck on an earlier read)."""
        reads_before = self._reads
        stamp = self._store.change_stamp()
        if stamp != self._stamp:
            self._stamp, self._read_at = stamp, None
        if self._keyring.stuck and not self._fresh(now, max_age, read_after):
            raise KeyringNotAnswering()
        async with self._lock:
            if self._reads != reads_before and self._failure is not None:
                raise SecretStoreError(self._failure)
            if self._fresh(now, max_age, read_after):
                return self._keys
            try:
                keys = await self._keyring.call(self._store.read_all, account_ids)
            except TimeoutError:
                self._failure, self._read_at = str(KeyringNotAnswering()), None
                raise KeyringNotAnswering() from None
            except SecretStoreError as exc:
                self._failure, self._read_at = str(exc), None
                raise
            finally:
                self._reads += 1
            self._keys, self._read_at, self._failure = keys, now, None
            return keys

    def _fresh(self, now: float, max_age: float, read_after: float | None) -> bool:
        return (self._read_at is not None and now - self._read_at < max_age
                and (read_after is None or self._read_at > read_after))

    async def api_key(self, account_id: str, account_ids: list[str], *, now: float) -> str | None:
        """The account's API key (None when none is saved), read with the other accounts' keys."""
        return (await self.keys(account_ids, now=now)).get(key_name(account_id))

    def __repr__(self) -> str:
        return f"KeyCache(<{len(self._keys)} keys hidden>)"
