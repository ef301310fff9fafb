"""`traywidget gateway`: the local gateway without a tray, its token, and the
shell lines a tool needs to use it.

    traywidget gateway [--port N] [--json]   run the engine and the gateway; print what `watch` prints
    traywidget gateway token [--rotate]      print the token (made on first use)
    traywidget gateway env ACCOUNT_ID        export OPENAI_BASE_URL=... / OPENAI_API_KEY=...
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
from collections.abc import Callable
from typing import TextIO

from traywidget.cli import gateway_address as address_file
from traywidget.cli.gateway_address import gateway_port
from traywidget.cli.polling import (
    EngineInputs,
    SnapshotPrinter,
    notice_reader_exit,
    watch_printer,
)
from traywidget.core.config import ConfigStore, ConfigWatch, validate_port
from traywidget.core.secrets import KeyringSecretStore
from traywidget.i18n import tr
from traywidget.model import EXIT_OK, Account, UsageError

CONFIG_CHECK_S = 2.0  # how soon an account added or removed elsewhere reaches a running gateway


def gateway_command(args, out: TextIO, err: TextIO) -> int:
    if args.demo:
        return _demo(args, out)
    if args.gateway_command == "token":
        return _token(args.rotate, out, err)
    if args.gateway_command == "env":
        return _env(args.account_id, out, err)
    return _serve(args, out, err)


def _token(rotate: bool, out: TextIO, err: TextIO) -> int:
    from traywidget.gateway.token import ensure_token, rotate_token

    secrets = KeyringSecretStore()
    if not rotate:
        print(ensure_token(secrets), file=out)
        return EXIT_OK
    from traywidget.gateway import remote

    token = rotate_token(secrets)
    print(token, file=out)
    port = gateway_port()
    if asyncio.run(remote.announce_token(port, token)):
        print(tr("The gateway on port {port} now takes only the new token.").format(port=port), file=err)
    else:
        print(tr("Tools holding the old token are refused from now on."), file=err)
    return EXIT_OK


def _demo(args: argparse.Namespace, out: TextIO) -> int:
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
    from traywidget.gateway.control import HOST_V4
    from traywidget.providers import get_provider

    url = f"http://{HOST_V4}:{port}/{account.id}"
    lines = [f"export OPENAI_BASE_URL={shlex.quote(url)}", f"export OPENAI_API_KEY={shlex.quote(token)}"]
    if get_provider(account.provider).serves_messages:
        # Anthropic SDKs and Claude Code append /v1/messages to this: the gateway reads the /v1 once.
        lines += [f"export ANTHROPIC_BASE_URL={shlex.quote(url)}", f"export ANTHROPIC_API_KEY={shlex.quote(token)}"]
    return "\n".join(lines)


def _env(account_id: str, out: TextIO, err: TextIO) -> int:
    from traywidget.gateway.token import ensure_token

    config = ConfigStore().load()
    for warning in config.warnings:
        print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
    account = config.account(account_id)
    if account is None:
        raise UsageError(tr("no account with id {id!r} (see `traywidget accounts list`)").format(id=account_id))
    print(_env_lines(account, gateway_port(), ensure_token(KeyringSecretStore())), file=out)
    return EXIT_OK


def _serve(args, out: TextIO, err: TextIO) -> int:
    from traywidget.core.engine import EngineSettings

    store = ConfigStore()
    config = store.load()
    if not config.accounts:
        raise UsageError(tr("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID"))
    port = validate_port(args.port if args.port is not None else config.settings.gateway_port)
    inputs = EngineInputs(list(config.accounts), KeyringSecretStore(),
                          EngineSettings().with_user_settings(config.settings), config.settings.pinned_meter)
    return asyncio.run(_run(inputs, config.warnings, port, "json" if args.json else "text", out, err, store))


async def _follow_accounts(store: ConfigStore, apply: Callable[[list[Account]], None], err: TextIO) -> None:
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
            apply(list(edit.config.accounts))


async def _run(inputs: EngineInputs, warnings, port: int, fmt: str, out, err: TextIO, store: ConfigStore) -> int:
    """Run the engine and the gateway; print what `watch` prints, until SIGINT/SIGTERM or until
    the reader of our output goes away (held streams then end cleanly for their clients)."""
    from traywidget.core.engine import Engine
    from traywidget.gateway.server import Gateway

    accounts, secrets = inputs.accounts, inputs.secrets
    engine = Engine(accounts, secrets, settings=inputs.settings)
    gateway = Gateway(accounts, secrets, observe=engine.observe, on_streams=engine.set_streams)
    bound = await gateway.start(port)
    address_file.announce(bound)  # `gateway env`, `status` and `kill` find it there, whatever --port said
    try:
        # The first line says where to point tools; everything after is what `watch` prints.
        print(tr("traywidget gateway listening on http://127.0.0.1:{port}/ACCOUNT_ID — for a tool's settings: "
                 "traywidget gateway env ACCOUNT_ID").format(port=bound), file=err, flush=True)
        for warning in warnings:
            print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
        for account in accounts:
            engine.set_streams(account.id, 0)
        engine.subscribe(SnapshotPrinter(watch_printer(fmt, inputs), out))
        stop = asyncio.Event()
        out.on_gone(stop.set)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C arrives as KeyboardInterrupt
                pass
        fifo = notice_reader_exit(loop, out)
        await engine.start()

        def apply(accounts: list[Account]) -> None:
            known = {a.id for a in engine.accounts}
            engine.set_accounts(accounts)
            gateway.set_accounts(accounts)
            for account in accounts:
                if account.id not in known:
                    engine.set_streams(account.id, 0)

        follower = asyncio.create_task(_follow_accounts(store, apply, err))
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
        address_file.withdraw()
        await gateway.stop()  # held streams end cleanly for their clients first
        await engine.stop()
    return EXIT_OK

