"""The translation tests: the catalogs as shipped, and a pseudo-language made from the source at test time.

The pseudo-language says every msgid with its letters swapped for look-alikes
(ȦƁƇ…) inside ⟦ ⟧, its placeholders, `commands` and URLs kept. A view shown in
it has no plain ASCII letter left, except in the data the test itself put
there (labels, numbers, provider names, provider messages): any other is a
string that does not go through traywidget.i18n.
"""

from __future__ import annotations

import gettext
import importlib.util
import io
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import pytest

from traywidget.i18n import ENGLISH, use_catalog, use_language

ROOT = Path(__file__).resolve().parents[2]


def load_tool():
    """packaging/i18n.py (loaded by path: `packaging` is also the name of a PyPI package)."""
    name = "traywidget_i18n_tool"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / "i18n.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]  # a source file always has a loader
    return sys.modules[name]


tool = load_tool()

PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MARKED = "ȧƀƈḓḗƒɠħīĵķŀḿƞǿƥɋřşŧŭṽẇẋẏẑȦƁƇḒḖƑƓĦĪĴĶĿḾȠǾƤɊŘŞŦŬṼẆẊẎẐ"
SWAP = str.maketrans(PLAIN, MARKED)
# Kept as they are in the pseudo-language: placeholders, `commands`, URLs.
KEPT = re.compile(r"(\{[^{}]*\}|`[^`]*`|https?://[^\s)]+)")


def pseudo(msgid: str) -> str:
    return "⟦" + "".join(part if KEPT.fullmatch(part) else part.translate(SWAP) for part in KEPT.split(msgid)) + "⟧"


def pseudo_translations() -> gettext.GNUTranslations:
    entries, problems = tool.extract()
    assert not problems, "\n".join(map(str, problems))
    for entry in entries:
        entry.msgstr = [pseudo(entry.msgid)] if entry.plural is None else [pseudo(entry.msgid), pseudo(entry.plural)]
    header = tool.po_header("en")
    return gettext.GNUTranslations(io.BytesIO(tool.compile_mo(header, entries)))


@pytest.fixture(autouse=True)
def english_after():
    """Every test leaves the process speaking English, whatever it switched to."""
    yield
    use_language(ENGLISH)


@pytest.fixture
def pseudo_language():
    use_catalog(pseudo_translations(), ENGLISH)


# Words that are right in any language: names of the product and the providers (as the views take
# them from the provider registry), the language names in Settings, the command in the welcome.
ALWAYS_ALLOWED = ("traywidget --demo", "Traywidget", "traywidget", "routing.run", "OpenRouter", "Routeway",
                  "LiteLLM", "DeepSeek", "Moonshot (Kimi)", "CN¥", "HK$", "JP¥", "English", "Deutsch", "Español")
# `commands` (also one cut short with "…"), URLs.
_TECHNICAL = re.compile(r"`[^`\n]*`?|https?://\S+")
_WORD = re.compile(r"[A-Za-z]+")


def unmarked(text: str, data: Iterable[str] = ()) -> list[str]:
    """The words of `text` that are neither translated (pseudo-language) nor data the test put there."""
    text = _TECHNICAL.sub(" ", text)
    for token in sorted({*data, *ALWAYS_ALLOWED}, key=len, reverse=True):
        if token:
            text = text.replace(token, " ")
    return _WORD.findall(text)


def assert_all_marked(texts: Iterable[tuple[str, str]], data: Iterable[str] = ()) -> None:
    """`texts` as (where, text): fail with every place that shows a word not through traywidget.i18n."""
    data = list(data)
    found = [(where, text, words) for where, text in texts if (words := unmarked(text, data))]
    assert not found, "untranslatable text:\n" + "\n".join(
        f"  {where}: {text!r} -> {words}" for where, text, words in found)
