"""API keys live in the OS keyring and nowhere else.

A thin wrapper over `keyring`: it turns every keyring failure into one
SecretStoreError with a message a person can act on, and it never falls back
to a plaintext file (Maestral's CredentialStorage does; we don't). Backend
selection is keyring's own, so PYTHON_KEYRING_BACKEND works as usual.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

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


class KeyringState(StrEnum):
    USABLE = "usable"
    NO_KEYRING = "no_keyring"  # no backend at all (or only the null / fail one)
    PLAINTEXT = "plaintext"  # a backend that writes secrets to a plain file (keyrings.alt): never used
    LOCKED = "locked"  # a Secret Service whose default collection is locked
    REFUSED = "refused"  # the unlock prompt was dismissed or failed
    FAILED = "failed"  # the backend answered with an error


@dataclass(frozen=True)
class KeyringStatus:
    """Whether keys can be read and saved right now, and what to tell the user if not."""

    state: KeyringState
    backend: str
    message: str

    @property
    def usable(self) -> bool:
        return self.state is KeyringState.USABLE


KEYRING_HELP = (
    "Install and unlock a Secret Service keyring: gnome-keyring (GNOME, most desktops) or KWallet (Plasma), "
    "and log in through a session that unlocks it; or pick a backend with PYTHON_KEYRING_BACKEND. "
    "traywidget never stores keys in plain text."
)


def keyring_status(unlock: bool = False) -> KeyringStatus:
    """The one "is the keyring usable" check (doctor, settings, the CLI).

    Reads nothing and writes nothing of the user's. A locked Secret Service is
    reported as LOCKED; with `unlock`, its unlock prompt is shown and a
    dismissed prompt is REFUSED. Blocking (a D-Bus round trip, maybe a
    prompt): call it from a worker thread in a GUI.
    """
    import keyring
    from keyring.backends import chainer, fail

    backend = keyring.get_keyring()
    name = _backend_name(backend)
    forced = os.environ.get("PYTHON_KEYRING_BACKEND")
    via = f" (chosen by PYTHON_KEYRING_BACKEND={forced})" if forced else ""
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(KeyringState.NO_KEYRING, name, f"No keyring: keyring found no usable backend{via}.")
    if isinstance(backend, chainer.ChainerBackend):
        members = list(getattr(backend, "backends", []))
        if not members:
            return KeyringStatus(KeyringState.NO_KEYRING, name, f"No keyring: no usable backend{via}.")
        name += "[" + ", ".join(_backend_name(b) for b in members) + "]"
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or "Plaintext" in type(backend).__name__:
        return KeyringStatus(KeyringState.PLAINTEXT, name,
                             f"{name}{via} stores secrets in a plain file; traywidget will not use it.")
    if module == "keyring.backends.null":
        return KeyringStatus(KeyringState.NO_KEYRING, name, f"No keyring: the null backend{via} stores nothing.")
    if module == "keyring.backends.SecretService":
        return _secret_service_status(backend, name + via, unlock)
    try:
        backend.get_password(SERVICE, "keyring-check")  # read only: never sets anything
    except Exception as exc:  # noqa: BLE001 - backends raise many types; only the type is shown
        return KeyringStatus(KeyringState.FAILED, name, f"The keyring {name}{via} failed ({type(exc).__name__}).")
    return KeyringStatus(KeyringState.USABLE, name, f"{name}{via} is usable.")


def _secret_service_status(backend: Any, name: str, unlock: bool) -> KeyringStatus:
    import secretstorage
    from secretstorage.exceptions import SecretServiceNotAvailableException

    try:
        connection = secretstorage.dbus_init()
    except (SecretServiceNotAvailableException, OSError) as exc:
        return KeyringStatus(KeyringState.NO_KEYRING, name,
                             f"No keyring: the Secret Service is not running ({type(exc).__name__}).")
    try:
        collection = secretstorage.get_default_collection(connection)
        if collection.is_locked():
            if not unlock:
                return KeyringStatus(KeyringState.LOCKED, name,
                                     "The keyring is locked: unlock it (usually with your login password).")
            dismissed = collection.unlock()
            if dismissed or collection.is_locked():
                return KeyringStatus(KeyringState.REFUSED, name,
                                     "The keyring stayed locked: the unlock prompt was dismissed. "
                                     "Keys cannot be read or saved until it is unlocked.")
    except Exception as exc:  # noqa: BLE001 - secretstorage/jeepney raise many types; only the type is shown
        return KeyringStatus(KeyringState.FAILED, name, f"The keyring failed ({type(exc).__name__}).")
    finally:
        connection.close()
    return KeyringStatus(KeyringState.USABLE, name, f"{name} is usable.")


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__.removeprefix('keyring.backends.')}.{cls.__qualname__}"
