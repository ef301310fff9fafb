"""The keyring wrapper: clear errors, no plaintext fallback, no secret in any error."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from traywidget.core import secrets as secrets_module
from traywidget.core.secrets import KeyringSecretStore, MemorySecretStore
from traywidget.model import SecretStoreError

SECRET = "rk_" + "5e" * 32


class FlakyKeyring(KeyringBackend):
    """Fails the first `failures` reads, echoing the secret in its error as some backends do."""

    priority = 1

    def __init__(self, failures: int = 0, error: type[Exception] = RuntimeError) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.store: dict[tuple[str, str], str] = {}
        self.reads = 0

    def get_password(self, service, username):
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise self.error(f"backend trouble near {SECRET}")
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("missing")


@pytest.fixture
def backend(monkeypatch):
    previous = keyring.get_keyring()
    monkeypatch.setattr(secrets_module, "READ_RETRY_DELAY_S", 0.0)
    yield lambda b: keyring.set_keyring(b) or b
    keyring.set_keyring(previous)


def test_round_trip_and_usernames(backend):
    kb = backend(FlakyKeyring())
    store = KeyringSecretStore()
    store.set("main", f"  {SECRET}\n")
    store.set("main", "mgmt-key", management=True)
    assert kb.store == {("traywidget", "main:api"): SECRET, ("traywidget", "main:management"): "mgmt-key"}
    assert store.get("main") == SECRET
    assert store.delete("main") is True and store.delete("main") is False


def test_a_passing_read_failure_is_retried(backend):
    kb = backend(FlakyKeyring(failures=2))
    kb.store[("traywidget", "main:api")] = SECRET
    assert KeyringSecretStore().get("main") == SECRET
    assert kb.reads == 3


def test_a_persistent_failure_is_a_clear_error_without_the_secret(backend):
    backend(FlakyKeyring(failures=10))
    with pytest.raises(SecretStoreError) as info:
        KeyringSecretStore().get("main")
    assert "Could not read the key of account 'main'" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_locked_keyring_is_not_asked_again(backend):
    class KeyringLocked(Exception):
        pass

    kb = backend(FlakyKeyring(failures=10, error=KeyringLocked))
    with pytest.raises(SecretStoreError, match="locked"):
        KeyringSecretStore().get("main")
    assert kb.reads == 1


def test_no_keyring_is_refused_with_what_to_do(backend):
    backend(fail.Keyring())
    store = KeyringSecretStore()
    for action in (lambda: store.set("main", SECRET), lambda: store.get("main"), lambda: store.delete("main")):
        with pytest.raises(SecretStoreError, match="No usable keyring.*never in a file.*traywidget doctor"):
            action()
    assert store.backend_name() == "none"


def test_empty_keys_are_refused():
    with pytest.raises(SecretStoreError, match="empty"):
        MemorySecretStore().set("main", "  \n")
    assert SECRET not in repr(MemorySecretStore({("a", False): SECRET}))
