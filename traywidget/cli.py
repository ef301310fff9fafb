"""The command line: a stable scripting interface over the engine.

The engine (and with it httpx) is imported only by the commands that poll,
so `traywidget --version` and the tray's start-up do not pay for it.

Errors are TraywidgetErrors (traywidget.model.errors): `run_command` prints
their message and returns their exit code, in one place.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import TextIO

from traywidget.core.alerts import kill_summary
from traywidget.core.config import (
    Config,
    ConfigStore,
    validate_account_id,
    validate_base_url,
    validate_interval,
)
from traywidget.core.formatting import format_amount, time_until_reset
from traywidget.core.secrets import KeyringSecretStore
from traywidget.model import (
    EXIT_ACCOUNT_ERROR,
    EXIT_KEYRING,
    EXIT_OK,
    Account,
    AutostartError,
    KillResult,
    SecretStoreError,
    Snapshot,
    TraywidgetError,
    Unit,
    UsageError,
    utcnow,
)


def add_cli_commands(sub: argparse._SubParsersAction) -> None:
    """Register the CLI's subcommands on the top-level parser (see __main__)."""
    from traywidget.providers import PROVIDER_IDS

    accounts = sub.add_parser("accounts", help="add, list or remove accounts")
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    add = acc_sub.add_parser("add", help="add an account")
    add.add_argument("provider", choices=PROVIDER_IDS)
    add.add_argument("--id", required=True, dest="account_id")
    add.add_argument("--label")
    add.add_argument("--base-url", help="default: the provider's public API with /v1")
    add.add_argument("--fast-interval", type=float, metavar="SECONDS", help="this account's fast cadence")
    add.add_argument("--full-interval", type=float, metavar="SECONDS", help="this account's full cadence")
    lst = acc_sub.add_parser("list", help="list accounts")
    lst.add_argument("--json", action="store_true")
    rm = acc_sub.add_parser("remove", help="remove an account and its keys")
    rm.add_argument("account_id")

    keys = sub.add_parser("keys", help="store or delete an account's key in the OS keyring")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    kset = keys_sub.add_parser("set", help="read a key from standard input (a hidden prompt on a terminal)")
    kset.add_argument("account_id")
    kset.add_argument("--management", action="store_true", help="the optional management key")
    kdel = keys_sub.add_parser("delete", help="delete a key")
    kdel.add_argument("account_id")
    kdel.add_argument("--management", action="store_true")

    for name, text in (
        ("status", "poll every account once and print the result"),
        ("watch", "poll continuously; one line per change"),
        ("kill", "stop all active streams on every account that supports it"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--json", action="store_true")
        cmd.add_argument("--demo", action="store_true", help="run against the built-in simulator's demo accounts")

    sim = sub.add_parser("simulate", help="serve the loopback simulator of all three providers")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--demo", action="store_true", help="with demo accounts and moving counters")

    auto = sub.add_parser("autostart", help="start traywidget at login")
    auto.add_argument("action", choices=("on", "off", "status"))

    sub.add_parser("doctor", help="check what this desktop offers (tray, notifications, keyring)")

    purge = sub.add_parser("purge", help="before uninstalling: delete every key, start at login and the cache")
    purge.add_argument("--yes", action="store_true", help="really delete (without it, only list what would go)")
    purge.add_argument("--config", action="store_true", help="also delete the config file (the accounts)")


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    handlers = {
        "accounts": _accounts,
        "keys": _keys,
        "status": _status,
        "watch": _watch,
        "kill": _kill,
        "simulate": _simulate,
        "autostart": _autostart,
        "doctor": _doctor,
        "purge": _purge,
    }
    try:
        return handlers[args.command](args, out, err)
    except TraywidgetError as exc:
        print(f"traywidget: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


# --- config and accounts ----------------------------------------------------


def _load_config(err: TextIO) -> tuple[ConfigStore, Config]:
    store = ConfigStore()
    config = store.load()
    for warning in config.warnings:
        print(f"traywidget: warning: {warning}", file=err)
    return store, config


def _accounts(args, out, err) -> int:
    from traywidget.providers import get_provider

    store, config = _load_config(err)
    if args.accounts_command == "list":
        if args.json:
            json.dump({"accounts": [a.to_json() for a in config.accounts]}, out, indent=2)
            out.write("\n")
        elif not config.accounts:
            print("No accounts yet. Add one with: traywidget accounts add PROVIDER --id ID", file=out)
        else:
            rows = [("ID", "PROVIDER", "LABEL", "BASE URL")]
            rows += [(a.id, a.provider, a.label, a.base_url) for a in config.accounts]
            _print_table(rows, out)
        return EXIT_OK
    if args.accounts_command == "add":
        account_id = validate_account_id(args.account_id)
        if config.account(account_id):
            raise UsageError(f"an account with id {account_id!r} exists already")
        provider = get_provider(args.provider)
        account = Account(
            id=account_id,
            provider=provider.id,
            label=(args.label or "").strip() or account_id,
            base_url=validate_base_url(args.base_url or provider.default_base_url),
            fast_interval_s=validate_interval(args.fast_interval),
            full_interval_s=validate_interval(args.full_interval),
        )
        store.save(config.with_account(account))
        print(f"Added {account.id} ({provider.display_name}, {account.base_url}).", file=out)
        print(f"Now store its key: traywidget keys set {account.id}", file=out)
        return EXIT_OK
    # remove
    if not config.account(args.account_id):
        raise UsageError(f"no account with id {args.account_id!r}")
    store.save(config.without_account(args.account_id))
    print(f"Removed {args.account_id}.", file=out)
    try:
        secrets = KeyringSecretStore()
        removed = [secrets.delete(args.account_id, management=m) for m in (False, True)]
        if any(removed):
            print("Its keys were deleted from the keyring.", file=out)
    except SecretStoreError as exc:
        print(f"traywidget: the account is removed, but its keys could not be deleted: {exc}", file=err)
        return EXIT_KEYRING
    return EXIT_OK


def _keys(args, out, err) -> int:
    _, config = _load_config(err)
    if not config.account(args.account_id):
        raise UsageError(f"no account with id {args.account_id!r}; add it first with `traywidget accounts add`")
    secrets = KeyringSecretStore()
    kind = "management key" if args.management else "API key"
    if args.keys_command == "delete":
        if secrets.delete(args.account_id, management=args.management):
            print(f"Deleted the {kind} of {args.account_id}.", file=out)
        else:
            print(f"{args.account_id} had no {kind} stored.", file=out)
        return EXIT_OK
    secret = _read_secret(f"{kind} for {args.account_id}: ")
    if not secret:
        raise UsageError(f"no {kind} given on standard input; nothing was saved")
    secrets.set(args.account_id, secret, management=args.management)
    print(f"Saved the {kind} of {args.account_id} in the keyring ({secrets.backend_name()}).", file=out)
    return EXIT_OK


def _read_secret(prompt: str) -> str:
    """From a hidden prompt on a terminal, else the first line of standard input.
    Never from argv: command lines are visible to every user of the machine."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return getpass.getpass(prompt).strip()
    return sys.stdin.readline().strip()


# --- engine commands ----------------------------------------------------------


def _engine_inputs(args, err, stack: ExitStack):
    """(accounts, secret store, engine settings) from the config, or from the demo."""
    from traywidget.core.engine import EngineSettings

    if getattr(args, "demo", False):
        from traywidget.demo import start_demo

        demo = stack.enter_context(start_demo())
        return demo.accounts, demo.secrets, EngineSettings()
    _, config = _load_config(err)
    if not config.accounts:
        raise UsageError("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID "
                       "(or try `traywidget status --demo`)")
    return list(config.accounts), KeyringSecretStore(), EngineSettings().with_user_settings(config.settings)


def _status(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        snapshots = asyncio.run(_one_shot(accounts, secrets, settings, lambda e: e.poll_all()))
    if args.json:
        json.dump({"accounts": [s.to_json() for s in snapshots]}, out, indent=2)
        out.write("\n")
    else:
        _print_status(snapshots, out)
    return EXIT_ACCOUNT_ERROR if any(s.state.is_account_error for s in snapshots) else EXIT_OK


def _kill(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        results: list[KillResult] = asyncio.run(_one_shot(accounts, secrets, settings, lambda e: e.kill_all()))
    if args.json:
        json.dump({"accounts": [r.to_json() for r in results]}, out, indent=2)
        out.write("\n")
    else:
        summary = kill_summary(results, {a.id: a.label for a in accounts})
        print(f"{summary.title}.", file=out)
        print(summary.body, file=out)
    return EXIT_ACCOUNT_ERROR if any(r.error for r in results) else EXIT_OK


async def _one_shot(accounts, secrets, settings, action):
    from traywidget.core.engine import Engine

    engine = Engine(accounts, secrets, settings=settings)
    try:
        return await action(engine)
    finally:
        await engine.stop()


def _watch(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        return asyncio.run(_watch_loop(accounts, secrets, settings, args.json, out))


async def _watch_loop(accounts, secrets, settings, as_json: bool, out: TextIO) -> int:
    from traywidget.core.engine import Engine

    engine = Engine(accounts, secrets, settings=settings)
    last: dict[str, tuple] = {}

    def on_snapshot(snap: Snapshot) -> None:
        key = snap.content_key()
        if last.get(snap.account_id) == key:
            return
        last[snap.account_id] = key
        if as_json:
            out.write(json.dumps(snap.to_json(), separators=(",", ":")) + "\n")
        else:
            out.write(_watch_line(snap) + "\n")
        out.flush()

    engine.subscribe(on_snapshot)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            pass
    await engine.start()
    try:
        await stop.wait()
    finally:
        await engine.stop()
    return EXIT_OK


def _watch_line(snap: Snapshot) -> str:
    parts = [_clock(snap.fetched_at), snap.account_id, snap.state.value]
    parts += [f"{m.name}={format_amount(m.remaining, m.unit)}/{format_amount(m.limit, m.unit)}" for m in snap.meters]
    if snap.error:
        parts.append(f'"{snap.error.message}"')
    return " ".join(parts)


def _simulate(args, out, err) -> int:
    from traywidget.simulator import Simulator, build_demo
    from traywidget.simulator.server import base_url, run_forever

    sim = Simulator()
    # The demo's keys are fixed fake values that only this simulator knows.
    demo_accounts = build_demo(sim) if args.demo else []

    def ready(port: int) -> None:
        print(f"Simulator listening on 127.0.0.1:{port}", file=out)
        for provider in ("routing.run", "openrouter", "routeway"):
            print(f"  {provider:<12} {base_url(port, provider)}", file=out)
        for item in demo_accounts:
            print(f"demo account {item['id']} ({item['provider']}): "
                  f"traywidget accounts add {item['provider']} --id {item['id']} "
                  f"--base-url {base_url(port, item['provider'])}; key {item['api_key']}"
                  + (f"; management key {item['management_key']}" if item.get("management_key") else ""), file=out)
        print("Press Ctrl+C to stop.", file=out)
        out.flush()

    try:
        run_forever(port=args.port, ready=ready, sim=sim)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def _autostart(args, out, err) -> int:
    from traywidget.core import autostart

    return _autostart_action(autostart, args.action, out)


def _autostart_action(autostart, action: str, out) -> int:
    if action == "on":
        where = autostart.enable()
        print(f"traywidget will start at login ({where}).", file=out)
    elif action == "off":
        print("Start at login is off." if autostart.disable() else "Start at login was already off.", file=out)
    else:
        print(autostart.status(), file=out)
    return EXIT_OK


def _doctor(args, out, err) -> int:
    from traywidget.doctor import format_report, run_doctor

    checks = run_doctor()
    print(format_report(checks), file=out)
    return EXIT_OK if all(c.ok for c in checks) else EXIT_ACCOUNT_ERROR


def _purge(args, out, err) -> int:
    """Leave nothing behind but (unless --config) the key-less config file."""
    import shutil

    from traywidget.core import autostart
    from traywidget.core.paths import cache_dir

    store, config = _load_config(err)
    ids = [a.id for a in config.accounts] + [
        e["id"] for e in config.unknown_entries if isinstance(e.get("id"), str)
    ]
    places = [f"the keys of {len(ids)} account(s) in the keyring", "start at login", f"the cache {cache_dir()}"]
    if args.config:
        places.append(f"the config {store.path}")
    if not args.yes:
        print("Would delete: " + "; ".join(places) + ". Run again with --yes to do it.", file=out)
        return EXIT_OK
    failures = 0
    try:
        secrets = KeyringSecretStore()
        for account_id in ids:
            for management in (False, True):
                secrets.delete(account_id, management=management)
    except SecretStoreError as exc:
        print(f"traywidget: keys not deleted: {exc}", file=err)
        failures += 1
    try:
        autostart.disable()
    except AutostartError as exc:
        print(f"traywidget: start at login not removed: {exc}", file=err)
        failures += 1
    shutil.rmtree(cache_dir(), ignore_errors=True)
    if args.config:
        store.path.unlink(missing_ok=True)
    print("Deleted: " + "; ".join(places) + "." if not failures else "Partly done: see above.", file=out)
    return EXIT_KEYRING if failures else EXIT_OK


# --- formatting -----------------------------------------------------------------


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def _print_status(snapshots: list[Snapshot], out: TextIO) -> None:
    rows = [("ACCOUNT", "PROVIDER", "STATE", "PLAN", "METER", "LEFT", "LIMIT", "RESETS IN")]
    messages = []
    for snap in snapshots:
        head = [snap.account_id, snap.provider, snap.state.value, snap.plan or "-"]
        if not snap.meters:
            rows.append((*head, "-", "-", "-", "-"))
        for i, m in enumerate(snap.meters):
            uncapped = m.limit is None
            left = "-" if uncapped and m.remaining is None else format_amount(m.remaining, m.unit)
            # A money balance has no limit to speak of; a request window without one has "no cap".
            limit = ("-" if m.unit is Unit.USD else "no cap") if uncapped else format_amount(m.limit, m.unit)
            if m.estimated:
                limit = "≈" + limit
            rows.append((*(head if i == 0 else ("", "", "", "")), m.name, left, limit, time_until_reset(m.resets_at, utcnow(), m.approximate_reset) or "-"))
        if snap.error:
            messages.append(f"{snap.account_id}: {snap.error.message}")
        messages.extend(f"{snap.account_id}: {note}" for note in snap.notes)
    _print_table(rows, out)
    for line in messages:
        print(line, file=out)


def _print_table(rows: list[tuple], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpcore's debug trace is about sockets, not our requests; keep it out of --debug.
    logging.getLogger("httpcore").setLevel(logging.INFO)
    # qasync logs every executor call's result at DEBUG, and the engine reads
    # keys from the keyring in an executor: that would print keys. Never.
    logging.getLogger("qasync").setLevel(logging.INFO)
