"""The key store: one keyring entry for every key, chunked where entries are small,
old per-key entries moved in, clear errors, no plaintext fallback, no secret in any error.

A dict-backed keyring backend stands in for the OS here, so every call can be
counted and every failure forced; tests/e2e/test_keyring_store.py runs the
same store against a real gnome-keyring.
"""

from __future__ import annotations

import json
import os
import stat
import threading

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from traywidget.model import SecretStoreError
from traywidget.store import secrets as secrets_module
from traywidget.store.secrets import (
    GATEWAY_TOKEN,
    KeyringSecretStore,
    MemorySecretStore,
    key_name,
)

SECRET = "rk_" + "5e" * 32
MGMT = "sk-or-v1-" + "ab" * 32


class DictKeyring(KeyringBackend):
    """A keyring in a dict; counts calls; fails the first `failures` reads (echoing the secret, as some backends do)."""

    priority = 1

    def __init__(self, failures: int = 0, error: type[Exception] = RuntimeError) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.store: dict[tuple[str, str], str] = {}
        self.reads = 0
        self.writes = 0
        self.fail_write_of: str | None = None

    def get_password(self, service, username):
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise self.error(f"backend trouble near {SECRET}")
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        if username == self.fail_write_of:
            raise RuntimeError(f"disk full while writing {password}")
        self.writes += 1
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("missing")

    def entries(self) -> dict[str, str]:
        return {user: value for (service, user), value in self.store.items() if service == "traywidget"}


@pytest.fixture
def backend(monkeypatch):
    previous = keyring.get_keyring()
    monkeypatch.setattr(secrets_module, "READ_RETRY_DELAY_S", 0.0)
    yield lambda b: keyring.set_keyring(b) or b
    keyring.set_keyring(previous)


@pytest.fixture
def store_at(tmp_path):
    return lambda **options: KeyringSecretStore(lock_path=tmp_path / "keys.lock", **options)


def document(kb: DictKeyring) -> dict:
    return json.loads(kb.entries()["keys"])


def test_every_key_lives_in_one_documented_entry(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at()
    store.set("main", f"  {SECRET}\n")
    store.set("main", MGMT, management=True)
    store.set_secret(GATEWAY_TOKEN, "tok-" + "1" * 40)
    assert list(kb.entries()) == ["keys"]
    assert document(kb) == {"version": 1, "keys": {"gateway:token": "tok-" + "1" * 40, "main:api": SECRET,
                                                   "main:management": MGMT}}
    assert store.read_all() == {"main:api": SECRET, "main:management": MGMT, "gateway:token": "tok-" + "1" * 40}
    assert (store.get("main"), store.get("main", True), store.get("other")) == (SECRET, MGMT, None)
    assert store.get_secret(GATEWAY_TOKEN) == "tok-" + "1" * 40
    assert store.delete("main") is True and store.delete("main") is False
    assert store.delete_secret(GATEWAY_TOKEN) is True
    assert store.delete("main", management=True) is True
    assert kb.entries() == {}  # the last key gone: the entry too


def test_reading_every_accounts_keys_is_one_keyring_read(backend, store_at):
    kb = backend(DictKeyring())
    writer = store_at()
    ids = [f"acc{i}" for i in range(40)]
    for account_id in ids:
        writer.set(account_id, f"{SECRET[:-2]}{account_id[-2:]}")
    kb.reads = 0
    keys = store_at().read_all(ids)
    assert len(keys) == 40 and keys["acc7:api"] == f"{SECRET[:-2]}c7"
    assert kb.reads == 1


def test_old_per_key_entries_move_into_the_one_entry_once(backend, store_at):
    kb = backend(DictKeyring())
    kb.store.update({("traywidget", "main:api"): SECRET, ("traywidget", "main:management"): MGMT,
                     ("traywidget", "other:api"): "rw-" + "9" * 30, ("elsewhere", "main:api"): "not ours"})
    store = store_at()
    keys = store.read_all(["main", "other", "keyless"])
    assert keys == {"main:api": SECRET, "main:management": MGMT, "other:api": "rw-" + "9" * 30}
    assert list(kb.entries()) == ["keys"]  # moved, then deleted
    assert kb.store[("elsewhere", "main:api")] == "not ours"
    kb.reads = 0
    assert store.read_all(["main", "other", "keyless"]) == keys
    assert kb.reads == 1  # the keyless account was looked for once, not on every read
    assert store_at().get("keyless") is None


def test_saving_one_key_moves_that_accounts_old_entries_too(backend, store_at):
    kb = backend(DictKeyring())
    kb.store[("traywidget", "main:management")] = MGMT
    store_at().set("main", SECRET)
    assert kb.entries() == {"keys": json.dumps({"version": 1, "keys": {"main:api": SECRET, "main:management": MGMT}},
                                               separators=(",", ":"))}


def test_a_long_document_is_split_into_parts_no_longer_than_the_chunk(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    ids = [f"acc{i}" for i in range(12)]
    for account_id in ids:
        store.set(account_id, SECRET)
    entries = kb.entries()
    pointer = json.loads(entries["keys"])
    assert pointer["version"] == 1 and pointer["generation"] in ("a", "b")
    parts = [entries[f"keys:{pointer['generation']}:{i}"] for i in range(1, pointer["parts"] + 1)]
    assert set(entries) == {"keys", *(f"keys:{pointer['generation']}:{i}" for i in range(1, pointer["parts"] + 1))}
    assert all(len(value) <= 200 for value in entries.values())
    assert json.loads("".join(parts))["keys"] == {key_name(a): SECRET for a in ids}
    kb.reads = 0
    assert store_at(chunk_chars=200).read_all(ids) == {key_name(a): SECRET for a in ids}
    assert kb.reads == 1 + pointer["parts"]
    # Shrinking back under one chunk: inline again, and no part is left behind.
    for account_id in ids[1:]:
        store.delete(account_id)
    assert kb.entries() == {"keys": json.dumps({"version": 1, "keys": {"acc0:api": SECRET}}, separators=(",", ":"))}


def test_parts_a_crashed_clean_up_left_beyond_the_new_end_are_deleted(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    for i in range(8):
        store.set(f"acc{i}", SECRET)
    pointer = json.loads(kb.entries()["keys"])
    other = "b" if pointer["generation"] == "a" else "a"
    for i in range(1, 9):
        kb.store[("traywidget", f"keys:{other}:{i}")] = "a part of an older, longer document"
    store.set("acc8", SECRET)  # written as the other generation, with fewer than 8 parts
    pointer = json.loads(kb.entries()["keys"])
    assert pointer["generation"] == other and pointer["parts"] < 8
    assert set(kb.entries()) == {"keys", *(f"keys:{other}:{i}" for i in range(1, pointer["parts"] + 1))}


def test_each_write_of_a_split_document_alternates_generations_and_cleans_the_old(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    for i in range(8):
        store.set(f"acc{i}", SECRET)
    generations = set()
    for i in range(8, 12):
        store.set(f"acc{i}", SECRET)
        pointer = json.loads(kb.entries()["keys"])
        generations.add(pointer["generation"])
        assert {name.split(":")[1] for name in kb.entries() if name != "keys"} == {pointer["generation"]}
    assert generations == {"a", "b"}


def test_a_write_that_fails_half_way_leaves_the_previous_keys_whole(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    for i in range(8):
        store.set(f"acc{i}", SECRET)
    before = store.read_all()
    kb.fail_write_of = "keys"  # the parts of the new document are written; the pointer is not
    with pytest.raises(SecretStoreError, match="Could not save the keys in the keyring"):
        store.set("acc8", SECRET)
    kb.fail_write_of = None
    assert store_at(chunk_chars=200).read_all() == before


def test_parts_changed_by_another_writer_mid_read_are_read_again(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    for i in range(8):
        store.set(f"acc{i}", SECRET)
    pointer = json.loads(kb.entries()["keys"])
    first_part = ("traywidget", f"keys:{pointer['generation']}:1")
    good = kb.store[first_part]
    kb.store[first_part] = good[:-1] + "x"  # as if a writer replaced it between our reads
    real_get = kb.get_password
    calls = []

    def get_password(service, username):
        calls.append(username)
        if calls.count("keys") == 2:
            kb.store[first_part] = good  # the writer is done
        return real_get(service, username)

    kb.get_password = get_password
    assert len(store.read_all()) == 8
    assert calls.count("keys") == 2
    kb.store[first_part] = good[:-1] + "x"
    kb.get_password = real_get
    with pytest.raises(SecretStoreError, match="incomplete"):
        store.read_all()


def test_a_damaged_entry_is_a_clear_error_and_purge_still_deletes_it(backend, store_at):
    kb = backend(DictKeyring())
    kb.store[("traywidget", "keys")] = f"half a document {SECRET}"
    store = store_at()
    with pytest.raises(SecretStoreError) as info:
        store.read_all()
    assert "not in traywidget's format" in str(info.value) and SECRET not in str(info.value)
    assert store.delete_all() == 0
    assert kb.entries() == {}


def test_delete_all_removes_every_key_part_and_old_entry(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at(chunk_chars=200)
    for i in range(8):
        store.set(f"acc{i}", SECRET)
    store.set_secret(GATEWAY_TOKEN, "tok-" + "2" * 40)
    kb.store[("traywidget", "legacy:api")] = SECRET
    # A write that crashed before cleaning up leaves the other generation's first parts behind.
    other = "b" if json.loads(kb.entries()["keys"])["generation"] == "a" else "a"
    for i in (1, 2):
        kb.store[("traywidget", f"keys:{other}:{i}")] = "a part of an older document"
    assert store.delete_all(["legacy", "acc0"]) == 10
    assert kb.entries() == {}


def test_two_stores_writing_at_once_lose_nothing(backend, tmp_path):
    """The tray and a CLI command: read-modify-write under a lock that spans processes."""
    backend(DictKeyring())
    lock = tmp_path / "keys.lock"
    stores = [KeyringSecretStore(lock_path=lock), KeyringSecretStore(lock_path=lock)]

    def write(n: int) -> None:
        for i in range(25):
            stores[n].set(f"w{n}-{i}", SECRET)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(KeyringSecretStore(lock_path=lock).read_all()) == 50


def test_a_passing_read_failure_is_retried(backend, store_at):
    kb = backend(DictKeyring(failures=2))
    kb.store[("traywidget", "keys")] = json.dumps({"version": 1, "keys": {"main:api": SECRET}})
    assert store_at().get("main") == SECRET
    assert kb.reads == 3


def test_a_persistent_failure_is_a_clear_error_without_the_secret(backend, store_at):
    backend(DictKeyring(failures=10))
    with pytest.raises(SecretStoreError) as info:
        store_at().get("main")
    assert str(info.value) == ("Could not read the keys from the keyring: it answered with an error. Try again; "
                               "`traywidget doctor` checks the keyring.")
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_failed_save_names_no_secret(backend, store_at):
    kb = backend(DictKeyring())
    kb.fail_write_of = "keys"
    with pytest.raises(SecretStoreError) as info:
        store_at().set("main", SECRET)
    assert str(info.value) == ("Could not save the keys in the keyring: it answered with an error. Try again; "
                               "`traywidget doctor` checks the keyring.")
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_locked_keyring_is_not_asked_again(backend, store_at):
    class KeyringLocked(Exception):
        pass

    kb = backend(DictKeyring(failures=10, error=KeyringLocked))
    with pytest.raises(SecretStoreError, match="locked"):
        store_at().get("main")
    assert kb.reads == 1


def test_no_keyring_is_refused_with_what_to_do(backend, store_at):
    backend(fail.Keyring())
    store = store_at()
    for action in (lambda: store.set("main", SECRET), lambda: store.get("main"), lambda: store.delete("main"),
                   lambda: store.read_all(["main"]), lambda: store.delete_all()):
        with pytest.raises(SecretStoreError, match="No usable keyring.*never in a file.*traywidget doctor"):
            action()
    assert store.backend_name() == "none"


def test_the_lock_file_is_the_config_directorys_shared_with_the_configs_writers(backend, isolated_dirs):
    """Not the cache directory: writers with different XDG_CACHE_HOME (or a cache cleared mid-write) would
    each lock a file of their own."""
    backend(DictKeyring())
    KeyringSecretStore().set("main", SECRET)
    lock = isolated_dirs / "config" / "store.lock"
    assert lock.read_bytes() == b"" and stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert not (isolated_dirs / "cache").exists() or "keys.lock" not in os.listdir(isolated_dirs / "cache")


def test_a_chunk_too_small_for_the_pointer_is_refused():
    with pytest.raises(ValueError):
        KeyringSecretStore(chunk_chars=100)


def test_empty_keys_are_refused():
    for store in (MemorySecretStore(), KeyringSecretStore()):
        with pytest.raises(SecretStoreError, match="empty"):
            store.set("main", "  \n")
    assert SECRET not in repr(MemorySecretStore({"a:api": SECRET}))


def test_the_memory_store_has_the_same_interface():
    store = MemorySecretStore({"main:api": SECRET})
    store.set("main", MGMT, management=True)
    store.set_secret(GATEWAY_TOKEN, "tok")
    assert store.read_all(["main"]) == {"main:api": SECRET, "main:management": MGMT, "gateway:token": "tok"}
    assert (store.get("main"), store.get_secret(GATEWAY_TOKEN)) == (SECRET, "tok")
    assert store.delete("main") is True and store.delete("main") is False
    assert store.delete_all() == 2 and store.read_all() == {}


def test_several_keys_saved_and_deleted_in_one_write(backend, store_at):
    kb = backend(DictKeyring())
    store = store_at()
    store.update({"a:api": f" {SECRET} ", "a:management": MGMT, GATEWAY_TOKEN: "tok"})
    assert kb.writes == 1
    store.update({"a:management": None, "b:api": SECRET})
    assert kb.writes == 2
    assert store.read_all() == {"a:api": SECRET, "b:api": SECRET, GATEWAY_TOKEN: "tok"}
    with pytest.raises(SecretStoreError, match="empty"):
        store.update({"c:api": " "})
    assert kb.writes == 2


def test_every_change_of_the_keys_is_stamped_for_running_processes(backend, isolated_dirs):
    """The stamp beside the lock is what the gateway's and the engine's key caches and the config watch ask:
    replaced after each change, holding no secret, 0600."""
    from traywidget.store.config import ConfigEdit, ConfigStore, ConfigWatch

    backend(DictKeyring())
    watch, keys = ConfigWatch(ConfigStore()), KeyringSecretStore()
    before = keys.change_stamp()
    keys.read_all(["main"])
    assert watch.check() is None and keys.change_stamp() == before
    keys.set("main", SECRET)
    stamp = keys.change_stamp()
    assert stamp != before
    assert watch.check() == ConfigEdit(None, (), keys_changed=True) and watch.check() is None
    keys.delete("main")
    assert keys.change_stamp() not in (before, stamp)
    assert watch.check() == ConfigEdit(None, (), keys_changed=True)
    stamp_file = isolated_dirs / "config" / "keys.changed"
    assert SECRET not in stamp_file.read_text() and stat.S_IMODE(stamp_file.stat().st_mode) == 0o600
