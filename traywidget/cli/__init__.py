"""The command line: a stable scripting interface over the engine.

One module per group of commands; this one registers them and runs one. The
engine (and with it httpx) is imported only by the commands that poll, so
`traywidget --version` and the tray's start-up do not pay for it.

Errors are TraywidgetErrors (traywidget.model.errors): `run_command` prints
their message and returns their exit code, in one place. Output goes through
a GuardedStream, so a reader that goes away (`| head -1`) ends any command
quietly with EXIT_PIPE_CLOSED.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import TextIO

from traywidget.i18n import tr

# The commands that can run on the built-in simulator instead of the user's accounts.
DEMO_COMMANDS = ("status", "watch", "kill")
# What `watch --format` prints: one line per account change, one JSON object per account change,
# Waybar's custom-module JSON, or one plain bar line.
WATCH_FORMATS = ("text", "json", "waybar", "line")
# command -> (module, function): a command's module is imported only when it runs, so building the
# parser (which the tray's start-up does too) loads none of them.
HANDLERS = {
    "accounts": ("accounts", "accounts_command"),
    "keys": ("accounts", "keys_command"),
    "status": ("polling", "status_command"),
    "watch": ("polling", "watch_command"),
    "kill": ("polling", "kill_command"),
    "resume": ("polling", "resume_command"),
    "gateway": ("gateway", "gateway_command"),
    "simulate": ("system", "simulate_command"),
    "autostart": ("system", "autostart_command"),
    "doctor": ("system", "doctor_command"),
    "purge": ("system", "purge_command"),
}


def add_cli_commands(sub: argparse._SubParsersAction) -> None:
    """Register the CLI's subcommands on the top-level parser (see __main__)."""
    from traywidget.providers import PROVIDER_IDS

    json_help = tr("print JSON for scripts (English, stable)")

    accounts = sub.add_parser("accounts", help=tr("add, list or remove accounts"))
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    add = acc_sub.add_parser("add", help=tr("add an account"))
    # Provider ids are case-insensitive: `accounts add OpenRouter` is openrouter.
    add.add_argument("provider", type=str.lower, choices=PROVIDER_IDS, metavar="PROVIDER",
                     help=tr("one of: {providers}").format(providers=", ".join(PROVIDER_IDS)))
    add.add_argument("--id", required=True, dest="account_id", metavar="ACCOUNT_ID",
                     help=tr("a short name of your choice, used in commands and in the gateway's addresses"))
    add.add_argument("--label", help=tr("the name shown in the menu and the panel (default: the id)"))
    add.add_argument("--base-url", help=tr("default: the provider's public API with /v1"))
    add.add_argument("--fast-interval", type=float, metavar="SECONDS", help=tr("this account's fast cadence"))
    add.add_argument("--full-interval", type=float, metavar="SECONDS", help=tr("this account's full cadence"))
    lst = acc_sub.add_parser("list", help=tr("list accounts"))
    lst.add_argument("--json", action="store_true", help=json_help)
    rails = acc_sub.add_parser("set", help=tr("set an account's guard rails on its traffic through the gateway"))
    rails.add_argument("account_id", metavar="ACCOUNT_ID")
    rails.add_argument("--reserve", metavar="N",
                       help=tr("hold its gateway traffic when fewer than N requests are left in the window "
                               "(\"off\" removes it)"))
    rails.add_argument("--reserve-window", choices=("minute", "hour", "day"),
                       help=tr("the window the reserve watches (default hour)"))
    rails.add_argument("--daily-cap", metavar="AMOUNT",
                       help=tr("hold its gateway traffic once today's reported cost reaches AMOUNT, in the "
                               "provider's currency (\"off\" removes it)"))
    rm = acc_sub.add_parser("remove", help=tr("remove an account and its keys"))
    rm.add_argument("account_id", metavar="ACCOUNT_ID")

    keys = sub.add_parser("keys", help=tr("store or delete an account's key in the OS keyring"))
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    kset = keys_sub.add_parser("set", help=tr("read a key from standard input (a hidden prompt on a terminal)"))
    kset.add_argument("account_id", metavar="ACCOUNT_ID")
    kset.add_argument("--management", action="store_true", help=tr("the optional management key"))
    kdel = keys_sub.add_parser("delete", help=tr("delete a key"))
    kdel.add_argument("account_id", metavar="ACCOUNT_ID")
    kdel.add_argument("--management", action="store_true", help=tr("the management key instead of the API key"))

    for name, text in (
        ("status", tr("poll every account once and print the result")),
        ("watch", tr("poll continuously; print a line on each change")),
        ("kill", tr("stop all active streams on every account that supports it")),
    ):
        cmd = sub.add_parser(name, help=text)
        if name == "watch":
            form = cmd.add_mutually_exclusive_group()
            form.add_argument("--format", choices=WATCH_FORMATS, default="text",
                              help=tr("text (default), json (= --json), waybar (Waybar's custom-module JSON), "
                                      "line (one plain line for i3blocks, polybar, tmux)"))
            form.add_argument("--json", action="store_true", help=tr("one JSON object per change (= --format json)"))
        else:
            cmd.add_argument("--json", action="store_true", help=json_help)
        if name == "kill":
            hold = cmd.add_mutually_exclusive_group()
            hold.add_argument("--hold", type=int, metavar="MINUTES",
                              help=tr("also refuse the accounts' new requests through the gateway for MINUTES"))
            hold.add_argument("--hold-until-resume", action="store_true",
                              help=tr("also refuse their new requests through the gateway until `traywidget resume`"))
            hold.add_argument("--no-hold", action="store_true", help=tr("do not hold, whatever Settings say"))
            cmd.add_argument("--account", dest="account_id", metavar="ACCOUNT_ID",
                             help=tr("only this account (default: every account)"))
        # SUPPRESS: an unset `--demo` here must not hide `traywidget --demo status`.
        cmd.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                         help=tr("run against the built-in simulator's demo accounts"))

    resume = sub.add_parser("resume", help=tr("let held accounts' requests through the gateway again"))
    resume.add_argument("--account", dest="account_id", metavar="ACCOUNT_ID",
                        help=tr("only this account (default: every account)"))
    resume.add_argument("--json", action="store_true", help=json_help)

    _add_gateway_command(sub)

    sim = sub.add_parser("simulate", help=tr("serve the loopback simulator of all three providers"))
    sim.add_argument("--port", type=int, default=8765, help=tr("listen on this port (default 8765)"))
    sim.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                     help=tr("with demo accounts and moving counters"))

    auto = sub.add_parser("autostart", help=tr("start traywidget at login"))
    auto.add_argument("action", choices=("on", "off", "status"), metavar="on|off|status",
                      help=tr("turn it on or off, or say whether it is on"))

    doctor = sub.add_parser("doctor", help=tr("check what this desktop offers (tray, notifications, keyring)"))
    doctor.add_argument("--json", action="store_true", help=json_help)

    purge = sub.add_parser("purge", help=tr("before uninstalling: delete every key, start at login and the cache"))
    purge.add_argument("--yes", action="store_true", help=tr("really delete (without it, only list what would go)"))
    purge.add_argument("--config", action="store_true", help=tr("also delete the config file (the accounts)"))


def _add_gateway_command(sub: argparse._SubParsersAction) -> None:
    gateway = sub.add_parser("gateway", help=tr("run the local gateway your tools can use as their base URL"))
    gateway.add_argument("--port", type=int, help=tr("listen on this port (default: gateway_port in the config, 8787)"))
    gateway.add_argument("--json", action="store_true", help=tr("print changes as JSON lines"))
    actions = gateway.add_subparsers(dest="gateway_command", metavar="ACTION")
    token = actions.add_parser("token", help=tr("print the gateway token your tools send (made on first use)"))
    token.add_argument("--rotate", action="store_true", help=tr("replace it; tools holding the old one are refused"))
    env = actions.add_parser("env", help=tr("print the shell lines that point a tool at an account through "
                                           "the gateway"))
    env.add_argument("account_id", metavar="ACCOUNT_ID")


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from traywidget.cli.output import EXIT_PIPE_CLOSED, GuardedStream
    from traywidget.model import TraywidgetError, UsageError

    module, function = HANDLERS[args.command]
    out, err = GuardedStream(out), GuardedStream(err)
    try:
        if args.demo and args.command not in (*DEMO_COMMANDS, "simulate"):
            raise UsageError(tr("--demo works with the tray (`traywidget --demo`) and with {commands}, "
                                "not with {command}").format(commands=", ".join(DEMO_COMMANDS), command=args.command))
        handler = getattr(importlib.import_module(f"traywidget.cli.{module}"), function)
        code = handler(args, out, err)
    except TraywidgetError as exc:
        print(tr("traywidget: {error}").format(error=exc), file=err)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    out.flush()
    err.flush()
    return EXIT_PIPE_CLOSED if out.gone else code


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
