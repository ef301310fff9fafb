"""The local gateway in the views: turned on and off by the settings, each account's address copied from its
menu, the token copied (and renewed) from Settings — with a real gateway on the engine's loop thread."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from PySide6.QtGui import QGuiApplication

from tests.ui.conftest import make_controller, make_snapshot
from traywidget.engine.engine import Engine
from traywidget.gateway.service import GatewayService
from traywidget.model import Account
from traywidget.store.config import Config, ConfigStore, Settings
from traywidget.store.secrets import GATEWAY_TOKEN, MemorySecretStore

ACCOUNT = Account("main", "routing.run", "Main", "https://api.routing.run/v1")


def build(qtbot, tmp_path, bridge, enabled: bool):
    secrets = MemorySecretStore()
    engine = Engine([ACCOUNT], secrets)
    gateway = GatewayService(engine, secrets)
    config = Config(accounts=(ACCOUNT,), settings=Settings(gateway_enabled=enabled, gateway_port=0))
    store = ConfigStore(tmp_path)
    store.save(config)
    controller = make_controller(engine, config=config, config_store=store, secrets=secrets, bridge=bridge,
                                 gateway=gateway)
    controller.seed([make_snapshot("main", label="Main", hour=(420, 500))])  # an account line in the menu
    qtbot.waitUntil(lambda: "main" in controller.tray.snapshots, timeout=5000)
    return controller, gateway, secrets, engine


def applied(qtbot, controller, running: bool):
    """Apply the gateway settings and wait for the answer from the engine's thread."""
    with qtbot.waitSignal(controller.gateway_applied, timeout=10000) as blocker:
        controller.apply_gateway()
    assert blocker.args[0].running is running
    return blocker.args[0]


def stop(bridge, *coroutines):
    for coroutine in coroutines:
        bridge.loop_thread.submit(coroutine).result(10)


def copy_entry(controller):
    submenu = next(a for a in controller.tray.contextMenu().actions() if a.menu()).menu()
    return next((a for a in submenu.actions() if a.data() == ("gateway", "main")), None)


def test_on_the_menu_copies_each_accounts_address_and_off_takes_it_away(qtbot, tmp_path, engine_bridge):
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
    try:
        applied(qtbot, controller, running=True)
        assert gateway.state.running and gateway.state.port
        entry = copy_entry(controller)
        assert entry is not None and entry.text() == "Copy base URL for your tools"
        entry.trigger()
        url = f"http://127.0.0.1:{gateway.state.port}/main"
        assert QGuiApplication.clipboard().text() == url
        # The address answers: a request without the token is refused there, not forwarded.
        assert httpx.get(url + "/models", timeout=5).status_code == 401
        with qtbot.waitSignal(controller.gateway_applied, timeout=10000):
            controller.apply_config(replace(controller.config, settings=replace(controller.config.settings,
                                                                                  gateway_enabled=False)))
        assert not gateway.state.running
        assert copy_entry(controller) is None
    finally:
        stop(engine_bridge, gateway.stop(), engine.stop())


def test_settings_say_where_the_gateway_listens_and_keep_any_free_port(qtbot, tmp_path, engine_bridge):
    # The demo's setting, port 0: any free port. Settings show the one in use and save 0 unless it is changed.
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
    try:
        applied(qtbot, controller, running=True)
        port = gateway.state.port
        assert gateway.state.running and port
        dialog = controller.open_settings()
        assert dialog.gateway_port.value() == port
        assert dialog.gateway_note.text() == (f"Running: a tool's base URL is http://127.0.0.1:{port}/ACCOUNT_ID; "
                                              "each account's menu copies its own.")
        assert dialog.build_config().settings.gateway_port == 0
        dialog.gateway_port.setValue(9123)
        assert dialog.build_config().settings.gateway_port == 9123
        dialog.close()
        with qtbot.waitSignal(controller.gateway_applied, timeout=10000):
            controller.apply_config(replace(controller.config, settings=replace(controller.config.settings,
                                                                                  gateway_enabled=False)))
        dialog = controller.open_settings()  # not running: the generic address, and the default port
        assert dialog.gateway_port.value() == 8787
        assert dialog.gateway_note.text().startswith("A tool's base URL is http://127.0.0.1:PORT/ACCOUNT_ID")
        dialog.close()
    finally:
        stop(engine_bridge, gateway.stop(), engine.stop())


def test_settings_copy_the_token_and_a_new_one_replaces_it(qtbot, tmp_path, engine_bridge):
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=False)
    try:
        dialog = controller.open_settings()
        assert dialog.copy_token.isEnabled()
        QGuiApplication.clipboard().clear()
        dialog.copy_token.click()
        qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() != "", timeout=10000)
        first = QGuiApplication.clipboard().text()
        assert first == secrets.get_secret(GATEWAY_TOKEN) and first.startswith("twg-")
        assert "clipboard" in dialog.gateway_note.text()
        dialog.new_token.click()  # asks first
        assert dialog.token_box is not None and dialog.token_box.isVisible()
        make = next(b for b in dialog.token_box.buttons() if b.text() == "Make a new token")
        make.click()
        qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() != first, timeout=10000)
        second = QGuiApplication.clipboard().text()
        assert second != first and second == secrets.get_secret(GATEWAY_TOKEN)
        dialog.gateway_enabled.setChecked(True)
        assert dialog.build_config().settings.gateway_enabled is True
        dialog.close()
    finally:
        stop(engine_bridge, engine.stop())


@pytest.mark.slow
def test_a_port_in_use_is_told_at_the_top_of_the_panel_and_as_a_notification(qtbot, tmp_path, engine_bridge):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
    shown = []
    controller.notifier.shown.connect(shown.append)
    try:
        controller.config = replace(controller.config, settings=replace(controller.config.settings,
                                                                          gateway_port=taken.getsockname()[1]))
        applied(qtbot, controller, running=False)
        assert not gateway.state.running and gateway.state.problem
        assert [a.title for a in shown] == ["Traywidget: the local gateway is not running"]
        assert "did not start" in controller.panel.notice_text.text()
        assert copy_entry(controller) is None
    finally:
        taken.close()
        stop(engine_bridge, engine.stop())


def test_a_taken_ipv6_half_is_told_in_the_panel_and_once_as_a_notification(qtbot, tmp_path, engine_bridge):
    import socket

    from tests.desktop_session import free_port

    port = free_port()
    with socket.socket(socket.AF_INET6) as other:
        other.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        other.bind(("::1", port))
        other.listen()
        controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
        shown = []
        controller.notifier.shown.connect(shown.append)
        try:
            controller.config = replace(controller.config, settings=replace(controller.config.settings,
                                                                              gateway_port=port))
            state = applied(qtbot, controller, running=True)
            told = (f"The local gateway runs, but port {port} on the IPv6 loopback ([::1]) is taken by another "
                    "program: a tool that resolves localhost to ::1 would reach it, not the gateway. Give tools "
                    f"http://127.0.0.1:{port}/ (as `traywidget gateway env` does), or choose another port.")
            assert (state.port, len(state.notices)) == (port, 1)
            assert [(a.title, a.body) for a in shown] == [
                ("Traywidget: the local gateway listens on 127.0.0.1 only", told)]
            assert controller.panel.notice_text.text() == told
            applied(qtbot, controller, running=True)  # applied again (a Settings save): already said
            assert len(shown) == 1
        finally:
            stop(engine_bridge, gateway.stop(), engine.stop())


def test_the_trays_gateway_holds_a_routing_run_account_at_its_reserve_from_the_polls(qtbot, tmp_path, engine_bridge,
                                                                                      sim):
    from traywidget.model import HOLD_RESERVE, Rails

    key = sim.sim.add_routing_key("Free")  # 50 requests an hour
    assert sim.sim.spend(key, 47) == 47  # the user's own tools, directly: 3 left
    account = Account("rr", "routing.run", "RR", sim.url("routing.run"), rails=Rails(reserve=2, reserve_window="hour"))
    secrets = MemorySecretStore()
    secrets.set("rr", key)
    engine = Engine([account], secrets)
    gateway = GatewayService(engine, secrets)
    config = Config(accounts=(account,), settings=Settings(gateway_enabled=True, gateway_port=0))
    store = ConfigStore(tmp_path)
    store.save(config)
    controller = make_controller(engine, config=config, config_store=store, secrets=secrets, bridge=engine_bridge,
                                 gateway=gateway)
    try:
        applied(qtbot, controller, running=True)
        engine_bridge.ask(engine.start, name="engine-start")
        qtbot.waitUntil(lambda: "rr" in controller.tray.snapshots and bool(controller.tray.snapshots["rr"].meters),
                        timeout=10000)  # its first poll, which the gateway heard too
        url = f"http://127.0.0.1:{gateway.state.port}/rr/chat/completions"
        auth = {"Authorization": f"Bearer {secrets.get_secret(GATEWAY_TOKEN)}"}
        ask = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
        assert httpx.post(url, headers=auth, json=ask, timeout=10).status_code == 200  # 2 left: not fewer
        assert httpx.post(url, headers=auth, json=ask, timeout=10).status_code == 200  # 1 left: crosses, answered
        held = httpx.post(url, headers=auth, json=ask, timeout=10)
        assert held.status_code == 423 and "held by traywidget (its reserve" in held.text
        qtbot.waitUntil(lambda: controller.tray.snapshots["rr"].hold is not None, timeout=5000)  # shown held
        assert controller.tray.snapshots["rr"].hold.reason == HOLD_RESERVE
        # "Resume requests": the very next request goes through; the window is still below the reserve, so
        # its answer holds the account again.
        controller.resume_requests()
        qtbot.waitUntil(lambda: controller.tray.snapshots["rr"].hold is None, timeout=5000)
        assert httpx.post(url, headers=auth, json=ask, timeout=10).status_code == 200
        assert httpx.post(url, headers=auth, json=ask, timeout=10).status_code == 423
    finally:
        stop(engine_bridge, gateway.stop(), engine.stop())


def test_the_metrics_switch_in_settings_serves_the_engines_figures_at_once(qtbot, tmp_path, engine_bridge):
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
    try:
        applied(qtbot, controller, running=True)
        url = f"http://127.0.0.1:{gateway.state.port}/metrics"
        auth = {"Authorization": f"Bearer {secrets.get_secret(GATEWAY_TOKEN)}"}
        assert httpx.get(url, headers=auth, timeout=5).status_code == 404  # off: an account's address
        dialog = controller.open_settings()
        dialog.metrics_enabled.setChecked(True)
        assert dialog.save()
        qtbot.waitUntil(lambda: httpx.get(url, headers=auth, timeout=5).status_code == 200, timeout=5000)
        text = httpx.get(url, headers=auth, timeout=5).text
        labels = 'account="main",provider="routing.run",unit="requests",window="requests_hour"'
        # The seeded reading (420 of 500) is from before its window's reset: the status document, and so
        # the metric, says the window refilled — as `status --json` does.
        assert f"traywidget_meter_remaining{{{labels}}} 500.0" in text.splitlines()
        assert f"traywidget_meter_limit{{{labels}}} 500.0" in text.splitlines()
        assert httpx.get(url, timeout=5).status_code == 401
        with qtbot.waitSignal(controller.gateway_applied, timeout=10000):
            controller.apply_config(replace(controller.config, settings=replace(controller.config.settings,
                                                                                  metrics_enabled=False)))
        qtbot.waitUntil(lambda: httpx.get(url, headers=auth, timeout=5).status_code == 404, timeout=5000)
    finally:
        stop(engine_bridge, gateway.stop(), engine.stop())


def test_kill_all_streams_holds_as_settings_say_and_resume_requests_ends_it(qtbot, tmp_path, engine_bridge):
    controller, gateway, secrets, engine = build(qtbot, tmp_path, engine_bridge, enabled=True)
    try:
        controller.config = replace(controller.config, settings=replace(controller.config.settings,
                                                                        kill_hold="resume"))
        applied(qtbot, controller, running=True)
        url = f"http://127.0.0.1:{gateway.state.port}/main/chat/completions"
        token = secrets.get_secret(GATEWAY_TOKEN)
        shown = []
        controller.notifier.shown.connect(shown.append)
        next(a for a in controller.tray.contextMenu().actions() if a.text() == "Kill all streams").trigger()
        qtbot.waitUntil(lambda: controller.tray.snapshots["main"].hold is not None, timeout=5000)
        assert controller.tray.snapshots["main"].hold.until is None  # until resumed
        refused = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json={}, timeout=5)
        # routing.run's own error shape: plain text, the code in a header.
        assert (refused.status_code, refused.headers["X-Error-Code"]) == (423, "HELD_BY_TRAYWIDGET")
        assert "held by traywidget" in refused.text
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
        assert [a.title for a in shown] == ["No streams stopped"]  # routing.run's kill API has no key here
        assert shown[0].body.endswith("New requests through the gateway are held until you resume. "
                                      "\"Resume requests\" in the tray menu ends it.")  # what the click also did
        next(a for a in controller.tray.contextMenu().actions() if a.text() == "Resume requests").trigger()
        qtbot.waitUntil(lambda: controller.tray.snapshots["main"].hold is None, timeout=5000)
        # Through again: the provider (unreachable here) is asked, not the hold.
        assert httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json={}, timeout=10).status_code != 423
    finally:
        stop(engine_bridge, gateway.stop(), engine.stop())
