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
from typing import TYPE_CHECKING, Any, TextIO

from traywidget.i18n import tr

if TYPE_CHECKING:
    from traywidget.cli.output import GuardedStream

# The commands that can run on the built-in simulator instead of the user's accounts (and reach the running
# tray demo when there is one); `gateway` only for its token and env lines.
DEMO_COMMANDS = ("status", "watch", "kill", "resume", "gateway env", "gateway token")
# What `watch --format` prints: one line per account change, one JSON object per account change,
# Waybar's custom-module JSON, one plain bar line, or the badge's figure alone ("130/h").
WATCH_FORMATS = ("text", "json", "waybar", "line", "short")
Handler = Callable[[argparse.Namespace, "GuardedStream", "GuardedStream"], int]


# Each command's module is imported only when it runs, so building the parser (which the tray's
# start-up does too) loads none of them; plain imports, so go-to-definition and PyInstaller see them.
def _accounts(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.accounts import accounts_command

    return accounts_command(args, out, err)


def _keys(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.accounts import keys_command

    return keys_command(args, out, err)


def _status(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.polling import status_command

    return status_command(args, out, err)


def _watch(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.polling import watch_command

    return watch_command(args, out, err)


def _kill(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.polling import kill_command

    return kill_command(args, out, err)


def _resume(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.polling import resume_command

    return resume_command(args, out, err)


def _gateway(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.gateway import gateway_command

    return gateway_command(args, out, err)


def _hooks(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.hooks import hooks_command

    return hooks_command(args, out, err)


def _simulate(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.system import simulate_command

    return simulate_command(args, out, err)


def _autostart(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.system import autostart_command

    return autostart_command(args, out, err)


def _doctor(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.system import doctor_command

    return doctor_command(args, out, err)


def _purge(args: argparse.Namespace, out: GuardedStream, err: GuardedStream) -> int:
    from traywidget.cli.system import purge_command

    return purge_command(args, out, err)


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
    accounts.set_defaults(handler=_accounts)
    acc_sub = accounts.add_subparsers(dest="accounts_command", required=True, metavar="add|list|set|remove")
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
    add.add_argument("--user-agent", help=tr("the User-Agent polls send (default: traywidget's own); for a "
                                             "provider whose firewall blocks it"))
    add.add_argument("--fast-interval", type=float, metavar="SECONDS", help=tr("this account's fast cadence"))
    add.add_argument("--full-interval", type=float, metavar="SECONDS", help=tr("this account's full cadence"))
    add.add_argument("--force", action="store_true",
                     help=tr("keep a base URL that belongs to another provider (your key would be sent there)"))
    lst = add_command(acc_sub, "list", tr("list accounts"), "traywidget accounts list",
                      "traywidget accounts list --json")
    lst.add_argument("--json", action="store_true", help=json_help)
    rails = add_command(acc_sub, "set", tr("set an account's guard rails on its traffic through the gateway"),
                        "traywidget accounts set work --reserve 50 --reserve-window hour",
                        "traywidget accounts set work --daily-cap 5", "traywidget accounts set work --reserve off")
    rails.add_argument("account_id", metavar="ACCOUNT_ID")
    rails.add_argument("--reserve", metavar="N",
                       help=tr("hold its gateway traffic when fewer than N requests are left in the window "
                               "(\"off\" removes it)"))
    rails.add_argument("--reserve-window", choices=("minute", "hour", "day"),
                       help=tr("the window the reserve watches (default hour)"))
    rails.add_argument("--daily-cap", metavar="AMOUNT",
                       help=tr("hold its gateway traffic once today's reported cost reaches AMOUNT, in the "
                               "provider's currency (\"off\" removes it)"))
    rm = add_command(acc_sub, "remove", tr("remove an account and its keys"), "traywidget accounts remove work")
    rm.add_argument("account_id", metavar="ACCOUNT_ID", help=tr("the account's id (see `traywidget accounts list`)"))

    keys = add_command(sub, "keys", tr("store or delete an account's key in the OS keyring"),
                       "traywidget keys set work", "traywidget keys delete work --management")
    keys.set_defaults(handler=_keys)
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

    for name, text, handler, lines in (
        ("status", tr("poll every account once and print the result"), _status,
         ("traywidget status", "traywidget status --json", "traywidget --demo status")),
        ("watch", tr("poll continuously; print a line on each change"), _watch,
         ("traywidget watch", "traywidget watch --format waybar", "traywidget watch --format short")),
        ("kill", tr("stop all active streams on every account that supports it"), _kill,
         ("traywidget kill", "traywidget --demo kill")),
    ):
        cmd = add_command(sub, name, text, *lines)
        cmd.set_defaults(handler=handler)
        if name == "watch":
            form = cmd.add_mutually_exclusive_group()
            form.add_argument("--format", choices=WATCH_FORMATS, default="text",
                              help=tr("text (default), json (= --json), waybar (Waybar's custom-module JSON), "
                                      "line (one plain line for i3blocks, polybar, tmux), "
                                      "short (the badge's figure, e.g. 130/h)"))
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

    resume = add_command(sub, "resume", tr("let held accounts' requests through the gateway again"),
                         "traywidget resume", "traywidget resume --account work")
    resume.set_defaults(handler=_resume)
    resume.add_argument("--account", dest="account_id", metavar="ACCOUNT_ID",
                        help=tr("only this account (default: every account)"))
    resume.add_argument("--json", action="store_true", help=json_help)
    resume.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                        help=tr("end the holds of the running tray demo's gateway"))

    _add_gateway_command(sub)
    _add_hooks_command(sub, json_help)

    sim = add_command(sub, "simulate", tr("serve the loopback simulator of all three providers"),
                      "traywidget simulate --demo", "traywidget simulate --port 9000")
    sim.set_defaults(handler=_simulate)
    sim.add_argument("--port", type=int, default=8765, help=tr("listen on this port (default 8765)"))
    sim.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                     help=tr("with demo accounts and moving counters"))

    auto = add_command(sub, "autostart", tr("start traywidget at login"), "traywidget autostart on",
                       "traywidget autostart status")
    auto.set_defaults(handler=_autostart)
    auto.add_argument("action", choices=("on", "off", "status"), metavar="on|off|status",
                      help=tr("turn it on or off, or say whether it is on"))

    doctor = add_command(sub, "doctor", tr("check what this desktop offers (tray, notifications, keyring)"),
                         "traywidget doctor", "traywidget doctor --json")
    doctor.set_defaults(handler=_doctor)
    doctor.add_argument("--json", action="store_true", help=json_help)

    purge = add_command(sub, "purge", tr("before uninstalling: delete every key, start at login and the cache"),
                        "traywidget purge", "traywidget purge --yes --config")
    purge.set_defaults(handler=_purge)
    purge.add_argument("--yes", action="store_true", help=tr("really delete (without it, only list what would go)"))
    purge.add_argument("--config", action="store_true", help=tr("also delete the config file (the accounts)"))


def _add_gateway_command(sub: argparse._SubParsersAction) -> None:
    # A bare `gateway` runs the server: the action is optional, and the usage line says so.
    gateway = add_command(sub, "gateway", tr("run the local gateway your tools can use as their base URL"),
                          "traywidget gateway", "traywidget gateway --port 8787",
                          'eval "$(traywidget gateway env work)"', "traywidget gateway token --rotate",
                          usage="%(prog)s [-h] [--port PORT] [--json] [--metrics] [token|env ...]")
    gateway.set_defaults(handler=_gateway)
    gateway.add_argument("--port", type=int, help=tr("listen on this port (default: gateway_port in the config, 8787)"))
    gateway.add_argument("--json", action="store_true", help=tr("print changes as JSON lines"))
    gateway.add_argument("--metrics", action="store_true",
                         help=tr("serve Prometheus metrics at /metrics (token required; also metrics_enabled in "
                                 "the config)"))
    actions = gateway.add_subparsers(dest="gateway_command", metavar="token|env", title=tr("actions (optional)"),
                                     description=tr("without an action the gateway runs until Ctrl+C"))
    token = add_command(actions, "token", tr("print the gateway token your tools send (made on first use)"),
                        "traywidget gateway token", "traywidget gateway token --rotate")
    token.add_argument("--rotate", action="store_true", help=tr("replace it; tools holding the old one are refused"))
    env = add_command(actions, "env", tr("print the shell lines that point a tool at an account through the gateway"),
                      'eval "$(traywidget gateway env work)"')
    env.add_argument("account_id", metavar="ACCOUNT_ID",
                     help=tr("the account your tool should use (see `traywidget accounts list`)"))


def _add_hooks_command(sub: argparse._SubParsersAction, json_help: str) -> None:
    hooks = add_command(sub, "hooks", tr("send every alert to a command or a URL as JSON"),
                        "traywidget hooks add --command 'notify-send traywidget'", "traywidget hooks list")
    hooks.set_defaults(handler=_hooks)
    actions = hooks.add_subparsers(dest="hooks_command", required=True, metavar="add|list|remove|test")
    add = add_command(actions, "add", tr("add a hook"), "traywidget hooks add --command '/usr/local/bin/on-alert'",
                      "traywidget hooks add --url https://hooks.slack.com/services/… --bearer-from-stdin")
    target = add.add_mutually_exclusive_group(required=True)
    # dest: `command` and `url` would shadow the top-level command's name.
    target.add_argument("--command", metavar="CMD", dest="hook_command",
                        help=tr("run CMD (without a shell) with the event as JSON on its standard input"))
    target.add_argument("--url", metavar="URL", dest="hook_url",
                        help=tr("POST the event as JSON to URL (https, or http to a loopback address)"))
    add.add_argument("--bearer-from-stdin", action="store_true",
                     help=tr("read a bearer credential for --url from standard input (kept in the keyring)"))
    lst = add_command(actions, "list", tr("list the hooks, numbered"), "traywidget hooks list --json")
    lst.add_argument("--json", action="store_true", help=json_help)
    rm = add_command(actions, "remove", tr("remove a hook (and its keyring entries)"), "traywidget hooks remove 2")
    rm.add_argument("number", type=int, metavar="N", help=tr("the hook's number in `traywidget hooks list`"))
    add_command(actions, "test", tr("send a sample event to every hook now and say how each went"),
                "traywidget hooks test")


def run_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from traywidget.cli.output import EXIT_PIPE_CLOSED, GuardedStream
    from traywidget.model import TraywidgetError, UsageError

    handler: Handler = args.handler
    guarded_out, guarded_err = GuardedStream(out), GuardedStream(err)
    try:
        full = " ".join(filter(None, (args.command, getattr(args, "gateway_command", None))))
        if args.demo and full not in (*DEMO_COMMANDS, "simulate"):
            raise UsageError(tr("--demo works with the tray (`traywidget --demo`) and with {commands}, "
                                "not with {command}").format(commands=", ".join(DEMO_COMMANDS), command=args.command))
        code = handler(args, guarded_out, guarded_err)
    except TraywidgetError as exc:
        print(error_line(str(exc)), file=guarded_err)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    guarded_out.flush()
    guarded_err.flush()
    return EXIT_PIPE_CLOSED if guarded_out.gone else code


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
