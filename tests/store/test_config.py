"""Config file: validation, atomic saves, corrupt files kept aside, nothing lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import examples
from traywidget.model import Account, ConfigError, InvalidValue
from traywidget.store.account_fields import validate_account_id, validate_base_url
from traywidget.store.config import Config, ConfigStore, ConfigWatch, Settings


def account(i: int = 1, provider: str = "routing.run") -> Account:
    return Account(id=f"acc{i}", provider=provider, label=f"Account {i}", base_url="https://api.routing.run/v1")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.routing.run/v1", "https://api.routing.run/v1"),
        ("https://api.routing.run/v1/", "https://api.routing.run/v1"),
        ("  https://openrouter.ai/api/v1  ", "https://openrouter.ai/api/v1"),
        ("http://127.0.0.1:8765/routing.run/v1", "http://127.0.0.1:8765/routing.run/v1"),
        ("http://localhost:9/v1", "http://localhost:9/v1"),
        ("http://[::1]:9/v1", "http://[::1]:9/v1"),
    ],
)
def test_base_url_accepted(url, expected):
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://api.routing.run/v1", "Plain http is refused"),
        ("http://10.0.0.5/v1", "Plain http is refused"),
        ("ftp://api.routing.run/v1", "Not a web address"),
        ("api.routing.run/v1", "Not a web address"),
        ("", "empty"),
        ("https://user:pw@api.routing.run/v1", "user name or password"),
        ("https://api.routing.run/v1?key=x", "'?' or '#'"),
    ],
)
def test_base_url_refused_with_reason(url, reason):
    with pytest.raises(InvalidValue, match=reason.replace("?", r"\?")):
        validate_base_url(url)


@pytest.mark.parametrize("bad", ["", "-x", "a b", "x" * 65, "é", "a/b"])
def test_account_id_rules(bad):
    with pytest.raises(InvalidValue):
        validate_account_id(bad)


def test_round_trip_and_file_mode(tmp_path):
    store = ConfigStore(tmp_path)
    config = Config(accounts=(account(1), account(2, "openrouter")), settings=Settings(icon_per_account=True))
    store.save(config)
    loaded = store.load()
    assert loaded.accounts == config.accounts
    assert loaded.settings.icon_per_account is True
    assert loaded.warnings == ()
    assert (store.path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("stored,loaded", [(0, 0), (9000, 9000), (65535, 65535), (70000, 8787), (-1, 8787),
                                           ("9000", 8787), (True, 8787), (None, 8787)])
def test_gateway_port_read_back(tmp_path, stored, loaded):
    # 0 is "any free port" (the demo's): kept, or Settings would move the demo's gateway to 8787.
    store = ConfigStore(tmp_path)
    store.save(Config())
    data = json.loads(store.path.read_text())
    data["settings"]["gateway_port"] = stored
    store.path.write_text(json.dumps(data))
    assert store.load().settings.gateway_port == loaded


def test_a_config_of_a_newer_version_is_read_but_never_overwritten(tmp_path):
    store = ConfigStore(tmp_path)
    store.save(Config(accounts=(account(1),)))
    data = json.loads(store.path.read_text())
    data["version"] = 99
    data["settings"]["future_setting"] = True
    store.path.write_text(json.dumps(data))
    before = store.path.read_bytes()
    loaded = store.load()
    assert [a.id for a in loaded.accounts] == [account(1).id]
    with pytest.raises(ConfigError) as raised:
        store.save(loaded.with_account(account(2)))
    assert str(raised.value) == (f"{store.path} was written by a newer traywidget (config version 99; this one "
                                 "knows 1): it was not changed. Make this change with the newer version.")
    assert store.path.read_bytes() == before


def test_a_skipped_entry_is_told_in_one_sentence(tmp_path):
    store = ConfigStore(tmp_path)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps({"version": 1, "accounts": [
        {"id": "-bad", "provider": "routing.run", "label": "x", "base_url": "https://api.routing.run/v1"}]}))
    (warning,) = store.load().warnings
    assert warning == ("Skipped an account entry in config.json: An account id is 1-64 letters, digits, '.', '_' "
                       "or '-', starting with a letter or digit. It is kept in the file.")


def test_config_watch_tells_an_edit_once_and_keeps_accounts_through_an_unreadable_one(tmp_path):
    store = ConfigStore(tmp_path)
    store.save(Config(accounts=(account(1),)))
    watch = ConfigWatch(store)
    assert watch.check() is None  # as it was when the watch began
    ConfigStore(tmp_path).save(Config(accounts=(account(1), account(2))))  # another process
    edit = watch.check()
    assert edit is not None and [a.id for a in edit.config.accounts] == ["acc1", "acc2"] and edit.warnings == ()
    assert watch.check() is None  # told once
    store.path.write_text("{ not json")
    edit = watch.check()
    assert edit is not None and edit.config is None  # nothing to run with: keep what runs
    (warning,) = edit.warnings
    assert warning.startswith(f"The config file {store.path} could not be read (") and "kept as config.json.corrupt-" \
        in warning
    store.path.unlink(missing_ok=True)
    assert watch.check() is None  # the corrupt file was moved aside, and nothing has come since


def test_missing_file_is_empty_config(tmp_path):
    assert ConfigStore(tmp_path / "nowhere").load() == Config()


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"accounts": 7}', b""])
def test_corrupt_file_is_kept_aside_and_reported(tmp_path, content):
    store = ConfigStore(tmp_path)
    store.path.write_bytes(content)
    config = store.load()
    assert config.accounts == ()
    assert len(config.warnings) == 1 and "could not be read" in config.warnings[0]
    asides = list(tmp_path.glob("config.json.corrupt-*"))
    assert len(asides) == 1 and asides[0].read_bytes() == content
    assert asides[0].name in config.warnings[0]
    # A later save writes a new file and never touches the kept copy.
    store.save(config.with_account(account(1)))
    assert asides[0].read_bytes() == content


def test_unknown_entries_survive_a_save(tmp_path):
    store = ConfigStore(tmp_path)
    weird = {"id": "future", "provider": "someday-router", "base_url": "https://x.example/v1"}
    store.path.write_text(json.dumps({"version": 1, "accounts": [account(1).to_json(), weird]}))
    config = store.load()
    assert [a.id for a in config.accounts] == ["acc1"]
    assert any("someday-router" in w for w in config.warnings)
    store.save(config.with_account(account(2)))
    saved = json.loads(store.path.read_text())
    assert weird in saved["accounts"]
    assert {a["id"] for a in saved["accounts"]} == {"acc1", "acc2", "future"}


def test_with_account_replaces_same_id():
    config = Config(accounts=(account(1),))
    renamed = Account(id="acc1", provider="routing.run", label="Renamed", base_url="https://api.routing.sh/v1")
    assert config.with_account(renamed).accounts == (renamed,)
    assert config.without_account("acc1").accounts == ()


@pytest.mark.slow
@settings(max_examples=examples(0.6))
@given(
    data=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
        max_leaves=25,
    )
)
def test_loader_never_raises_on_any_json(tmp_path, data):
    store = ConfigStore(tmp_path / "fuzz")
    store.path.parent.mkdir(exist_ok=True)
    store.path.write_text(json.dumps(data))
    config = store.load()  # must not raise
    for acc in config.accounts:
        validate_account_id(acc.id)
        validate_base_url(acc.base_url)
    store.save(config)
    reloaded = store.load()
    assert reloaded.accounts == config.accounts


SAVER = r"""
import sys
from traywidget.store.config import Config, ConfigStore
from traywidget.model import Account
store = ConfigStore(__import__("pathlib").Path(sys.argv[1]))
accounts = tuple(Account(id=f"acc{i}", provider="routing.run", label="L" * (i * 37 % 500),
                         base_url="https://api.routing.run/v1") for i in range(40))
n = 0
print("ready", flush=True)
while True:
    n += 1
    store.save(Config(accounts=accounts[: 20 + n % 21]))
"""


@pytest.mark.slow
def test_sigkill_during_saves_never_corrupts(tmp_path):
    """Kill a process that saves in a loop at random moments, many times: the
    file always parses and always has every account of some complete save."""
    store = ConfigStore(tmp_path)
    rng = random.Random(1234)
    crashes = 0
    for _ in range(100):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        crashes += 1
        if store.path.exists():
            config = store.load()
            assert config.warnings == ()
            assert 20 <= len(config.accounts) <= 40
            assert [a.id for a in config.accounts] == [f"acc{i}" for i in range(len(config.accounts))]
    store.load()
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
    print(f"\ndata-safety: {crashes} crashes simulated during config saves, 0 corrupt files")


def test_an_accounts_user_agent_round_trips_and_bad_ones_are_refused(tmp_path):
    from dataclasses import replace

    store = ConfigStore(tmp_path)
    agent = "Mozilla/5.0 (X11; Linux x86_64) traywidget"
    store.save(Config(accounts=(replace(account(1, "routeway"), user_agent=agent), account(2))))
    loaded = store.load()
    assert [a.user_agent for a in loaded.accounts] == [agent, None]
    assert "user_agent" not in json.loads(store.path.read_text())["accounts"][1]  # traywidget's own: not written
    raw = json.loads(store.path.read_text())
    raw["accounts"][0]["user_agent"] = "bad\r\nX-Injected: 1"
    store.path.write_text(json.dumps(raw))
    broken = store.load()
    assert [a.id for a in broken.accounts] == ["acc2"]
    assert broken.warnings == ("Skipped an account entry in config.json: A User-Agent is one line of 1-256 "
                               "printable ASCII characters. It is kept in the file.",)
