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
from typing import Any, TextIO

from traywidget.i18n import tr

# The commands that can run on the built-in simulator instead of the user's accounts (and reach the running
# tray demo when there is one); `gateway` only for its token and env lines.
DEMO_COMMANDS = ("status", "watch", "kill", "gateway env", "gateway token")
# What `watch --format` prints: one line per account change, one JSON object per account change,
# Waybar's custom-module JSON, one plain bar line, or the badge's figure alone ("130/h").
WATCH_FORMATS = ("text", "json", "waybar", "line", "short")
# command -> (module, function): a command's module is imported only when it runs, so building the
# parser (which the tray's start-up does too) loads none of them.
HANDLERS = {
    "accounts": ("accounts", "accounts_command"),
    "keys": ("accounts", "keys_command"),
    "status": ("polling", "status_command"),
    "watch": ("polling", "watch_command"),
    "kill": ("polling", "kill_command"),
    "gateway": ("gateway", "gateway_command"),
    "simulate": ("system", "simulate_command"),
    "autostart": ("system", "autostart_command"),
    "doctor": ("system", "doctor_command"),
    "purge": ("system", "purge_command"),
}


def examples(*lines: str) -> str:
    """A help text's epilog: command lines a user can copy, under a translated heading."""
    return "\n".join([tr("examples:"), *(f"  {line}" for line in lines)])


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, except that example lines (indented by two spaces) are kept as written, never re-wrapped."""

    def format_help(self) -> str:
        # argparse ends each section heading with an ASCII ":"; the language's own colon (Chinese "：").
        lines = super().format_help().split("\n")
        return "\n".join(tr("{heading}:").format(heading=line[:-1])
                         if line.endswith(":") and not line[:1].isspace() else line for line in lines)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(line if line.startswith("  ") else super(HelpFormatter, self)._fill_text(line, width, indent)
                         for line in text.splitlines())


def add_command(sub: argparse._SubParsersAction, name: str, text: str, *lines: str,
                **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (its help, as a sentence) and shows examples of it."""
    return sub.add_parser(name, help=text, description=text[:1].upper() + text[1:],
                          epilog=examples(*lines) if lines else None,
                          formatter_class=HelpFormatter, **kwargs)


def error_line(message: str) -> str:
    """How every error is said: "traywidget: " and the message as a sentence (capitalised, in one place)."""
    message = message.strip()
    first = message.split(" ", 1)[0]
    if first.isalpha():  # a word, not a host name, an id or an option ("openrouter.ai", "--demo")
        message = message[:1].upper() + message[1:]
    return tr("traywidget: {error}").format(error=message)


def add_cli_commands(sub: argparse._SubParsersAction) -> None:
    """Register the CLI's subcommands on the top-level parser (see __main__)."""
    from traywidget.providers import PROVIDER_IDS

    json_help = tr("print JSON for scripts (English, stable)")

    accounts = add_command(sub, "accounts", tr("add, list or remove accounts"),
                           "traywidget accounts add openrouter --id work", "traywidget accounts list")
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True, metavar="add|list|remove")
    add = add_command(acc_sub, "add", tr("add an account"),
                      'traywidget accounts add openrouter --id work --label "Work"',
                      "traywidget accounts add routing.run --id main --fast-interval 60")
    # Provider ids are case-insensitive: `accounts add OpenRouter` is openrouter.
    add.add_argument("provider", type=str.lower, choices=PROVIDER_IDS, metavar="PROVIDER",
                     help=tr("one of: {providers}").format(providers=", ".join(PROVIDER_IDS)))
    add.add_argument("--id", required=True, dest="account_id", metavar="ACCOUNT_ID",
                     help=tr("a short name of your choice, used in commands and in the gateway's addresses"))
    add.add_argument("--label", help=tr("the name shown in the menu and the panel (default: the id)"))
    add.add_argument("--base-url", help=tr("default: the provider's public API with /v1"))
    add.add_argument("--fast-interval", type=float, metavar="SECONDS", help=tr("this account's fast cadence"))
    add.add_argument("--full-interval", type=float, metavar="SECONDS", help=tr("this account's full cadence"))
    add.add_argument("--force", action="store_true",
                     help=tr("keep a base URL that belongs to another provider (your key would be sent there)"))
    lst = add_command(acc_sub, "list", tr("list accounts"), "traywidget accounts list",
                      "traywidget accounts list --json")
    lst.add_argument("--json", action="store_true", help=json_help)
    rm = add_command(acc_sub, "remove", tr("remove an account and its keys"), "traywidget accounts remove work")
    rm.add_argument("account_id", metavar="ACCOUNT_ID", help=tr("the account's id (see `traywidget accounts list`)"))

    keys = add_command(sub, "keys", tr("store or delete an account's key in the OS keyring"),
                       "traywidget keys set work", "traywidget keys delete work --management")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="set|delete")
    kset = add_command(keys_sub, "set", tr("read a key from standard input (a hidden prompt on a terminal)"),
                       "traywidget keys set work", "traywidget keys set work --management",
                       "pass show openrouter/work | traywidget keys set work")
    kset.add_argument("account_id", metavar="ACCOUNT_ID",
                      help=tr("the account whose key this is (see `traywidget accounts list`)"))
    kset.add_argument("--management", action="store_true", help=tr("the optional management key"))
    kdel = add_command(keys_sub, "delete", tr("delete a key"), "traywidget keys delete work")
    kdel.add_argument("account_id", metavar="ACCOUNT_ID",
                      help=tr("the account whose key to delete (see `traywidget accounts list`)"))
    kdel.add_argument("--management", action="store_true", help=tr("the management key instead of the API key"))

    for name, text, lines in (
        ("status", tr("poll every account once and print the result"),
         ("traywidget status", "traywidget status --json", "traywidget --demo status")),
        ("watch", tr("poll continuously; print a line on each change"),
         ("traywidget watch", "traywidget watch --format waybar", "traywidget watch --format short")),
        ("kill", tr("stop all active streams on every account that supports it"),
         ("traywidget kill", "traywidget --demo kill")),
    ):
        cmd = add_command(sub, name, text, *lines)
        if name == "watch":
            form = cmd.add_mutually_exclusive_group()
            form.add_argument("--format", choices=WATCH_FORMATS, default="text",
                              help=tr("text (default), json (= --json), waybar (Waybar's custom-module JSON), "
                                      "line (one plain line for i3blocks, polybar, tmux), "
                                      "short (the badge's figure, e.g. 130/h)"))
            form.add_argument("--json", action="store_true", help=tr("one JSON object per change (= --format json)"))
        else:
            cmd.add_argument("--json", action="store_true", help=json_help)
        # SUPPRESS: an unset `--demo` here must not hide `traywidget --demo status`.
        cmd.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                         help=tr("run against the built-in simulator's demo accounts"))

    _add_gateway_command(sub)

    sim = add_command(sub, "simulate", tr("serve the loopback simulator of all three providers"),
                      "traywidget simulate --demo", "traywidget simulate --port 9000")
    sim.add_argument("--port", type=int, default=8765, help=tr("listen on this port (default 8765)"))
    sim.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                     help=tr("with demo accounts and moving counters"))

    auto = add_command(sub, "autostart", tr("start traywidget at login"), "traywidget autostart on",
                       "traywidget autostart status")
    auto.add_argument("action", choices=("on", "off", "status"), metavar="on|off|status",
                      help=tr("turn it on or off, or say whether it is on"))

    doctor = add_command(sub, "doctor", tr("check what this desktop offers (tray, notifications, keyring)"),
                         "traywidget doctor", "traywidget doctor --json")
    doctor.add_argument("--json", action="store_true", help=json_help)

    purge = add_command(sub, "purge", tr("before uninstalling: delete every key, start at login and the cache"),
                        "traywidget purge", "traywidget purge --yes --config")
    purge.add_argument("--yes", action="store_true", help=tr("really delete (without it, only list what would go)"))
    purge.add_argument("--config", action="store_true", help=tr("also delete the config file (the accounts)"))


def _add_gateway_command(sub: argparse._SubParsersAction) -> None:
    # A bare `gateway` runs the server: the action is optional, and the usage line says so.
    gateway = add_command(sub, "gateway", tr("run the local gateway your tools can use as their base URL"),
                          "traywidget gateway", "traywidget gateway --port 8787",
                          'eval "$(traywidget gateway env work)"', "traywidget gateway token --rotate",
                          usage="%(prog)s [-h] [--port PORT] [--json] [token|env ...]")
    gateway.add_argument("--port", type=int, help=tr("listen on this port (default: gateway_port in the config, 8787)"))
    gateway.add_argument("--json", action="store_true", help=tr("print changes as JSON lines"))
    actions = gateway.add_subparsers(dest="gateway_command", metavar="token|env", title=tr("actions (optional)"),
                                     description=tr("without an action the gateway runs until Ctrl+C"))
    token = add_command(actions, "token", tr("print the gateway token your tools send (made on first use)"),
                        "traywidget gateway token", "traywidget gateway token --rotate")
    token.add_argument("--rotate", action="store_true", help=tr("replace it; tools holding the old one are refused"))
    env = add_command(actions, "env", tr("print the shell lines that point a tool at an account through the gateway"),
                      'eval "$(traywidget gateway env work)"')
    env.add_argument("account_id", metavar="ACCOUNT_ID",
                     help=tr("the account your tool should use (see `traywidget accounts list`)"))


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from traywidget.cli.output import EXIT_PIPE_CLOSED, GuardedStream
    from traywidget.model import TraywidgetError, UsageError

    module, function = HANDLERS[args.command]
    out, err = GuardedStream(out), GuardedStream(err)
    try:
        full = " ".join(filter(None, (args.command, getattr(args, "gateway_command", None))))
        if args.demo and full not in (*DEMO_COMMANDS, "simulate"):
            raise UsageError(tr("--demo works with the tray (`traywidget --demo`) and with {commands}, "
                                "not with {command}").format(commands=", ".join(DEMO_COMMANDS), command=args.command))
        handler = getattr(importlib.import_module(f"traywidget.cli.{module}"), function)
        code = handler(args, out, err)
    except TraywidgetError as exc:
        print(error_line(str(exc)), file=err)
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
