"""API keys live in the OS keyring and nowhere else.

A thin wrapper over `keyring`: it turns every keyring failure into one
SecretStoreError with a message a person can act on, and it never falls back
to a plaintext file (Maestral's CredentialStorage does; we don't). Backend
selection is keyring's own, so PYTHON_KEYRING_BACKEND works as usual.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from traywidget.model import SecretStoreError

SERVICE = "traywidget"
READ_ATTEMPTS = 3
READ_RETRY_DELAY_S = 0.2


class SecretStore(Protocol):
    def get(self, account_id: str, management: bool = False) -> str | None: ...

    def set(self, account_id: str, secret: str, management: bool = False) -> None: ...

    def delete(self, account_id: str, management: bool = False) -> bool: ...


def _username(account_id: str, management: bool) -> str:
    return f"{account_id}:{'management' if management else 'api'}"


_NO_KEYRING_HELP = (
    "No usable keyring was found. traywidget keeps API keys only in the OS keyring "
    "and never in a file. On Linux install and unlock a Secret Service "
    "(gnome-keyring or KWallet); see `traywidget doctor`."
)


class KeyringSecretStore:
    """Secrets in the OS keyring under the service name "traywidget"."""

    def __init__(self, service: str = SERVICE) -> None:
        self._service = service

    def _backend(self):
        # Imported lazily: importing keyring scans entry points, which costs
        # start-up time in paths (the demo, --version) that never need it.
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            raise SecretStoreError(_NO_KEYRING_HELP)
        chained = getattr(backend, "backends", None)
        if chained is not None and not chained:
            raise SecretStoreError(_NO_KEYRING_HELP)
        return backend

    def backend_name(self) -> str:
        try:
            backend = self._backend()
        except SecretStoreError:
            return "none"
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def get(self, account_id: str, management: bool = False) -> str | None:
        backend = self._backend()
        for attempt in range(READ_ATTEMPTS):
            try:
                return backend.get_password(self._service, _username(account_id, management))
            except Exception as exc:  # keyring backends raise many types
                failure = _describe("read", account_id, exc)
                if "locked" in type(exc).__name__.lower():
                    break  # retrying would only ask the user to unlock again
            # gnome-keyring intermittently fails a read while another process
            # (the tray and a CLI command, say) reads at the same moment.
            time.sleep(READ_RETRY_DELAY_S * (attempt + 1))
        # Raised outside the except block: the backend's exception (whose text
        # may echo a secret) must not ride along as __context__.
        raise SecretStoreError(failure)

    def set(self, account_id: str, secret: str, management: bool = False) -> None:
        if not secret or not secret.strip():
            raise SecretStoreError("The key is empty: nothing was saved.")
        backend = self._backend()
        try:
            backend.set_password(self._service, _username(account_id, management), secret.strip())
            return
        except Exception as exc:
            failure = _describe("save", account_id, exc)
        raise SecretStoreError(failure)

    def delete(self, account_id: str, management: bool = False) -> bool:
        backend = self._backend()
        from keyring.errors import PasswordDeleteError

        try:
            backend.delete_password(self._service, _username(account_id, management))
            return True
        except PasswordDeleteError:
            return False
        except Exception as exc:
            failure = _describe("delete", account_id, exc)
        raise SecretStoreError(failure)


def _describe(action: str, account_id: str, exc: Exception) -> str:
    # Only the exception's type goes into the message: some backends echo the
    # call's arguments (which may include the secret) in their error text.
    kind = type(exc).__name__
    hint = ""
    if "locked" in kind.lower():  # keyring's KeyringLocked, secretstorage's LockedException
        hint = " The keyring is locked: unlock it and try again."
    elif kind in {"InitError", "NoKeyringError"}:
        hint = " " + _NO_KEYRING_HELP
    return f"Could not {action} the key of account {account_id!r} in the keyring ({kind}).{hint}"


class MemorySecretStore:
    """Secrets in process memory: the demo and tests, never the user's keyring."""

    def __init__(self, secrets: dict[tuple[str, bool], str] | None = None) -> None:
        self._secrets = dict(secrets or {})
        self._lock = threading.Lock()

    def get(self, account_id: str, management: bool = False) -> str | None:
        with self._lock:
            return self._secrets.get((account_id, management))

    def set(self, account_id: str, secret: str, management: bool = False) -> None:
        if not secret or not secret.strip():
            raise SecretStoreError("The key is empty: nothing was saved.")
        with self._lock:
            self._secrets[(account_id, management)] = secret.strip()

    def delete(self, account_id: str, management: bool = False) -> bool:
        with self._lock:
            return self._secrets.pop((account_id, management), None) is not None

    def __repr__(self) -> str:
        return f"MemorySecretStore(<{len(self._secrets)} secrets hidden>)"
