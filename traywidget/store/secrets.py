"""API keys live in the OS keyring and nowhere else: in one documented entry.

Every secret of traywidget sits in one keyring entry, service `traywidget`,
username `keys`: a JSON document `{"version": 1, "keys": {NAME: SECRET}}`
whose names are `ACCOUNT_ID:api`, `ACCOUNT_ID:management` and
`gateway:token`. So reading every key of every account is one keyring round
trip (one D-Bus session on Linux, one Keychain approval on macOS), and the
entry stays visible and deletable in the OS's own keyring tool.

Where a keyring limits the size of an entry (Windows Credential Manager:
2560 bytes, UTF-16), a document longer than `chunk_chars` is split: the
`keys` entry then holds a small pointer `{"version": 1, "parts": N,
"generation": "a"|"b", "sha256": ...}` and the entries `keys:GEN:1` ..
`keys:GEN:N` hold consecutive slices of the document. A write puts the parts
of the other generation first and the pointer last, so a crash half-way
leaves the previous document whole; the checksum catches a read that raced
a writer.

Writes are read-modify-write under the stores' one lock (store.store_lock, in
the config directory: the tray and any number of CLI commands may write at
once): the document is read again right before it is written. After a write,
the `keys.changed` stamp beside the lock is replaced (it holds no secret), so
running processes that keep keys in memory (the engine, the gateway) read
them again at once: see `SecretStore.change_stamp`.

Entries of older versions (one per key, username
`ACCOUNT_ID:api` / `ACCOUNT_ID:management`) are moved into the document the
first time an account's keys are looked for, and then deleted.

A thin wrapper over `keyring`: every keyring failure becomes one
SecretStoreError with a message a person can act on, and it never falls back
to a plaintext file (Maestral's CredentialStorage does; we don't). Backend
selection is keyring's own, so PYTHON_KEYRING_BACKEND works as usual.

A little over 500 lines because the one entry's format is one thing: read, write in parts under
Windows' size limit, and migrate older entries, under the stores' lock. Whether a keyring can be used
at all is keyring_check.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from traywidget.i18n import tr, tr_noop
from traywidget.model import SecretStoreError

log = logging.getLogger(__name__)

SERVICE = "traywidget"
ENTRY = "keys"
FORMAT_VERSION = 1
GATEWAY_TOKEN = "gateway:token"
READ_ATTEMPTS = 3
READ_RETRY_DELAY_S = 0.2
# Windows Credential Manager holds at most 2560 bytes per credential, which
# keyring writes as UTF-16: 1280 characters, less a margin. Secret Service and
# the macOS Keychain have no limit that a few hundred keys come near.
WINDOWS_CHUNK_CHARS = 1024
PLATFORM_CHUNK_CHARS = WINDOWS_CHUNK_CHARS if sys.platform == "win32" else None
_GENERATIONS = ("a", "b")


def key_name(account_id: str, management: bool = False) -> str:
    """The name of an account's key in the store: "main:api", "main:management"."""
    return f"{account_id}:{'management' if management else 'api'}"


def _clean_secret(name: str, secret: str) -> str:
    """What is saved under `name`. A key (an account's, or the gateway token) goes into an HTTP header:
    it is checked as one — the callers check first, to say so where it was typed; this is the last line.
    Other secrets (a webhook's address, which is a secret itself) are kept as given, if not empty."""
    from traywidget.store.key_input import EMPTY_KEY, check_key

    if not isinstance(secret, str) or not secret.strip():
        raise SecretStoreError(tr(EMPTY_KEY))
    if name == GATEWAY_TOKEN or name.endswith((":api", ":management")):
        return check_key(secret)
    return secret.strip()


class SecretStore:
    """Every secret of traywidget, by name (see `key_name` and GATEWAY_TOKEN).

    Subclasses implement `read_all`, `_change` and `delete_all`; the rest is
    built on them. `account_ids` names the accounts whose keys an older
    traywidget may have left in entries of their own (they are moved in).
    """

    def read_all(self, account_ids: Iterable[str] = ()) -> dict[str, str]:
        """Every secret, by name, in one read."""
        raise NotImplementedError

    def delete_all(self, account_ids: Iterable[str] = ()) -> int:
        """Delete every secret (purge); returns how many there were."""
        raise NotImplementedError

    def _change(self, changes: Mapping[str, str | None], account_ids: Iterable[str]) -> dict[str, str]:
        """Apply changes (None deletes a name) in one read-modify-write; returns the secrets before."""
        raise NotImplementedError

    def change_stamp(self) -> object:
        """Something that differs after any process changed the keys: cheap (no keyring access), to
        ask before using keys kept in memory. None: this store cannot tell (keys are then re-read on a timer)."""
        return None

    def get_secret(self, name: str) -> str | None:
        return self.read_all().get(name)

    def set_secret(self, name: str, secret: str) -> None:
        self._change({name: _clean_secret(name, secret)}, ())

    def delete_secret(self, name: str) -> bool:
        return name in self._change({name: None}, ())

    def update(self, changes: Mapping[str, str | None]) -> None:
        """Save several secrets (None: delete that one) in one write."""
        self._change({name: None if secret is None else _clean_secret(name, secret)
                      for name, secret in changes.items()},
                     ())

    def get(self, account_id: str, management: bool = False) -> str | None:
        return self.read_all([account_id]).get(key_name(account_id, management))

    def set(self, account_id: str, secret: str, management: bool = False) -> None:
        name = key_name(account_id, management)
        self._change({name: _clean_secret(name, secret)}, [account_id])

    def delete(self, account_id: str, management: bool = False) -> bool:
        name = key_name(account_id, management)
        return name in self._change({name: None}, [account_id])


# keyring's backend modules -> the names their users know.
BACKEND_LABELS = {
    "SecretService": "Secret Service",
    "libsecret": "Secret Service",
    "kwallet": "KWallet",
    "macOS": "macOS Keychain",
    "Windows": "Windows Credential Manager",
}


class KeyringSecretStore(SecretStore):
    """Secrets in the OS keyring, in the one entry (service "traywidget", user "keys").

    `chunk_chars` is the longest value written to one entry (None: no
    limit). `lock_path` is the file whose lock serialises writes across
    processes (default: store.store_lock's, in the config directory, shared
    with config.json's writers); the change stamp is written beside it.
    """

    def __init__(
        self,
        service: str = SERVICE,
        *,
        chunk_chars: int | None = PLATFORM_CHUNK_CHARS,
        lock_path: Path | None = None,
    ) -> None:
        self._service = service
        self._chunk_chars = chunk_chars
        if chunk_chars is not None and chunk_chars < 200:
            raise ValueError("chunk_chars must leave room for the pointer entry (at least 200)")
        self._lock_path = lock_path
        self._thread_lock = threading.RLock()
        # Accounts whose old per-key entries were already looked for by this store.
        self._legacy_checked: set[str] = set()

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self._service!r})"

    def _backend(self):
        # Imported lazily: importing keyring scans entry points, which costs
        # start-up time in paths (the demo, --version) that never need it.
        from keyring.backends import fail

        backend = configured_backend()
        if isinstance(backend, fail.Keyring):
            raise SecretStoreError(tr(NO_KEYRING_HELP))
        chained = getattr(backend, "backends", None)
        if chained is not None and not chained:
            raise SecretStoreError(tr(NO_KEYRING_HELP))
        return backend

    def backend_name(self) -> str:
        try:
            backend = self._backend()
        except SecretStoreError:
            return "none"
        return f"{type(backend).__module__}.{type(backend).__name__}"

    def backend_label(self) -> str:
        """The keyring's name as people know it ("Secret Service", "KWallet"), never a class name."""
        try:
            backend = self._backend()
        except SecretStoreError:
            return tr("none")
        module = type(backend).__module__.rsplit(".", 1)[-1]
        return BACKEND_LABELS.get(module, tr("the system keyring"))

    # --- the store's interface ---------------------------------------------

    def read_all(self, account_ids: Iterable[str] = ()) -> dict[str, str]:
        with self._thread_lock:
            backend = self._backend()
            keys, _ = self._read_document(backend)
            unchecked = self._unchecked(account_ids, keys)
            if not unchecked:
                return keys
            # Keys of an older traywidget to move in first: a write, once.
            return self._change({}, unchecked)

    def _change(self, changes: Mapping[str, str | None], account_ids: Iterable[str]) -> dict[str, str]:
        with self._thread_lock, self._interprocess_lock():
            backend = self._backend()
            stored, layout = self._read_document(backend)  # again, now that no other process writes
            unchecked = self._unchecked(account_ids, stored)
            legacy = self._read_legacy(backend, unchecked)
            before = {**legacy, **stored}
            keys = dict(before)
            for name, secret in changes.items():
                if secret is None:
                    keys.pop(name, None)
                else:
                    keys[name] = secret
            if keys != stored:
                try:
                    self._write_document(backend, keys, layout)
                finally:  # a write that failed half-way may still have changed something
                    self._mark_changed()
            for name in legacy:  # only once the document holds them
                self._delete_entry(backend, name)
            self._legacy_checked.update(unchecked)
            return before

    def delete_all(self, account_ids: Iterable[str] = ()) -> int:
        with self._thread_lock, self._interprocess_lock():
            backend = self._backend()
            try:
                keys, _ = self._read_document(backend)
            except SecretStoreError:  # a damaged document is deleted all the same
                keys = {}
            deleted = len(keys)
            self._delete_entry(backend, ENTRY)
            for generation in _GENERATIONS:  # parts of every generation, those a crash left included
                self._delete_parts(backend, generation)
            for account_id in account_ids:
                for management in (False, True):
                    deleted += self._delete_entry(backend, key_name(account_id, management))
            self._mark_changed()
            return deleted

    # --- the document -------------------------------------------------------

    def _unchecked(self, account_ids: Iterable[str], keys: Mapping[str, str]) -> list[str]:
        """Accounts that may still have keys in entries of an older traywidget."""
        return [a for a in dict.fromkeys(account_ids) if a not in self._legacy_checked
                and key_name(a) not in keys and key_name(a, True) not in keys]

    def _read_legacy(self, backend: Any, account_ids: Iterable[str]) -> dict[str, str]:
        found = {}
        for account_id in account_ids:
            for management in (False, True):
                name = key_name(account_id, management)
                secret = self._get_entry(backend, name)
                if secret:
                    found[name] = secret
        return found

    def _read_document(self, backend: Any) -> tuple[dict[str, str], _Layout | None]:
        """(secrets, how they are stored now); ({}, None) when there is no entry yet."""
        for attempt in range(READ_ATTEMPTS):
            raw = self._get_entry(backend, ENTRY)
            if raw is None:
                return {}, None
            head = _parse(raw)
            if "keys" in head:
                return _secrets_of(head), _Layout.INLINE
            layout = _Layout.of(head)
            assert layout.generation is not None  # of() makes only layouts with a generation
            parts = [self._get_entry(backend, _part_name(layout.generation, i)) for i in range(1, layout.parts + 1)]
            text = "".join(part or "" for part in parts)
            if None not in parts and hashlib.sha256(text.encode()).hexdigest() == head.get("sha256"):
                return _secrets_of(_parse(text)), layout
            # Another process is replacing the parts right now: read again.
            time.sleep(READ_RETRY_DELAY_S * (attempt + 1))
        raise SecretStoreError(tr(_INCOMPLETE))

    def _write_document(self, backend: Any, keys: Mapping[str, str], layout: _Layout | None) -> None:
        old_parts = [_part_name(layout.generation, i) for i in range(1, layout.parts + 1)] \
            if layout is not None and layout.generation is not None else []
        if not keys:
            self._delete_entry(backend, ENTRY)
        else:
            text = json.dumps({"version": FORMAT_VERSION, "keys": dict(sorted(keys.items()))},
                              separators=(",", ":"))  # ASCII: json escapes everything else
            chunk = self._chunk_chars
            if chunk is None or len(text) <= chunk:
                self._set_entry(backend, ENTRY, text)
            else:
                generation = "b" if layout is not None and layout.generation == "a" else "a"
                slices = [text[i:i + chunk] for i in range(0, len(text), chunk)]
                for index, piece in enumerate(slices, start=1):
                    self._set_entry(backend, _part_name(generation, index), piece)
                pointer = {"version": FORMAT_VERSION, "parts": len(slices), "generation": generation,
                           "sha256": hashlib.sha256(text.encode()).hexdigest()}
                self._set_entry(backend, ENTRY, json.dumps(pointer, separators=(",", ":")))
                # Parts of this generation beyond the new end, left by a write that crashed before its clean-up.
                self._delete_parts(backend, generation, first=len(slices) + 1)
        # Last first: a crash half-way leaves parts 1..k, which `delete_all` finds.
        for name in reversed(old_parts):
            self._delete_entry(backend, name)

    def _delete_parts(self, backend: Any, generation: str, first: int = 1) -> None:
        index = first
        while self._delete_entry(backend, _part_name(generation, index)):
            index += 1

    # --- one entry, one backend call ----------------------------------------

    def _get_entry(self, backend: Any, username: str) -> str | None:
        for attempt in range(READ_ATTEMPTS):
            try:
                return backend.get_password(self._service, username)
            except Exception as exc:
                failure = _describe(_READ_FAILED, exc)
                if "locked" in type(exc).__name__.lower():
                    break  # retrying would only ask the user to unlock again
            # gnome-keyring intermittently fails a read while another process
            # (the tray and a CLI command, say) reads at the same moment.
            time.sleep(READ_RETRY_DELAY_S * (attempt + 1))
        # Raised outside the except block: the backend's exception (whose text
        # may echo a secret) must not ride along as __context__.
        raise SecretStoreError(failure)

    def _set_entry(self, backend: Any, username: str, value: str) -> None:
        try:
            backend.set_password(self._service, username, value)
            return
        except Exception as exc:
            failure = _describe(_SAVE_FAILED, exc)
        raise SecretStoreError(failure)

    def _delete_entry(self, backend: Any, username: str) -> bool:
        from keyring.errors import PasswordDeleteError

        try:
            backend.delete_password(self._service, username)
            return True
        except PasswordDeleteError:
            return False
        except Exception as exc:
            failure = _describe(_DELETE_FAILED, exc)
        raise SecretStoreError(failure)

    def _lock_file(self) -> Path:
        if self._lock_path is None:
            from traywidget.store.store_lock import lock_path

            self._lock_path = lock_path()
        return self._lock_path

    def change_stamp(self) -> object:
        from traywidget.store.store_lock import KEYS_CHANGED_FILE, file_stamp

        return file_stamp(self._lock_file().parent / KEYS_CHANGED_FILE)

    def _mark_changed(self) -> None:
        from traywidget.store.paths import atomic_write
        from traywidget.store.store_lock import KEYS_CHANGED_FILE

        try:
            # A fresh random text: a new inode and content, whatever the file system's clock resolution.
            atomic_write(self._lock_file().parent / KEYS_CHANGED_FILE, os.urandom(8).hex().encode())
        except OSError as exc:
            log.warning("Could not tell running traywidget processes that the keys changed (%s); they read "
                        "them again later", exc.strerror or exc)

    @contextmanager
    def _interprocess_lock(self) -> Iterator[None]:
        from traywidget.store.store_lock import StoreBusy, store_lock

        path = self._lock_file()
        with ExitStack() as held:
            try:
                held.enter_context(store_lock(path))
            except StoreBusy:
                raise SecretStoreError(tr(_BUSY)) from None
            except OSError as exc:
                # Without the lock two processes writing at the same moment could
                # lose one write; without keys saved nothing works: go on.
                log.warning("Key lock file %s unavailable (%s); writing without it", path, exc.strerror)
            yield


@dataclass(frozen=True)
class _Layout:
    """How the document is stored: inline (generation None) or in `parts` entries of a generation."""

    generation: str | None
    parts: int

    INLINE: ClassVar[_Layout]

    @classmethod
    def of(cls, head: Mapping[str, Any]) -> _Layout:
        generation, parts = head.get("generation"), head.get("parts")
        if generation not in _GENERATIONS or type(parts) is not int or not 0 < parts < 10000:
            raise SecretStoreError(tr(_DAMAGED))
        return cls(generation, parts)


_Layout.INLINE = _Layout(None, 0)


def _part_name(generation: str, index: int) -> str:
    return f"{ENTRY}:{generation}:{index}"


NO_KEYRING_HELP = tr_noop(
    "No usable keyring was found. traywidget keeps API keys only in the OS keyring "
    "and never in a file. On Linux install and unlock a Secret Service "
    "(gnome-keyring or KWallet); see `traywidget doctor`."
)
_DAMAGED = tr_noop(
    "The traywidget entry in the keyring (service \"traywidget\", user \"keys\") is not in traywidget's format. "
    "Delete it in your keyring tool (or run `traywidget purge --yes`) and set the keys again."
)
_NEWER = tr_noop(
    "The keys in the keyring (service \"traywidget\", user \"keys\") were written by a newer traywidget "
    "(format {theirs}; this one knows {ours}). They were left untouched: upgrade traywidget to use them."
)
_INCOMPLETE = tr_noop(
    "The keys in the keyring (service \"traywidget\", user \"keys\") are incomplete: a part is missing or "
    "changed. Delete the traywidget entries in your keyring tool and set the keys again."
)
_BUSY = tr_noop("Another traywidget process is saving keys right now; try again in a moment.")
_READ_FAILED = tr_noop("Could not read the keys from the keyring: {cause}")
_SAVE_FAILED = tr_noop("Could not save the keys in the keyring: {cause}")
_DELETE_FAILED = tr_noop("Could not delete the keys from the keyring: {cause}")
_LOCKED = tr_noop("it is locked. Unlock it (usually with your login password) and try again.")
_DISMISSED = tr_noop("its unlock prompt was dismissed. Try again, and unlock it when asked.")
_NOT_OPENED = tr_noop("no keyring could be opened (none runs, or it has no default keyring yet: open your "
                      "keyring tool, e.g. Seahorse, once to create one).")
_ERROR = tr_noop("it answered with an error. Try again; `traywidget doctor` checks the keyring.")


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    version = data.get("version") if isinstance(data, dict) else None
    if type(version) is int and version > FORMAT_VERSION:
        # A newer traywidget's keys (after a downgrade, say): never rewritten in our shape, never to be deleted.
        raise SecretStoreError(tr(_NEWER).format(theirs=version, ours=FORMAT_VERSION))
    if not isinstance(data, dict) or version != FORMAT_VERSION:
        raise SecretStoreError(tr(_DAMAGED))
    return data


def _secrets_of(document: Mapping[str, Any]) -> dict[str, str]:
    keys = document.get("keys")
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise SecretStoreError(tr(_DAMAGED))
    return dict(keys)


def _describe(template: str, exc: Exception) -> str:
    # Neither the exception's text (some backends echo the call's arguments, which may include the
    # secret) nor its class name (nothing a person can act on) goes into the message: what it means does.
    log.debug("keyring call failed: %s", type(exc).__name__)
    return tr(template).format(cause=keyring_failure(exc))


def keyring_failure(exc: BaseException) -> str:
    """What a keyring backend's exception means, in words a person can act on."""
    kind = type(exc).__name__
    if "locked" in kind.lower():  # keyring's KeyringLocked, secretstorage's LockedException
        return tr(_LOCKED)
    if "dismissed" in kind.lower():  # secretstorage's PromptDismissedException
        return tr(_DISMISSED)
    if kind in {"InitError", "NoKeyringError", "SecretServiceNotAvailableException"}:
        return tr(_NOT_OPENED)
    return tr(_ERROR)


class MemorySecretStore(SecretStore):
    """Secrets in process memory: the demo and tests, never the user's keyring."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._secrets = dict(secrets or {})
        self._lock = threading.Lock()
        self._changes = 0

    def read_all(self, account_ids: Iterable[str] = ()) -> dict[str, str]:
        with self._lock:
            return dict(self._secrets)

    def _change(self, changes: Mapping[str, str | None], account_ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            before = dict(self._secrets)
            for name, secret in changes.items():
                if secret is None:
                    self._secrets.pop(name, None)
                else:
                    self._secrets[name] = secret
            self._changes += 1
            return before

    def delete_all(self, account_ids: Iterable[str] = ()) -> int:
        with self._lock:
            count = len(self._secrets)
            self._secrets.clear()
            self._changes += 1
            return count

    def change_stamp(self) -> object:
        return self._changes

    def __repr__(self) -> str:
        return f"MemorySecretStore(<{len(self._secrets)} secrets hidden>)"


def configured_backend() -> Any:
    """keyring's backend. SecretStoreError when the one named by PYTHON_KEYRING_BACKEND (or keyring's
    own config file) cannot be loaded: keyring raises the import error itself."""
    import keyring

    try:
        return keyring.get_keyring()
    except (ImportError, AttributeError, ValueError) as exc:
        forced = os.environ.get("PYTHON_KEYRING_BACKEND")
        source = f"PYTHON_KEYRING_BACKEND={forced}" if forced is not None else tr("keyring's configuration file")
        raise SecretStoreError(tr(
            "The keyring backend chosen by {source} cannot be loaded ({reason}). Unset it, or name a backend that "
            "is installed (`traywidget doctor` shows the one in use).").format(source=source, reason=exc)) from None


def describe_backend(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__.removeprefix('keyring.backends.')}.{cls.__qualname__}"
