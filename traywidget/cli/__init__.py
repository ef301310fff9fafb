"""The command line: a stable scripting interface over the engine.

One module per group of commands; this one registers them and runs one. The
engine (and with it httpx) is imported only by the commands that poll, so
`traywidget --version` and the tray's start-up do not pay for it.

Errors are TraywidgetErrors (traywidget.model.errors): `run_command` prints
their message and returns their exit code, in one place.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from traywidget.cli import accounts, polling, system
from traywidget.model import TraywidgetError


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

    doctor = sub.add_parser("doctor", help="check what this desktop offers (tray, notifications, keyring)")
    doctor.add_argument("--json", action="store_true")

    purge = sub.add_parser("purge", help="before uninstalling: delete every key, start at login and the cache")
    purge.add_argument("--yes", action="store_true", help="really delete (without it, only list what would go)")
    purge.add_argument("--config", action="store_true", help="also delete the config file (the accounts)")


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    handlers = {
        "accounts": accounts.accounts_command,
        "keys": accounts.keys_command,
        "status": polling.status_command,
        "watch": polling.watch_command,
        "kill": polling.kill_command,
        "simulate": system.simulate_command,
        "autostart": system.autostart_command,
        "doctor": system.doctor_command,
        "purge": system.purge_command,
    }
    try:
        return handlers[args.command](args, out, err)
    except TraywidgetError as exc:
        print(f"traywidget: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


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
