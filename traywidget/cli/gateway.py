"""`traywidget gateway`: the local gateway without a tray, its token, and the
shell lines a tool needs to use it.

    traywidget gateway [--port N] [--json]   run the engine and the gateway; print what `watch` prints
    traywidget gateway token [--rotate]      print the token (made on first use)
    traywidget gateway env ACCOUNT_ID        export OPENAI_BASE_URL=... / OPENAI_API_KEY=...
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from traywidget.cli.polling import (
    EngineInputs,
    SnapshotPrinter,
    notice_reader_exit,
    watch_printer,
)
from traywidget.engine.status import engine_status_document
from traywidget.gateway import addresses
from traywidget.gateway.addresses import gateway_port, gateway_ports
from traywidget.gateway.remote import Reload
from traywidget.i18n import tr
from traywidget.model import EXIT_OK, Account, Hold, Snapshot, State, UsageError
from traywidget.store.account_fields import validate_port
from traywidget.store.config import Config, ConfigStore, ConfigWatch, Settings
from traywidget.store.secrets import KeyringSecretStore, SecretStore

if TYPE_CHECKING:
    from traywidget.cli.output import Writer
    from traywidget.gateway.server import Gateway

CONFIG_CHECK_S = 2.0  # how soon an account added or removed elsewhere reaches a running gateway
SHUTDOWN_S = 5  # at SIGTERM, held streams get this long to end cleanly; then the process ends regardless


def gateway_command(args, out: Writer, err: Writer) -> int:
    if args.demo:
        return _demo(args, out)
    if args.gateway_command == "token":
        return _token(args.rotate, out, err)
    if args.gateway_command == "env":
        return _env(args.account_id, out, err)
    return _serve(args, out, err)


def _token(rotate: bool, out: Writer, err: Writer) -> int:
    from traywidget.gateway.token import ensure_token, read_token, rotate_token

    secrets = KeyringSecretStore()
    if not rotate:
        print(ensure_token(secrets), file=out)
        return EXIT_OK
    from traywidget.gateway import remote

    old = read_token(secrets)
    token = rotate_token(secrets)
    print(token, file=out)
    outcomes = asyncio.run(_reload_everywhere(old, token))
    for port, outcome in outcomes:
        print(_RELOAD_WORDS[outcome]().format(port=port), file=err)
    if not any(outcome in (remote.Reload.RELOADED, remote.Reload.ALREADY) for _, outcome in outcomes):
        print(tr("Tools holding the old token are refused from now on."), file=err)
    return EXIT_OK


async def _reload_everywhere(old: str | None, new: str) -> list[tuple[int, Reload]]:
    """Every running gateway of this user told to take the new token: (port, what became of it)."""
    from traywidget.gateway import remote

    ports = gateway_ports()
    outcomes = await asyncio.gather(*(remote.reload_token(port, old, new) for port in ports))
    return [(port, outcome) for port, outcome in zip(ports, outcomes) if outcome is not remote.Reload.NONE]


_RELOAD_WORDS: dict[Reload, Callable[[], str]] = {
    Reload.RELOADED: lambda: tr("The gateway on port {port} now takes only the new token."),
    Reload.ALREADY: lambda: tr("The gateway on port {port} now takes only the new token."),
    Reload.NOT_PROVEN: lambda: tr("traywidget: warning: the program on port {port} answers like a traywidget "
                                  "gateway but did not prove it holds your gateway token; nothing was sent to it. "
                                  "If it is an old gateway of yours, restart it."),
    Reload.FAILED: lambda: tr("traywidget: warning: the gateway on port {port} could not read the new token from "
                              "the keyring (is it locked?); it still takes the old one. Unlock the keyring, then "
                              "send it SIGHUP or rotate again."),
}


def _demo(args: argparse.Namespace, out: Writer) -> int:
    """`--demo gateway token|env`: the running tray demo's gateway, with the demo's fixed token."""
    from traywidget.demo import DEMO_GATEWAY_TOKEN, running_demo

    if args.gateway_command == "token":
        print(DEMO_GATEWAY_TOKEN, file=out)
        return EXIT_OK
    demo = running_demo()
    if demo is None or demo.gateway_port is None:
        raise UsageError(tr("no tray demo with a gateway is running: start one with `traywidget --demo`"))
    account = next((a for a in demo.accounts if a.id == args.account_id), None)
    if account is None:
        raise UsageError(tr("the demo has no account {id!r}; its accounts: {ids}").format(
            id=args.account_id, ids=", ".join(a.id for a in demo.accounts)))
    print(_env_lines(account, demo.gateway_port, DEMO_GATEWAY_TOKEN), file=out)
    return EXIT_OK


def _env_lines(account: Account, port: int, token: str) -> str:
    """The shell lines that point a tool at `account` through the gateway on `port`."""
    from traywidget.gateway.control_api import HOST_V4
    from traywidget.providers import get_provider

    url = f"http://{HOST_V4}:{port}/{account.id}"
    lines = [f"export OPENAI_BASE_URL={shlex.quote(url)}", f"export OPENAI_API_KEY={shlex.quote(token)}"]
    if get_provider(account.provider).serves_messages:
        # Anthropic SDKs and Claude Code append /v1/messages to this: the gateway reads the /v1 once.
        lines += [f"export ANTHROPIC_BASE_URL={shlex.quote(url)}", f"export ANTHROPIC_API_KEY={shlex.quote(token)}"]
    return "\n".join(lines)


def _env(account_id: str, out: Writer, err: Writer) -> int:
    from traywidget.gateway.token import ensure_token

    config = ConfigStore().load()
    for warning in config.warnings:
        print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
    account = config.account(account_id)
    if account is None:
        raise UsageError(tr("no account with id {id!r} (see `traywidget accounts list`)").format(id=account_id))
    port = gateway_port()
    token = ensure_token(KeyringSecretStore())
    from traywidget.gateway.remote import port_holder

    if asyncio.run(port_holder(port, token)) is False:
        # A tool given these lines would send the token to whatever holds the port.
        raise UsageError(tr("port {port} is held by a program that is not your traywidget gateway (it did not "
                            "prove it holds your gateway token); stop it, or choose another port with "
                            "`traywidget gateway --port N` or gateway_port in the config file.").format(port=port))
    print(_env_lines(account, port, token), file=out)
    return EXIT_OK


def _serve(args, out: Writer, err: Writer) -> int:
    from traywidget.engine.engine import EngineSettings

    store = ConfigStore()
    config = store.load()
    if not config.accounts:
        raise UsageError(tr("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID"))
    port = validate_port(args.port if args.port is not None else config.settings.gateway_port)
    inputs = EngineInputs(list(config.accounts), KeyringSecretStore(),
                          EngineSettings().with_user_settings(config.settings), config.settings.pinned_meter)
    metrics = args.metrics or config.settings.metrics_enabled
    return asyncio.run(_run(inputs, config.warnings, port, "json" if args.json else "text", out, err, store,
                            metrics, config.settings))


def _told_of_rails(engine, err: Writer) -> Callable[[str, Hold | None], None]:
    """The engine hears of every hold; a guard rail that starts holding is also said on stderr, once
    (what the tray says in a notification)."""
    from traywidget.present.alerts import AlertPolicy

    policy = AlertPolicy()

    def on_hold(account_id: str, hold: Hold | None) -> None:
        engine.set_hold(account_id, hold)
        label = next((a.label for a in engine.accounts if a.id == account_id), account_id)
        for alert in policy.hold_alerts(Snapshot(account_id, "", label, State.OK, hold=hold)):
            print(tr("traywidget: warning: {warning}").format(warning=alert.title), file=err)
            print(alert.body, file=err, flush=True)

    return on_hold


async def _follow_accounts(store: ConfigStore, apply: Callable[[Config], None], keys_changed: Callable[[], None],
                           err: Writer) -> None:
    """Accounts added or removed while the gateway runs (`traywidget accounts …`, Settings, an
    editor) reach it within CONFIG_CHECK_S: a removed account is no longer forwarded with its key,
    a new one is served."""
    watch = ConfigWatch(store)
    while True:
        await asyncio.sleep(CONFIG_CHECK_S)
        edit = watch.check()
        if edit is None:
            continue
        for warning in edit.warnings:
            print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
        if edit.config is not None:
            apply(edit.config)
        if edit.keys_changed:  # the engine polls again now; the gateway's key cache notices on its next request
            keys_changed()


async def _run(inputs: EngineInputs, warnings, port: int, fmt: str, out, err: Writer, store: ConfigStore,
               metrics: bool, settings: Settings) -> int:
    """Run the engine and the gateway; print what `watch` prints, until SIGINT/SIGTERM or until
    the reader of our output goes away (held streams then end cleanly for their clients)."""
    from traywidget.engine.engine import Engine
    from traywidget.gateway.server import Gateway
    from traywidget.store.holds import HoldBook
    from traywidget.store.offthread import DaemonExecutor
    from traywidget.store.spend import SpendBook

    loop = asyncio.get_running_loop()
    # A keyring call stuck behind an unlock prompt must not keep the process alive after SIGTERM.
    loop.set_default_executor(DaemonExecutor())
    accounts, secrets = inputs.accounts, inputs.secrets
    engine = Engine(accounts, secrets, settings=inputs.settings)
    gateway = Gateway(accounts, secrets, observe=engine.observe, on_streams=engine.set_streams, holds=HoldBook(),
                      spend=SpendBook(), on_hold=_told_of_rails(engine, err), on_usage=engine.set_gateway_usage)
    if metrics:
        gateway.metrics_document = lambda: engine_status_document(engine)
    bound = await gateway.start(port)
    alerts = HeadlessAlerts(asyncio.get_running_loop(), secrets, settings)
    addresses.announce(bound, headless=True)  # `gateway env`, `status`, `kill` and rotations find it there
    reloads: set[asyncio.Task[None]] = set()
    try:
        # The first line says where to point tools; everything after is what `watch` prints.
        print(tr("traywidget gateway listening on http://127.0.0.1:{port}/ACCOUNT_ID — for a tool's settings: "
                 "traywidget gateway env ACCOUNT_ID").format(port=bound), file=err, flush=True)
        if metrics:
            print(tr("Prometheus metrics at http://127.0.0.1:{port}/metrics (the gateway token as the bearer "
                     "credential; see docs/metrics-and-hooks.md)").format(port=bound), file=err, flush=True)
        for warning in [*warnings, *gateway.notices]:
            print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
        for account in accounts:
            engine.set_streams(account.id, 0)
        engine.subscribe(SnapshotPrinter(watch_printer(fmt, inputs), out))
        engine.subscribe(alerts.on_snapshot)
        engine.subscribe(gateway.polled)
        stop = asyncio.Event()
        out.on_gone(stop.set)
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C arrives as KeyboardInterrupt
                pass
        if hasattr(signal, "SIGHUP"):  # the token was rotated elsewhere: read it again (never on a request)
            def reload() -> None:
                task = asyncio.create_task(_reload_token(gateway, err))
                reloads.add(task)
                task.add_done_callback(reloads.discard)

            loop.add_signal_handler(signal.SIGHUP, reload)
        fifo = notice_reader_exit(loop, out)
        await engine.start()

        def apply(config: Config) -> None:
            accounts = list(config.accounts)
            alerts.apply(config.settings, [a.id for a in engine.accounts if a.id not in {b.id for b in accounts}])
            known = {a.id for a in engine.accounts}
            engine.set_accounts(accounts)
            gateway.set_accounts(accounts)
            for account in accounts:
                if account.id not in known:
                    engine.set_streams(account.id, 0)

        follower = asyncio.create_task(_follow_accounts(store, apply, engine.wake, err))
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({follower, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if follower in done:
                follower.result()  # it only ends by failing: say so, rather than serve stale accounts
        finally:
            follower.cancel()
            stopped.cancel()
            if fifo is not None:
                loop.remove_reader(fifo)
    finally:
        addresses.withdraw()
        for task in reloads:
            task.cancel()
        try:
            async with asyncio.timeout(SHUTDOWN_S):
                await gateway.stop()  # held streams end cleanly for their clients first
                await engine.stop()
        except TimeoutError:
            print(tr("traywidget: warning: the gateway did not stop within {seconds} s; it ends anyway.").format(
                seconds=SHUTDOWN_S), file=err)
        from traywidget.desktop.hooks import ENDING_WAIT_S

        try:  # a hook under way gets a moment to finish, never a hang
            await asyncio.wait_for(alerts.hooks.drain(), ENDING_WAIT_S)
        except TimeoutError:
            pass
        await alerts.hooks.close()
    return EXIT_OK


async def _reload_token(gateway: Gateway, err: Writer) -> None:
    from traywidget.model import SecretStoreError

    try:
        changed = await gateway.reload_token()
    except SecretStoreError as exc:
        print(tr("traywidget: warning: {warning}").format(warning=exc), file=err, flush=True)
        return
    if changed:
        print(tr("The gateway now takes only the new token."), file=err, flush=True)


class HeadlessAlerts:
    """The headless gateway's alerts: the tray's gate (present/alerts.py AlertPolicy), its output to the hooks.

    No desktop notification here (a headless gateway may have no desktop); hooks are sent from here
    while this gateway is the one announced (gateway/addresses.py), which the tray defers to."""

    def __init__(self, loop: asyncio.AbstractEventLoop, secrets: SecretStore, settings: Settings) -> None:
        from traywidget.desktop.hooks import HookRunner
        from traywidget.present.alerts import AlertPolicy

        self.policy = AlertPolicy(settings.thresholds)
        self.hooks = HookRunner(loop, secrets, settings.hooks,
                                may_send=lambda: addresses.headless_gateway_pid() in (None, os.getpid()))

    def on_snapshot(self, snapshot: Snapshot) -> None:
        from traywidget.model import utcnow
        from traywidget.present.hook_events import hook_event

        now = utcnow()
        self.hooks.send_all(hook_event(alert, snapshot, now) for alert in self.policy.update(snapshot, now))

    def apply(self, settings: Settings, removed: list[str]) -> None:
        self.policy.set_thresholds(settings.thresholds)
        self.hooks.set_hooks(settings.hooks)
        for account_id in removed:
            self.policy.forget(account_id)
