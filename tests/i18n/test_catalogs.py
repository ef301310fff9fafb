"""The shipped catalogs are complete and fresh, and the tool that makes them (packaging/i18n.py) does its job."""

from __future__ import annotations

import gettext
import io
import shutil
from pathlib import Path

import pytest

from tests.i18n.conftest import ROOT, tool
from traywidget.i18n import LANGUAGES

SHIPPED = sorted(code for code in LANGUAGES if code != "en")


def test_every_language_in_settings_has_a_catalog():
    assert tool.languages() == SHIPPED == ["de", "es", "zh_CN"]


@pytest.mark.slow
def test_the_catalogs_are_complete_and_compiled():
    """Every msgid in the source is in each .po, translated in every plural form with the same
    placeholders, and each .mo is exactly what its .po compiles to (`packaging/i18n.py check`)."""
    problems = tool.check()
    assert problems == [], "\n".join(map(str, problems)) + "\nrun: python packaging/i18n.py extract update compile"


@pytest.mark.parametrize("language,forms", [("de", 2), ("es", 2), ("zh_CN", 1)])
def test_plural_forms(language, forms):
    header, entries = tool.parse_po(tool.po_path(language).read_text("utf-8"))
    assert tool.nplurals(header) == forms
    plurals = [entry for entry in entries if entry.plural is not None]
    assert plurals and all(len(entry.msgstr) == forms for entry in plurals)


@pytest.mark.parametrize("language,one,two", [
    ("de", "1 Stream läuft", "2 Streams laufen"),
    ("es", "1 stream en curso", "2 streams en curso"),
    ("zh_CN", "1 个流式请求进行中", "2 个流式请求进行中"),
])
def test_gettext_reads_the_shipped_mo(language, one, two):
    mo = tool.po_path(language).with_suffix(".mo")
    catalog = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    assert catalog.info()["language"] == language
    for n, expected in ((1, one), (2, two)):
        assert catalog.ngettext("{n} stream running", "{n} streams running", n).format(n=n) == expected


# ------------------------------------------------------------------------------ the tool
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_extract_finds_every_keyword_and_refuses_formatted_strings(tmp_path):
    source = tmp_path / "traywidget"
    write(source / "a.py", '''
from traywidget.i18n import Phrase, tr, tr_noop, trn, trn_noop
TITLE = tr_noop("Title")
PAIR = trn_noop("{n} cat", "{n} cats")
def f(n, name, exc):
    tr("Hello {name}").format(name=name)
    trn("{n} dog", "{n} dogs", n)
    Phrase("{host} is away", host=name)
    malformed("no data")
    tr(TITLE)            # a variable: marked where it is defined
    tr(f"Bad {name}")    # formatted before translating
    tr("Bad {x}".format(x=1))
    malformed(f"internal {exc!r}")  # an internal detail: left in English, not an error
''')
    entries, problems = tool.extract(source)
    assert [(e.msgid, e.plural) for e in entries] == [
        ("Title", None), ("{n} cat", "{n} cats"), ("Hello {name}", None), ("{n} dog", "{n} dogs"),
        ("{host} is away", None), ("no data", None)]
    assert [e.references for e in entries][0] == ["traywidget/a.py"]
    assert "python-brace-format" in entries[2].flags and "python-brace-format" not in entries[0].flags
    assert [str(p) for p in problems] == [
        "traywidget/a.py:11: tr() of a formatted string: translate the template, then .format() it",
        "traywidget/a.py:12: tr() of a formatted string: translate the template, then .format() it"]


def test_po_round_trip_and_mo_that_gettext_reads():
    entries = [
        tool.Entry("Plain", None, ["Schlicht"], ["traywidget/x.py"]),
        tool.Entry('Say "{what}"\nnow', None, ['Sag „{what}“\njetzt'], ["traywidget/x.py"], {"python-brace-format"}),
        tool.Entry("{n} file", "{n} files", ["{n} Datei", "{n} Dateien"], ["traywidget/y.py"]),
        tool.Entry("A long message " * 8, None, ["Eine lange Nachricht " * 8], ["traywidget/y.py"]),
    ]
    header = tool.po_header("de")
    text = tool.format_po(entries, header, "Test")
    parsed_header, parsed = tool.parse_po(text)
    assert parsed_header == header
    assert [(e.msgid, e.plural, e.msgstr, e.references) for e in parsed] == [
        (e.msgid, e.plural, e.msgstr, e.references) for e in entries]
    assert max(len(line) for line in text.splitlines()) <= 80
    catalog = gettext.GNUTranslations(io.BytesIO(tool.compile_mo(parsed_header, parsed)))
    assert catalog.gettext('Say "{what}"\nnow') == 'Sag „{what}“\njetzt'
    assert [catalog.ngettext("{n} file", "{n} files", n) for n in (1, 2)] == ["{n} Datei", "{n} Dateien"]
    assert catalog.gettext("Missing") == "Missing"


def test_problems_a_catalog_can_have():
    wanted = {("Hello {name}", None): None, ("{n} cat", "{n} cats"): None, ("Gone?", None): None,
              ("Half", None): None}
    catalog = [
        tool.Entry("Hello {name}", None, ["Hallo {nom}"]),       # a placeholder renamed
        tool.Entry("{n} cat", "{n} cats", ["{n} Katze", ""]),    # a plural form missing
        tool.Entry("Half", None, ["Halb"], flags={"fuzzy"}),      # unchecked
        tool.Entry("Old", None, ["Alt"]),                         # obsolete: harmless
    ]
    problems = [p.what for p in tool.catalog_problems(wanted, tool.po_header("de"), catalog, "de.po")]
    assert problems == [
        "placeholders of 'Hello {name}': ['{nom}'] instead of ['{name}']",
        "untranslated '{n} cat'",
        "missing 'Gone?': run `packaging/i18n.py update`",
        "fuzzy 'Half'",
    ]
    assert tool.obsolete(wanted, catalog) == ["Old"]


@pytest.mark.slow
def test_update_keeps_translations_and_adds_the_new(tmp_path, monkeypatch):
    """A copy of the project's catalogs, a new string in the source: `update` adds it untranslated and keeps
    every translation; `check` then names exactly that string."""
    source = tmp_path / "traywidget"
    shutil.copytree(ROOT / "traywidget", source, ignore=shutil.ignore_patterns("__pycache__"))
    write(source / "brand_new.py", 'from traywidget.i18n import tr\n\ntr("A brand-new sentence")\n')
    monkeypatch.setattr(tool, "SOURCE", source)
    monkeypatch.setattr(tool, "LOCALE", source / "locale")
    monkeypatch.setattr(tool, "TEMPLATE", source / "locale" / "traywidget.pot")
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    before = tool.parse_po(tool.po_path("de", source / "locale").read_text("utf-8"))[1]
    assert tool.main(["extract", "update"]) == 0
    after = tool.parse_po(tool.po_path("de", source / "locale").read_text("utf-8"))[1]
    assert {e.key: e.msgstr for e in after if e.msgid != "A brand-new sentence"} == {e.key: e.msgstr for e in before}
    assert [e.msgstr for e in after if e.msgid == "A brand-new sentence"] == [[""]]
    problems = [str(p) for p in tool.check(source, source / "locale")]
    # An untranslated entry is left out of the .mo, so the old .mo is still what its .po compiles to.
    assert problems == [f"traywidget/locale/{lang}/LC_MESSAGES/traywidget.po: untranslated 'A brand-new sentence'"
                        for lang in SHIPPED]
