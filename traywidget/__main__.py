"""Entry point: `traywidget [--demo]` starts the tray; `traywidget COMMAND` runs the CLI.

Argument parsing and dispatch only. Qt is imported only when the tray starts,
so every CLI command runs without a display.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from traywidget import __version__


class Parser(argparse.ArgumentParser):
    """argparse, with errors said the way every other traywidget error is (cli.error_line)."""

    def error(self, message: str) -> NoReturn:
        from traywidget.cli import error_line
        from traywidget.i18n import tr

        self.print_usage(sys.stderr)
        hint = tr("See `{prog} --help`.").format(prog=self.prog)
        self.exit(2, f"{error_line(message)}\n{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    from traywidget.cli import HelpFormatter, add_cli_commands, examples
    from traywidget.i18n import tr
    from traywidget.i18n.argparse_words import speak_argparse

    speak_argparse()  # before the parser is made: its headings are translated then
    parser = Parser(
        prog="traywidget",
        description=tr("Requests and credits left on your LLM API routers, in the system tray. "
                       "Without a command it starts the tray."),
        epilog=examples("traywidget --demo", "traywidget accounts add openrouter --id work",
                        "traywidget keys set work", "traywidget status", "traywidget watch --format short",
                        "traywidget COMMAND --help"),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"traywidget {__version__}",
                        help=tr("show program's version number and exit"))
    parser.add_argument("--demo", action="store_true",
                        help=tr("run the tray on the built-in simulator (no keys needed)"))
    parser.add_argument("--self-test", action="store_true",
                        help=tr("build the tray offscreen and exit (packaging check)"))
    parser.add_argument("--debug", action="store_true", help=tr("log debug details to standard error (never keys)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title=tr("commands"))
    add_cli_commands(sub)
    return parser


def speak_the_users_language() -> str:
    """The language chosen in Settings, else the environment's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)."""
    from traywidget.i18n import choose_language, system_languages, use_language
    from traywidget.store.config import ConfigStore

    return use_language(choose_language(ConfigStore().language(), system_languages()))


def main(argv: list[str] | None = None) -> int:
    from traywidget.store.core_dumps import forbid_core_dumps

    forbid_core_dumps()  # before any key is read: a core file would hold every one
    speak_the_users_language()
    args = build_parser().parse_args(argv)
    if getattr(args, "json", False):
        # Output for programs: every word of it in English, errors and warnings included.
        from traywidget.i18n import ENGLISH, use_language

        use_language(ENGLISH)
    from traywidget.cli import configure_logging, run_command

    configure_logging(args.debug)
    if args.command is None:
        if not args.self_test:
            # Qt would abort (rc 134) blaming a missing xcb library; say what `doctor` says instead.
            from traywidget.cli import error_line
            from traywidget.desktop.doctor import missing_display

            check = missing_display()
            if check is not None:
                print(error_line(check.sentence()), file=sys.stderr)
                return check.exit_code
        from traywidget.ui.app import run_app

        return run_app(demo=args.demo, self_test=args.self_test)
    return run_command(args)


def gui_main() -> int:
    """The GUI script (no console window on Windows): always the tray."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
