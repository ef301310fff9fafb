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
import logging
import sys
from collections.abc import Callable
from typing import TextIO

from traywidget.i18n import tr

# The commands that can run on the built-in simulator instead of the user's accounts.
DEMO_COMMANDS = ("status", "watch", "kill")
# What `watch --format` prints: one line per account change, one JSON object per account change,
# Waybar's custom-module JSON, or one plain bar line.
WATCH_FORMATS = ("text", "json", "waybar", "line")
Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


# Each command's module is imported only when it runs, so building the parser (which the tray's
# start-up does too) loads none of them; plain imports, so go-to-definition and PyInstaller see them.
def _accounts(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.accounts import accounts_command

    return accounts_command(args, out, err)


def _keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.accounts import keys_command

    return keys_command(args, out, err)


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.polling import status_command

    return status_command(args, out, err)


def _watch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.polling import watch_command

    return watch_command(args, out, err)


def _kill(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.polling import kill_command

    return kill_command(args, out, err)


def _resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.polling import resume_command

    return resume_command(args, out, err)


def _gateway(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.gateway import gateway_command

    return gateway_command(args, out, err)


def _hooks(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.hooks import hooks_command

    return hooks_command(args, out, err)


def _simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.system import simulate_command

    return simulate_command(args, out, err)


def _autostart(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.system import autostart_command

    return autostart_command(args, out, err)


def _doctor(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.system import doctor_command

    return doctor_command(args, out, err)


def _purge(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from traywidget.cli.system import purge_command

    return purge_command(args, out, err)


def add_cli_commands(sub: argparse._SubParsersAction) -> None:
    """Register the CLI's subcommands on the top-level parser (see __main__)."""
    from traywidget.providers import PROVIDER_IDS

    json_help = tr("print JSON for scripts (English, stable)")

    accounts = sub.add_parser("accounts", help=tr("add, list or remove accounts"))
    accounts.set_defaults(handler=_accounts)
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    add = acc_sub.add_parser("add", help=tr("add an account"))
    # Provider ids are case-insensitive: `accounts add OpenRouter` is openrouter.
    add.add_argument("provider", type=str.lower, choices=PROVIDER_IDS, metavar="PROVIDER",
                     help=tr("one of: {providers}").format(providers=", ".join(PROVIDER_IDS)))
    add.add_argument("--id", required=True, dest="account_id", metavar="ACCOUNT_ID",
                     help=tr("a short name of your choice, used in commands and in the gateway's addresses"))
    add.add_argument("--label", help=tr("the name shown in the menu and the panel (default: the id)"))
    add.add_argument("--base-url", help=tr("default: the provider's public API with /v1"))
    add.add_argument("--user-agent", help=tr("the User-Agent polls send (default: traywidget's own); for a "
                                             "provider whose firewall blocks it"))
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
    keys.set_defaults(handler=_keys)
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    kset = keys_sub.add_parser("set", help=tr("read a key from standard input (a hidden prompt on a terminal)"))
    kset.add_argument("account_id", metavar="ACCOUNT_ID")
    kset.add_argument("--management", action="store_true", help=tr("the optional management key"))
    kdel = keys_sub.add_parser("delete", help=tr("delete a key"))
    kdel.add_argument("account_id", metavar="ACCOUNT_ID")
    kdel.add_argument("--management", action="store_true", help=tr("the management key instead of the API key"))

    for name, text, handler in (
        ("status", tr("poll every account once and print the result"), _status),
        ("watch", tr("poll continuously; print a line on each change"), _watch),
        ("kill", tr("stop all active streams on every account that supports it"), _kill),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.set_defaults(handler=handler)
        if name == "watch":
            form = cmd.add_mutually_exclusive_group()
            form.add_argument("--format", choices=WATCH_FORMATS, default="text",
                              help=tr("text (default), json (= --json), waybar (Waybar's custom-module JSON), "
                                      "line (one plain line for i3blocks, polybar, tmux)"))
            form.add_argument("--json", action="store_true", help=tr("one JSON object per change (= --format json)"))
        else:
            cmd.add_argument("--json", action="store_true", help=json_help)
        if name == "status":
            cmd.add_argument("--compact", action="store_true",
                             help=tr("the JSON on one line (implies --json; for a status bar)"))
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
    resume.set_defaults(handler=_resume)
    resume.add_argument("--account", dest="account_id", metavar="ACCOUNT_ID",
                        help=tr("only this account (default: every account)"))
    resume.add_argument("--json", action="store_true", help=json_help)

    _add_gateway_command(sub)
    _add_hooks_command(sub, json_help)

    sim = sub.add_parser("simulate", help=tr("serve the loopback simulator of all three providers"))
    sim.set_defaults(handler=_simulate)
    sim.add_argument("--port", type=int, default=8765, help=tr("listen on this port (default 8765)"))
    sim.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                     help=tr("with demo accounts and moving counters"))

    auto = sub.add_parser("autostart", help=tr("start traywidget at login"))
    auto.set_defaults(handler=_autostart)
    auto.add_argument("action", choices=("on", "off", "status"), metavar="on|off|status",
                      help=tr("turn it on or off, or say whether it is on"))

    doctor = sub.add_parser("doctor", help=tr("check what this desktop offers (tray, notifications, keyring)"))
    doctor.set_defaults(handler=_doctor)
    doctor.add_argument("--json", action="store_true", help=json_help)

    purge = sub.add_parser("purge", help=tr("before uninstalling: delete every key, start at login and the cache"))
    purge.set_defaults(handler=_purge)
    purge.add_argument("--yes", action="store_true", help=tr("really delete (without it, only list what would go)"))
    purge.add_argument("--config", action="store_true", help=tr("also delete the config file (the accounts)"))


def _add_gateway_command(sub: argparse._SubParsersAction) -> None:
    gateway = sub.add_parser("gateway", help=tr("run the local gateway your tools can use as their base URL"))
    gateway.set_defaults(handler=_gateway)
    gateway.add_argument("--port", type=int, help=tr("listen on this port (default: gateway_port in the config, 8787)"))
    gateway.add_argument("--json", action="store_true", help=tr("print changes as JSON lines"))
    gateway.add_argument("--metrics", action="store_true",
                         help=tr("serve Prometheus metrics at /metrics (token required; also metrics_enabled in "
                                 "the config)"))
    actions = gateway.add_subparsers(dest="gateway_command", metavar="ACTION")
    token = actions.add_parser("token", help=tr("print the gateway token your tools send (made on first use)"))
    token.add_argument("--rotate", action="store_true", help=tr("replace it; tools holding the old one are refused"))
    env = actions.add_parser("env", help=tr("print the shell lines that point a tool at an account through "
                                           "the gateway"))
    env.add_argument("account_id", metavar="ACCOUNT_ID")


def _add_hooks_command(sub: argparse._SubParsersAction, json_help: str) -> None:
    hooks = sub.add_parser("hooks", help=tr("send every alert to a command or a URL as JSON"))
    hooks.set_defaults(handler=_hooks)
    actions = hooks.add_subparsers(dest="hooks_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help=tr("add a hook"))
    target = add.add_mutually_exclusive_group(required=True)
    # dest: `command` and `url` would shadow the top-level command's name.
    target.add_argument("--command", metavar="CMD", dest="hook_command",
                        help=tr("run CMD (without a shell) with the event as JSON on its standard input"))
    target.add_argument("--url", metavar="URL", dest="hook_url",
                        help=tr("POST the event as JSON to URL (https, or http to a loopback address)"))
    add.add_argument("--bearer-from-stdin", action="store_true",
                     help=tr("read a bearer credential for --url from standard input (kept in the keyring)"))
    lst = actions.add_parser("list", help=tr("list the hooks, numbered"))
    lst.add_argument("--json", action="store_true", help=json_help)
    rm = actions.add_parser("remove", help=tr("remove a hook (and its keyring entries)"))
    rm.add_argument("number", type=int, metavar="N", help=tr("the hook's number in `traywidget hooks list`"))
    actions.add_parser("test", help=tr("send a sample event to every hook now and say how each went"))


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from traywidget.cli.output import EXIT_PIPE_CLOSED, GuardedStream
    from traywidget.model import TraywidgetError, UsageError

    handler: Handler = args.handler
    out, err = GuardedStream(out), GuardedStream(err)
    try:
        if args.demo and args.command not in (*DEMO_COMMANDS, "simulate"):
            raise UsageError(tr("--demo works with the tray (`traywidget --demo`) and with {commands}, "
                                "not with {command}").format(commands=", ".join(DEMO_COMMANDS), command=args.command))
        code = handler(args, out, err)
    except TraywidgetError as exc:
        print(tr("traywidget: {error}").format(error=exc), file=err)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    out.flush()
    err.flush()
    return EXIT_PIPE_CLOSED if out.gone else code


class _TerminalSafeFormatter(logging.Formatter):
    """Log lines go to the terminal too, and carry labels and provider text: the same
    neutralising as everything else the command line prints (cli.output.terminal_safe)."""

    def format(self, record: logging.LogRecord) -> str:
        from traywidget.cli.output import terminal_safe

        return terminal_safe(super().format(record))


def configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])
    # httpcore's debug trace is about sockets, not our requests; keep it out of --debug.
    logging.getLogger("httpcore").setLevel(logging.INFO)
