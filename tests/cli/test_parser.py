"""Building the command line's parser (which the tray's start-up does too) loads no command's module."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_the_parser_loads_no_command_module():
    code = (
        "import sys, traywidget.__main__ as m; m.build_parser();"
        "loaded = sorted(n for n in sys.modules if n.startswith(('traywidget.cli.', 'traywidget.engine.', "
        "'traywidget.store.', 'traywidget.present.', 'traywidget.desktop.', 'httpx',"
        " 'keyring', 'asyncio', 'aiohttp')));"
        "print(' '.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == []


def test_error_lines_are_sentences_but_names_keep_their_case():
    from traywidget.cli import error_line

    assert error_line("no account with id 'x'") == "traywidget: No account with id 'x'"
    host_first = "openrouter.ai is the API host of OpenRouter"
    assert error_line(host_first) == f"traywidget: {host_first}"
    assert error_line("--demo works with the tray") == "traywidget: --demo works with the tray"
    assert error_line("A sentence already.") == "traywidget: A sentence already."
