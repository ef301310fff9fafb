"""The key store on a real gnome-keyring (a private session bus and daemon of this module's own).

What a user's keyring tool (Seahorse) shows is read with secretstorage, the
library those tools' Secret Service speaks: one item, service "traywidget",
user "keys" (plus numbered parts when the store is built with a small chunk
size, as on Windows). Keyring calls are counted by wrapping the real backend.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import closing

import keyring
import pytest
from keyring.backends import SecretService

from tests.conftest import require_tools
from tests.desktop_session import dbus_session, secret_service
from tests.e2e.cli import cli_env, run_cli
from traywidget.model import Account, SecretStoreError
from traywidget.store.config import Config, ConfigStore
from traywidget.store.secrets import GATEWAY_TOKEN, KeyringSecretStore, key_name

pytestmark = pytest.mark.desktop

KEY = "rk_" + "4d" * 32
MGMT = "sk-or-v1-" + "e1" * 32
TOKEN = "twg_" + "0f" * 20


class CountingSecretService(SecretService.Keyring):
    """The real Secret Service backend, counting its reads (each one D-Bus session)."""

    reads = 0

    def get_password(self, service, username):
        type(self).reads += 1
        return super().get_password(service, username)


@pytest.fixture(scope="module")
def bus(tmp_path_factory):
    require_tools("dbus-daemon", "gnome-keyring-daemon")
    with dbus_session(tmp_path_factory.mktemp("keyring-store")) as env, secret_service(env) as keyring_env:
        yield keyring_env


@pytest.fixture
def real_keyring(bus, monkeypatch, tmp_path):
    """This process on the private bus with the Secret Service backend; every traywidget item removed after."""
    # Taken before the environment changes: asked after, keyring would choose (and later give back) a
    # Secret Service on a bus that is gone once this test ends.
    previous = keyring.get_keyring()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    backend = CountingSecretService()
    keyring.set_keyring(backend)
    CountingSecretService.reads = 0
    yield backend
    for item in items():
        item.delete()
    keyring.set_keyring(previous)


def items() -> list:
    """Every traywidget item in the default collection, as the OS's keyring tool lists them."""
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        found = list(collection.search_items({"service": "traywidget"}))
        return [_Item(item) for item in found]


class _Item:
    """An item read out while its connection was open."""

    def __init__(self, item) -> None:
        self.path = item.item_path
        self.label = item.get_label()
        self.attributes = item.get_attributes()
        self.secret = item.get_secret().decode()

    def delete(self) -> None:
        import secretstorage

        with closing(secretstorage.dbus_init()) as connection:
            secretstorage.Item(connection, self.path).delete()


def store(tmp_path, **options) -> KeyringSecretStore:
    return KeyringSecretStore(lock_path=tmp_path / "keys.lock", **options)


def test_one_item_holds_every_key_and_the_users_keyring_tool_sees_it(real_keyring, tmp_path):
    keys = store(tmp_path)
    keys.set("main", KEY)
    keys.set("main", MGMT, management=True)
    keys.set_secret(GATEWAY_TOKEN, TOKEN)
    (item,) = items()
    assert item.label == "Password for 'keys' on 'traywidget'"
    assert (item.attributes["service"], item.attributes["username"]) == ("traywidget", "keys")
    assert json.loads(item.secret) == {"version": 1, "keys": {"main:api": KEY, "main:management": MGMT,
                                                              "gateway:token": TOKEN}}
    assert store(tmp_path).read_all() == {"main:api": KEY, "main:management": MGMT, "gateway:token": TOKEN}
    item.delete()  # the user deletes it in Seahorse
    assert store(tmp_path).read_all(["main"]) == {}


def test_forty_accounts_keys_in_one_read(real_keyring, tmp_path):
    ids = [f"acc{i:02d}" for i in range(40)]
    store(tmp_path).update({key_name(a): f"{KEY[:-2]}{a[-2:]}" for a in ids})
    CountingSecretService.reads = 0
    keys = store(tmp_path).read_all(ids)
    assert CountingSecretService.reads == 1
    assert len(keys) == 40 and keys["acc07:api"] == f"{KEY[:-2]}07"


def test_keys_of_an_older_traywidget_move_into_the_one_item(real_keyring, tmp_path):
    for account_id in ("old1", "old2"):
        keyring.set_password("traywidget", f"{account_id}:api", f"{KEY[:-1]}{account_id[-1]}")
    keyring.set_password("traywidget", "old2:management", MGMT)
    assert len(items()) == 3
    keys = store(tmp_path).read_all(["old1", "old2", "never-had-a-key"])
    assert keys == {"old1:api": f"{KEY[:-1]}1", "old2:api": f"{KEY[:-1]}2", "old2:management": MGMT}
    (item,) = items()
    assert item.attributes["username"] == "keys" and json.loads(item.secret)["keys"] == keys
    CountingSecretService.reads = 0
    assert store(tmp_path).read_all(["old1", "old2"]) == keys
    assert CountingSecretService.reads == 1


def test_a_small_chunk_size_splits_the_keys_into_numbered_items(real_keyring, tmp_path):
    ids = [f"acc{i}" for i in range(10)]
    small = store(tmp_path, chunk_chars=300)
    small.update({key_name(a): KEY for a in ids})
    found = {item.attributes["username"]: item for item in items()}
    pointer = json.loads(found["keys"].secret)
    parts = [f"keys:{pointer['generation']}:{i}" for i in range(1, pointer["parts"] + 1)]
    assert sorted(found) == sorted(["keys", *parts]) and len(parts) >= 3
    assert all(len(item.secret) <= 300 for item in found.values())
    assert store(tmp_path, chunk_chars=300).read_all() == {key_name(a): KEY for a in ids}
    assert small.delete_all() == 10
    assert items() == []


def test_two_processes_saving_at_once_lose_no_key(bus, tmp_path):
    """The tray saving a key while `traywidget keys set` runs: each re-reads under the lock before writing."""
    env = {**bus, "TRAYWIDGET_CACHE_DIR": str(tmp_path / "cache"), "TRAYWIDGET_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    script = ("import sys\n"
              "from traywidget.store.secrets import KeyringSecretStore\n"
              "store = KeyringSecretStore()\n"
              "for i in range(8):\n"
              f"    store.set(f'{{sys.argv[1]}}{{i}}', '{KEY}')\n")
    writers = [subprocess.Popen([sys.executable, "-c", script, name], env=env) for name in ("tray", "cli")]
    assert [w.wait(120) for w in writers] == [0, 0]
    read = subprocess.run([sys.executable, "-c", "import json; from traywidget.store.secrets import "
                           "KeyringSecretStore as S; print(json.dumps(sorted(S().read_all())))"],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(read.stdout) == sorted(f"{w}{i}:api" for w in ("tray", "cli") for i in range(8))
    cleanup = "from traywidget.store.secrets import KeyringSecretStore as S; S().delete_all()"
    subprocess.run([sys.executable, "-c", cleanup], env=env, timeout=60, check=True)


def test_status_and_purge_on_the_real_keyring(bus, tmp_path, sim):
    """`status` reads every key in one go (old entries moved in on the way); `purge --yes` leaves no item."""
    env = cli_env(bus, tmp_path)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    s = sim.sim
    accounts, keys = [], {}
    for i in range(6):
        key = s.add_routing_key("Premium")
        accounts.append(Account(f"rr{i}", "routing.run", f"rr{i}", sim.url("routing.run")))
        keys[f"rr{i}:api"] = key
    ConfigStore(tmp_path / "config").save(Config(accounts=tuple(accounts)))
    legacy = "import json, sys, keyring\nfor user, key in json.load(sys.stdin).items(): " \
             "keyring.set_password('traywidget', user, key)\n"
    subprocess.run([sys.executable, "-c", legacy], input=json.dumps(keys), text=True, env=env, check=True,
                   timeout=60)
    status = run_cli(env, "status", "--json")
    assert status.code == 0, status.err
    assert [a["state"] for a in json.loads(status.out)["accounts"]] == ["ok"] * 6
    listing = ("import json, secretstorage\nc = secretstorage.dbus_init()\n"
               "col = secretstorage.get_default_collection(c)\n"
               "print(json.dumps(sorted(i.get_attributes()['username'] "
               "for i in col.search_items({'service': 'traywidget'}))))")

    def usernames() -> list[str]:
        done = subprocess.run([sys.executable, "-c", listing], env=env, capture_output=True, text=True, timeout=60,
                              check=True)
        return json.loads(done.stdout)

    assert usernames() == ["keys"]
    assert run_cli(env, "status", "--json").code == 0
    purge = run_cli(env, "purge", "--yes")
    assert purge.code == 0, purge.err
    assert usernames() == []


def test_an_entry_of_a_newer_traywidget_is_left_untouched(real_keyring, tmp_path):
    """After a downgrade: the newer version's entry is neither rewritten nor offered for deletion."""
    newer = json.dumps({"version": 2, "keys": {"main:api": KEY}, "profiles": {"work": ["main"]}})
    keyring.set_password("traywidget", "keys", newer)
    keys = store(tmp_path)
    for action in (lambda: keys.read_all(["main"]), lambda: keys.set("main", MGMT),
                   lambda: keys.delete("main"), lambda: keys.set_secret(GATEWAY_TOKEN, TOKEN)):
        with pytest.raises(SecretStoreError) as refused:
            action()
        assert str(refused.value) == (
            'The keys in the keyring (service "traywidget", user "keys") were written by a newer traywidget '
            "(format 2; this one knows 1). They were left untouched: upgrade traywidget to use them.")
    (item,) = items()
    assert item.secret == newer
