"""The whole command line speaks the user's language: argparse's own words (usage, options, errors), every
help text and description, and an example in every command's help."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from traywidget.__main__ import build_parser
from traywidget.i18n import ENGLISH, use_language

ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments", "show this help", "error:", "unrecognized",
                    "examples:", "invalid choice", "required:")


def every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_parser(sub, (*path, name))


def texts(parser: argparse.ArgumentParser) -> list[str]:
    """What a person reads about a parser: its description and every help text."""
    out = [parser.description or ""]
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            out.append(action.help)
        if isinstance(action, argparse._SubParsersAction):
            out += [choice.help for choice in action._choices_actions]
    return out


@pytest.fixture
def german():
    use_language("de")
    yield
    use_language(ENGLISH)


def test_every_help_text_is_translated(german):
    german_parsers = dict(every_parser(build_parser()))
    use_language(ENGLISH)
    english_parsers = dict(every_parser(build_parser()))
    assert german_parsers.keys() == english_parsers.keys() and len(english_parsers) == 25
    for path, english in english_parsers.items():
        german_texts, english_texts = texts(german_parsers[path]), texts(english)
        assert len(german_texts) == len(english_texts)
        for de, en in zip(german_texts, english_texts):
            assert de != en or not en, (path, en)


def test_every_command_shows_an_example_of_itself():
    use_language(ENGLISH)
    for path, parser in every_parser(build_parser()):
        lines = (parser.epilog or "").splitlines()
        assert lines[0] == "examples:", path
        assert all(line.startswith("  ") for line in lines[1:]) and len(lines) > 1, path
        # Each example runs the command it documents.
        assert any(" ".join(("traywidget", *path)) in line for line in lines[1:]), (path, lines)


def run(*args: str, language: str = "de") -> subprocess.CompletedProcess:
    env = {**os.environ, "LANGUAGE": language, "LANG": "de_DE.UTF-8"}
    return subprocess.run([sys.executable, "-m", "traywidget", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--help",), ("accounts", "add", "--help"), ("gateway", "--help"),
                                  ("keys", "set", "--help"), ("watch", "--help")])
def test_german_help_has_no_english_words(args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Aufruf: traywidget")
    assert "Optionen:" in r.stdout and "Beispiele:" in r.stdout
    lower = r.stdout.lower()
    assert not [word for word in ARGPARSE_ENGLISH if word in lower]


@pytest.mark.slow
@pytest.mark.parametrize("args,said", [
    (("--bogus",), "traywidget: Unbekannte Argumente: --bogus\nSiehe `traywidget --help`.\n"),
    (("accounts", "add", "nope", "--id", "x"),
     "traywidget: Argument PROVIDER: ungültige Wahl: 'nope' (möglich: 'routing.run', 'openrouter', 'routeway', "
     "'litellm', 'deepseek', 'moonshot', 'openai-compatible')\nSiehe `traywidget accounts add --help`.\n"),
    (("keys", "set"), "traywidget: Diese Argumente fehlen: ACCOUNT_ID\nSiehe `traywidget keys set --help`.\n"),
])
def test_a_bad_argument_is_told_in_german(args, said):
    r = run(*args)
    assert r.returncode == 2
    usage, _, rest = r.stderr.partition("\ntraywidget: ")
    assert usage.startswith("Aufruf: traywidget")
    assert "traywidget: " + rest == said


@pytest.mark.slow
def test_gateway_help_shows_its_action_as_optional():
    r = run("gateway", "--help", language="en")
    assert r.stdout.startswith("usage: traywidget gateway [-h] [--port PORT] [--json] [--metrics] [token|env ...]\n")
    assert "actions (optional):\n  without an action the gateway runs until Ctrl+C\n" in r.stdout


@pytest.mark.slow
def test_no_display_is_answered_like_doctor_not_by_a_qt_abort(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(LANGUAGE="en", TRAYWIDGET_CONFIG_DIR=str(tmp_path / "config"), HOME=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "traywidget"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == ("traywidget: No display (neither DISPLAY nor WAYLAND_DISPLAY is set). Run traywidget inside "
                        "a graphical session; the CLI (`traywidget status`) works without one.\n")
