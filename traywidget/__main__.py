"""Entry point: `traywidget [--demo]` starts the tray; `traywidget COMMAND` runs the CLI.

Argument parsing and dispatch only. Qt is imported only when the tray starts,
so every CLI command runs without a display.
"""

from __future__ import annotations

import argparse
import sys

from traywidget import __version__


def build_parser() -> argparse.ArgumentParser:
    from traywidget.cli import add_cli_commands

    parser = argparse.ArgumentParser(
        prog="traywidget",
        description="Requests and credits left on your LLM API routers, in the system tray. "
        "Without a command it starts the tray.",
    )
    parser.add_argument("--version", action="version", version=f"traywidget {__version__}")
    parser.add_argument("--demo", action="store_true", help="run the tray on the built-in simulator (no keys needed)")
    parser.add_argument("--self-test", action="store_true", help="build the tray offscreen and exit (packaging check)")
    parser.add_argument("--debug", action="store_true", help="log debug details to standard error (never keys)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_cli_commands(sub)
    return parser


def speak_the_users_language() -> str:
    """The language chosen in Settings, else the environment's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)."""
    from traywidget.store.config import ConfigStore
    from traywidget.i18n import choose_language, system_languages, use_language

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
        from traywidget.ui.app import run_app

        return run_app(demo=args.demo, self_test=args.self_test)
    return run_command(args)


def gui_main() -> int:
    """The GUI script (no console window on Windows): always the tray."""
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
