"""Whether keys can be kept in this desktop's keyring, asked without changing anything: Settings
checks it as it opens, `traywidget doctor` says it, and what to do about each answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from traywidget.i18n import tr, tr_noop
from traywidget.model import SecretStoreError
from traywidget.store.secrets import SERVICE, configured_backend, describe_backend, keyring_failure


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


KEYRING_HELP = tr_noop(
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
    from keyring.backends import chainer, fail

    try:
        backend = configured_backend()
    except SecretStoreError as exc:
        return KeyringStatus(KeyringState.NO_KEYRING, "none", str(exc))
    name = describe_backend(backend)
    forced = os.environ.get("PYTHON_KEYRING_BACKEND")
    via = tr(" (chosen by PYTHON_KEYRING_BACKEND={forced})").format(forced=forced) if forced else ""
    if isinstance(backend, fail.Keyring):
        return KeyringStatus(KeyringState.NO_KEYRING, name,
                             tr("No keyring: keyring found no usable backend{via}.").format(via=via))
    if isinstance(backend, chainer.ChainerBackend):
        members = list(getattr(backend, "backends", []))
        if not members:
            return KeyringStatus(KeyringState.NO_KEYRING, name,
                                 tr("No keyring: no usable backend{via}.").format(via=via))
        name += "[" + ", ".join(describe_backend(b) for b in members) + "]"
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or "Plaintext" in type(backend).__name__:
        return KeyringStatus(KeyringState.PLAINTEXT, name, tr(
            "{name}{via} stores secrets in a plain file; traywidget will not use it.").format(name=name, via=via))
    if module == "keyring.backends.null":
        return KeyringStatus(KeyringState.NO_KEYRING, name,
                             tr("No keyring: the null backend{via} stores nothing.").format(via=via))
    if module == "keyring.backends.SecretService":
        return _secret_service_status(backend, name + via, unlock)
    try:
        backend.get_password(SERVICE, "keyring-check")  # read only: never sets anything
    except Exception as exc:
        return KeyringStatus(KeyringState.FAILED, name, tr("The keyring {name}{via} failed: {cause}").format(
            name=name, via=via, cause=keyring_failure(exc)))
    return KeyringStatus(KeyringState.USABLE, name, tr("{name}{via} is usable.").format(name=name, via=via))


def _secret_service_status(backend: Any, name: str, unlock: bool) -> KeyringStatus:
    import secretstorage
    from secretstorage.exceptions import SecretServiceNotAvailableException

    try:
        connection = secretstorage.dbus_init()
    except (SecretServiceNotAvailableException, OSError):
        return KeyringStatus(KeyringState.NO_KEYRING, name, tr("No keyring: the Secret Service is not running."))
    try:
        collection = secretstorage.get_default_collection(connection)
        if collection.is_locked():
            if not unlock:
                return KeyringStatus(KeyringState.LOCKED, name,
                                     tr("The keyring is locked: unlock it (usually with your login password)."))
            dismissed = collection.unlock()
            if dismissed or collection.is_locked():
                return KeyringStatus(KeyringState.REFUSED, name,
                                     tr("The keyring stayed locked: the unlock prompt was dismissed. "
                                        "Keys cannot be read or saved until it is unlocked."))
    except Exception as exc:
        return KeyringStatus(KeyringState.FAILED, name, tr("The keyring failed: {cause}").format(
            cause=keyring_failure(exc)))
    finally:
        connection.close()
    return KeyringStatus(KeyringState.USABLE, name, tr("{name} is usable.").format(name=name))
