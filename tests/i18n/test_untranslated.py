"""No text a person reads escapes translation: the real views, alerts and CLI, shown in a pseudo-language
made from the source's msgids (tests/i18n/conftest.py), have no word left that did not go through
traywidget.i18n — apart from the data each test put there itself."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from datetime import timedelta

import pytest

from tests.i18n.conftest import assert_all_marked
from tests.i18n.views import menu_texts, widget_texts
from tests.ui.conftest import NOW, make_snapshot
from traywidget.desktop import autostart
from traywidget.engine.engine import Engine
from traywidget.engine.http_client import fetch, make_client
from traywidget.model import (
    HOLD_DAILY_CAP,
    HOLD_RESERVE,
    REQUESTS_HOUR,
    Account,
    ErrorInfo,
    Hold,
    HttpResult,
    KillResult,
    ProviderError,
    Snapshot,
    State,
)
from traywidget.present.alerts import AlertPolicy, config_alert, kill_failed, kill_summary
from traywidget.present.pace import PaceWatch
from traywidget.providers import get_provider
from traywidget.providers.base import PollContext, RequestSpec
from traywidget.providers.decoding import fallback_message
from traywidget.store.config import Config, ConfigStore
from traywidget.store.history import HistoryStore
from traywidget.store.keyring_check import KeyringState, KeyringStatus
from traywidget.store.secrets import MemorySecretStore
from traywidget.ui.account_editor import AccountEditor, describe_test_result
from traywidget.ui.bridge import InlineBridge
from traywidget.ui.controller import NO_TRAY_MESSAGE
from traywidget.ui.panel import PanelWindow
from traywidget.ui.settings import SettingsDialog
from traywidget.ui.tray import TrayView

pytestmark = pytest.mark.usefixtures("pseudo_language")

# What the tests below put on screen themselves.
LABELS = ["Main", "Work key", "Free models", "Team", "Broke", "Nokey", "Laptop", "Cached", "main"]
PROVIDER_WORDS = ["Premium", "Hourly request limit exceeded", "Invalid API key", "Insufficient credits",
                  "my laptop", "127.0.0.1", "2025-06-03 10:00", "HTTP", "HTML", "KeyError", "ConnectError"]
DATA = LABELS + PROVIDER_WORDS


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def ctx(**kwargs) -> PollContext:
    return PollContext(now=NOW, **kwargs)


def openrouter_snapshot() -> Snapshot:
    """Through the real adapter: the plan, the spend, the free-model estimate and the expiry are its words."""
    body = {"data": {"label": "my laptop", "limit": 10.0, "limit_reset": "monthly", "limit_remaining": 6.6,
                     "usage": 3.4, "usage_daily": 0.12, "usage_weekly": 1.2, "usage_monthly": 3.4,
                     "is_free_tier": False, "expires_at": (NOW + timedelta(days=2)).isoformat()}}
    provider = get_provider("openrouter")
    reading = provider.parse(RequestSpec("key", "key"), HttpResult(200, {}, _json(body)), ctx())
    return Snapshot("work", "openrouter", "Work key", State.OK, plan=reading.plan, meters=reading.meters,
                    notes=reading.notes, fetched_at=NOW)


def _json(data) -> bytes:
    return json.dumps(data).encode()


def provider_errors() -> list[ErrorInfo]:
    """Errors made below the views: a malformed body, an HTML error page, a refused connection."""
    out = []
    provider = get_provider("routing.run")
    try:
        provider.parse(RequestSpec("full", "user/requests"), HttpResult(200, {}, b"[1, 2]"), ctx())
    except ProviderError as exc:
        out.append(exc.info)
    out.append(ErrorInfo(fallback_message(HttpResult(502, {"content-type": "text/html"}, b"<html>bad</html>")), 502))

    async def refused() -> ErrorInfo:
        async with make_client() as client:
            try:
                await fetch(client, "GET", "http://127.0.0.1:9/v1/user/requests", {})
            except ProviderError as exc:
                return exc.info
        raise AssertionError("port 9 answered")

    out.append(asyncio.run(refused()))
    return out


def engine_snapshot_without_key() -> Snapshot:
    """The engine's own words for an account with no key saved."""
    account = Account("nokey", "routing.run", "Nokey", "https://api.routing.run/v1")

    async def poll() -> list[Snapshot]:
        engine = Engine([account], MemorySecretStore())
        try:
            return await engine.poll_all()
        finally:
            await engine.stop()

    [snapshot] = asyncio.run(poll())
    assert snapshot.state is State.NO_KEY
    return snapshot


def every_state() -> list[Snapshot]:
    malformed, html, refused = provider_errors()
    routeway = get_provider("routeway")
    return [
        make_snapshot("main", label="Main", hour=(420, 500), day=(900, 1000)).with_changes(streams=2),
        openrouter_snapshot(),
        make_snapshot("free", label="Free models", provider="routeway", hour=None, plan=None,
                      state=State.NO_KEY).with_changes(notes=routeway.notes(ctx())),
        make_snapshot("team", label="Team", state=State.RATE_LIMITED, hour=(0, 500),
                      error=ErrorInfo("Hourly request limit exceeded", 429, limit_kind="hourly", retry_after_s=40)),
        make_snapshot("broke", label="Broke", provider="openrouter", state=State.PAYMENT_REQUIRED, hour=None,
                      credits=(0, 10), error=ErrorInfo("Insufficient credits", 402)),
        engine_snapshot_without_key(),
        make_snapshot("laptop", label="Laptop", state=State.OFFLINE, error=refused,
                      fetched_at=NOW - timedelta(minutes=3)),
        make_snapshot("cached", label="Cached", stale=True, state=State.ERROR, error=malformed,
                      fetched_at=NOW - timedelta(hours=2)),
        make_snapshot("main2", label="Main", state=State.ERROR, error=html, hour=(5, 500)),
        make_snapshot("main3", label="Main", state=State.AUTH_ERROR, error=ErrorInfo("Invalid API key", 401)),
        make_snapshot("main4", label="Main", state=State.LOW, hour=(30, 500), credits=(0.004, None)),
        make_snapshot("main5", label="Main", state=State.EXHAUSTED, hour=(0, 500), day=(None, None)),
    ]


# ------------------------------------------------------------------------------ the tray
@pytest.mark.slow
def test_tray_menu_and_tooltip(qtbot):
    snapshots = every_state()
    tray = TrayView(clock=lambda: NOW + timedelta(seconds=12))
    tray.set_accounts([s.account_id for s in snapshots])
    tray.set_snapshots(snapshots)
    tray.set_gateway_running(True)  # each account's submenu then offers its gateway address
    texts = list(menu_texts(tray.contextMenu()))
    texts.append(("tooltip", tray.primary_icon().toolTip()))
    tray.set_paused(True)
    texts.append(("tooltip paused", tray.primary_icon().toolTip()))
    assert len(texts) > 60
    assert_all_marked(texts, DATA)


@pytest.mark.slow
def test_tray_without_accounts_and_waiting(qtbot):
    tray = TrayView()
    texts = list(menu_texts(tray.contextMenu())) + [("tooltip", tray.primary_icon().toolTip())]
    tray.set_accounts(["main"])
    texts.append(("tooltip waiting", tray.primary_icon().toolTip()))
    tray.set_options(icon_per_account=True)
    tray.set_snapshots([make_snapshot("main")])
    texts.append(("tooltip per account", tray.primary_icon().toolTip()))
    assert_all_marked(texts, DATA)


# ----------------------------------------------------------------------------- the panel
@pytest.mark.slow
def test_panel_with_every_state_a_pace_and_a_notice(qtbot, tmp_path):
    snapshots = every_state()
    with HistoryStore(tmp_path) as history:
        # 100 requests every 5 minutes: the pace forecast shows on Main's hour
        history.add_samples([("main", REQUESTS_HOUR, (NOW - timedelta(minutes=5 * i)).timestamp(), 420 + 100 * i,
                              500) for i in range(1, 5)])
        panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=12), wall_time=lambda: NOW.timestamp(),
                            history_source=history.series)
        qtbot.addWidget(panel)
        panel.set_accounts([s.account_id for s in snapshots])
        panel.set_snapshots(snapshots)
        corrupt = tmp_path / "config"
        corrupt.mkdir()
        (corrupt / "config.json").write_text("{not json")
        for warning in ConfigStore(corrupt).load().warnings:
            panel.add_notice(warning)
        [aside] = [path.name for path in corrupt.iterdir()]
        try:
            json.loads("{not json")
        except ValueError as exc:
            parse_error = str(exc)  # Python's own words about the file, quoted as they are
        panel.set_status(tr_no_tray())
        panel.show()
        qtbot.waitExposed(panel)
        assert panel.cards["main"].rows[0].pace.isVisible()
        texts = list(widget_texts(panel))
    assert len(texts) > 80
    assert_all_marked(texts, DATA + [str(corrupt / "config.json"), aside, parse_error])


def tr_no_tray() -> str:
    from traywidget.i18n import tr

    return tr(NO_TRAY_MESSAGE)


@pytest.mark.slow
def test_first_run_welcome(qtbot):
    panel = PanelWindow()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.welcome.isVisible()
    assert_all_marked(widget_texts(panel))


# ---------------------------------------------------------------------- settings and account
def keyring_locked() -> KeyringStatus:
    return KeyringStatus(KeyringState.LOCKED, "SecretService", "locked")


@pytest.mark.slow
def test_settings_dialog(qtbot, tmp_path):
    store = ConfigStore(tmp_path / "config")
    account = Account("main", "routing.run", "Main", "https://api.routing.run/v1")
    store.save(Config(accounts=(account,)))
    dialog = SettingsDialog(store, MemorySecretStore(), ask=InlineBridge().ask, keyring_check=keyring_locked,
                            autostart=lambda on: None, autostart_enabled=lambda: False,
                            pin_choices=[("main/requests_hour", "Main")])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.gateway_enabled.setChecked(True)
    dialog.critical_pct.setValue(50)
    dialog.save()  # refused: the second level must be below the first
    assert dialog.error.isVisible()
    texts = list(widget_texts(dialog))
    dialog.remove_account()
    texts += widget_texts(dialog.remove_box)
    dialog.remove_box.close()
    assert_all_marked(texts, DATA)


@pytest.mark.slow
def test_account_editor_adding_and_editing(qtbot):
    editor = AccountEditor(existing=None, taken_ids={"main"}, commit=lambda *a: None, ask=InlineBridge().ask,
                           tester=None, keyring_problem=None)
    qtbot.addWidget(editor)
    editor.show()
    editor.provider.setCurrentIndex(editor.provider.findData("routeway"))
    texts = list(widget_texts(editor))
    editor.base_url.setText("https://openrouter.ai/v2")  # another provider's host: advice and a fix
    texts += widget_texts(editor)
    editor.base_url.setText("sk-or-v1-" + "a1" * 20)  # a key pasted as a URL: refused, never shown
    texts += widget_texts(editor)
    editor.account_id.setText("main")
    editor.label.setText("Main")
    editor.base_url.setText("ftp://example.org")
    editor.try_accept()
    texts += widget_texts(editor)
    editor.base_url.setText("https://api.routeway.ai/v1")
    editor.account_id.setText("fresh")
    editor.try_accept()  # no key
    texts += widget_texts(editor)
    editor.reject()  # unsaved edits: asks first
    texts += widget_texts(editor.discard_box)
    editor.discard_box.close()
    assert_all_marked(texts, DATA + ["ftp://example.org", "example.org", "openrouter.ai", "api.routeway.ai", "fresh"])

    existing = Account("main", "openrouter", "Main", "https://openrouter.ai/api/v1")
    edit = AccountEditor(existing=existing, taken_ids=set(), commit=lambda *a: None, has_saved_key=True,
                         has_saved_management_key=True)
    qtbot.addWidget(edit)
    edit.show()
    assert_all_marked(widget_texts(edit), DATA + ["main"])


@pytest.mark.slow
def test_account_test_results():
    account = Account("main", "routing.run", "Main", "https://api.routing.run/v1")
    texts = []
    for snapshot in every_state():
        texts.append(("result", describe_test_result(snapshot, account)[1]))
    from traywidget.desktop.hostcheck import Lookup

    for lookup in Lookup:
        texts.append((f"result {lookup}", describe_test_result(every_state()[6], account, lookup)[1]))
    not_found = make_snapshot(state=State.ERROR, error=ErrorInfo("Not Found", 404))
    texts.append(("404", describe_test_result(not_found, account)[1]))
    assert_all_marked(texts, DATA + ["Not Found", "api.routing.run", "api.routing.sh", "ai.routing.sh"])


# --------------------------------------------------------------------------- notifications
@pytest.mark.slow
def test_alert_titles_and_bodies(tmp_path):
    policy = AlertPolicy()
    alerts = []
    start = NOW
    steps = [
        make_snapshot("main", label="Main", hour=(400, 500)),
        make_snapshot("main", label="Main", hour=(90, 500)),  # below 20 %
        make_snapshot("main", label="Main", hour=(20, 500)),  # below 5 %
        make_snapshot("main", label="Main", hour=(0, 500), state=State.EXHAUSTED),
        make_snapshot("main", label="Main", hour=(400, 500)),  # restored after a while
        make_snapshot("team", label="Team", state=State.RATE_LIMITED,
                      error=ErrorInfo("Hourly request limit exceeded", 429, retry_after_s=40)),
        make_snapshot("team", label="Team", state=State.RATE_LIMITED, hour=None,
                      error=ErrorInfo("", 429, retry_after_s=40, limit_kind="concurrent_streams")),
        make_snapshot("broke", label="Broke", hour=None, credits=(0.5, None)),
        make_snapshot("broke", label="Broke", state=State.PAYMENT_REQUIRED, error=ErrorInfo("", 402)),
        make_snapshot("main3", label="Main", state=State.AUTH_ERROR, error=ErrorInfo("", 401)),
        make_snapshot("money", label="Laptop", hour=None, credits=(0, None)),
    ]
    for index, snapshot in enumerate(steps):
        alerts += policy.update(snapshot, start + timedelta(minutes=5 * index))
    team_free = make_snapshot("team", label="Team", hour=(400, 500))
    alerts += policy.update(team_free, start + timedelta(hours=2))
    results = [KillResult("main", True, 3), KillResult("work", False),
               KillResult("team", True, error=ErrorInfo("Invalid API key", 401))]
    labels = {"main": "Main", "work": "Work key", "team": "Team"}
    alerts += [kill_summary(results, labels), kill_summary([KillResult("main", True, 0)], labels),
               kill_summary([], labels), kill_summary(results[2:], labels), kill_failed("Invalid API key"),
               config_alert("Invalid API key")]
    # The words after a kill through the gateway, the kill APIs and direct streams; a guard rail's hold.
    alerts += [kill_summary([KillResult("main", True, 3), KillResult("work", True, 1)], labels, {"main": 1, "work": 1},
                            {"main": True, "work": False}),
               kill_summary([KillResult("main", True, 2)], labels, {}, {"main": True})]
    alerts += policy.update(make_snapshot("main", label="Main").with_changes(
        hold=Hold(HOLD_RESERVE, NOW, NOW + timedelta(minutes=30))), NOW)
    alerts += policy.update(make_snapshot("team", label="Team").with_changes(hold=Hold(HOLD_DAILY_CAP, NOW, None)), NOW)
    with HistoryStore(tmp_path) as history:
        history.add_samples([("main", REQUESTS_HOUR, (NOW - timedelta(minutes=5 * i)).timestamp(), 100 + 100 * i,
                              1000) for i in range(1, 5)])
        pace = PaceWatch(history.series, enabled=True)
        alerts += pace.update(make_snapshot("main", label="Main", hour=(100, 1000)), NOW)
    kinds = {alert.kind for alert in alerts}
    assert kinds >= {"threshold", "exhausted", "restored", "rate_limited", "payment_required", "auth_error",
                     "kill_result", "config_error", "pace", "hold"}, kinds
    texts = [(f"{a.kind}.title", a.title) for a in alerts] + [(f"{a.kind}.body", a.body) for a in alerts]
    assert_all_marked(texts, DATA)


# ------------------------------------------------------------------------------- the CLI
def run_cli(*argv: str) -> tuple[int, str, str]:
    from traywidget.__main__ import build_parser
    from traywidget.cli import run_command

    out, err = io.StringIO(), io.StringIO()
    code = run_command(build_parser().parse_args(list(argv)), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_cli_human_output(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    texts = []
    for argv in (("accounts", "list"),
                 ("accounts", "add", "routing.run", "--id", "main", "--label", "Main"),
                 ("accounts", "add", "openrouter", "--id", "work", "--label", "Work key",
                  "--base-url", "https://openrouter.ai/v2"),
                 ("accounts", "list"),
                 ("accounts", "add", "routing.run", "--id", "main"),
                 ("accounts", "remove", "nobody"),
                 ("keys", "set", "nobody"),
                 ("status", "--demo"),
                 ("kill", "--demo"),
                 ("doctor",),
                 ("accounts", "remove", "work")):
        code, out, err = run_cli(*argv)
        texts += [(f"{' '.join(argv)} [{code}] stdout", out), (f"{' '.join(argv)} [{code}] stderr", err)]
    # Account and provider ids, hosts and paths are data as the user typed them (or as a command needs them);
    # doctor's marks, the keyring backend's name and the directories (with their variables) are its data.
    doctor_data = ["[ok]", "[!!]", "[XX]", "[--]", "keyring.backends.fail.Keyring", "TRAYWIDGET_CONFIG_DIR",
                   "TRAYWIDGET_CACHE_DIR", os.environ["TRAYWIDGET_CONFIG_DIR"], os.environ["TRAYWIDGET_CACHE_DIR"],
                   str(autostart.login_item().location)]
    assert_all_marked(texts, DATA + DEMO_DATA + doctor_data + [
        "main", "work", "nobody", "openrouter.ai", "api.routing.run", "/api/v1", "/v1", "Main", "Work key",
        "openrouter"])


# The demo's own accounts (traywidget/simulator/demo_world.py) and the plans its simulated providers report.
DEMO_DATA = ["OpenAI-compatible · chat and messages", "demo-compatible",
             "routing.run · runs low", "demo-routing-run-low", "demo-routing-run-lite", "demo-routing-run",
             "demo-openrouter", "demo-routeway", "Premium", "Weekly", "Lite", "demo", "demo-litellm", "demo-deepseek",
             "demo-moonshot", "LiteLLM · team proxy", "team proxy", "DeepSeek", "Moonshot (Kimi)", "LiteLLM"]
