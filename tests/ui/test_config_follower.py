"""Edits of config.json made elsewhere reach the running app (a real QFileSystemWatcher on a real
directory): accounts added or removed with the command line start or stop at once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.ui.conftest import make_controller
from traywidget.model import Account
from traywidget.store.config import Config, ConfigStore
from traywidget.ui.config_follower import ConfigFollower

MAIN = Account("main", "routing.run", "Main", "https://api.routing.run/v1")
SIDE = Account("side", "openrouter", "Side", "https://openrouter.ai/api/v1")


@pytest.mark.slow
def test_accounts_changed_elsewhere_reach_the_menu_and_the_engine(qtbot, tmp_path, engine, bridge):
    store = ConfigStore(tmp_path / "config")
    store.save(Config(accounts=(MAIN, SIDE)))
    controller = make_controller(engine, config_store=store, bridge=bridge)
    reports: list[str] = []
    ConfigFollower(store, lambda: controller.config, controller.apply_config, reports.append, parent=controller)
    assert list(controller.panel.cards) == ["main", "side"]
    # `traywidget accounts remove side`, from another process: a new file replaces the old one.
    ConfigStore(tmp_path / "config").save(Config(accounts=(MAIN,)))
    qtbot.waitUntil(lambda: list(controller.panel.cards) == ["main"], timeout=5000)
    assert [a.id for a in controller.config.accounts] == ["main"]
    assert [a.id for a in engine.accounts] == ["main"]
    assert reports == []


@pytest.mark.slow
def test_our_own_save_is_not_applied_twice_and_a_broken_file_is_told(qtbot, tmp_path):
    store = ConfigStore(tmp_path / "config")
    current = Config(accounts=(MAIN,))
    store.save(current)
    applied: list[Config] = []
    reports: list[str] = []
    follower = ConfigFollower(store, lambda: current, applied.append, reports.append)
    store.save(current)  # what Settings does after applying the same config itself
    changed = replace(current, accounts=(MAIN, SIDE))
    store.save(changed)
    qtbot.waitUntil(lambda: len(applied) == 1, timeout=5000)
    assert [a.id for a in applied[0].accounts] == ["main", "side"]
    store.path.write_text("{ not json")
    qtbot.waitUntil(lambda: len(reports) == 1, timeout=5000)
    assert "config.json" in reports[0] and "kept as config.json.corrupt-" in reports[0]
    assert len(applied) == 1
    del follower


def test_keys_saved_elsewhere_make_the_app_read_them_again_at_once(qtbot, tmp_path):
    """`traywidget keys set|delete` in a terminal: the key store's stamp in the config directory changes,
    and the running app is told at once (it polls again with the keys as they are now)."""
    import keyring

    from tests.store.test_secrets import DictKeyring
    from traywidget.store.secrets import KeyringSecretStore

    store = ConfigStore(tmp_path / "config")
    store.save(Config(accounts=(MAIN,)))
    told: list[str] = []
    applied: list[Config] = []
    follower = ConfigFollower(store, lambda: Config(accounts=(MAIN,)), applied.append, told.append,
                              keys_changed=lambda: told.append("keys"))
    previous = keyring.get_keyring()
    keyring.set_keyring(DictKeyring())
    try:  # another process's key store, sharing this config directory's lock
        KeyringSecretStore(lock_path=store.lock_path).set("main", "rk_" + "ab" * 32)
    finally:
        keyring.set_keyring(previous)
    qtbot.waitUntil(lambda: told == ["keys"], timeout=5000)
    assert applied == []
    del follower
