"""The binary's trimmed ICU data library: Qt still does everything the app asks of ICU with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tools

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
from trim_icu import keep, trim  # noqa: E402 - the packaging scripts are found through sys.path, set just above

QT_CHECK = """
from PySide6.QtCore import QLocale, QTimeZone
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
assert QLocale("de_DE").toUpper("straße") == "STRASSE"
assert QLocale("tr_TR").toUpper("istanbul") == "İSTANBUL"
assert QLocale("de_DE").toString(1234567.5, "f", 1) == "1.234.567,5"
assert QLocale("zh_CN").toString(1234567.5, "f", 1) == "1,234,567.5"
assert QTimeZone(b"Europe/Berlin").isValid()
label = QLabel("Anfragen übrig — 剩余请求 — Solicitudes restantes")
assert not label.grab().toImage().isNull()
print("qt-with-trimmed-icu ok")
"""


@pytest.mark.parametrize(("item", "kept"), [
    ("root.res", True), ("pool.res", True), ("de.res", True), ("de_AT.res", True), ("zh_Hans_CN.res", True),
    ("en_GB.res", True), ("fr.res", False), ("ja_JP.res", False), ("zoneinfo64.res", True),
    ("plurals.res", True), ("cnvalias.icu", True), ("uts46.nrm", True), ("ibm-943_P15A-2003.cnv", False),
    ("coll/de.res", False), ("zone/de.res", False), ("brkitr/word.brk", False), ("curr/pool.res", False),
])
def test_what_is_kept(item, kept):
    assert keep(item) is kept


@pytest.mark.slow
def test_qt_works_with_the_trimmed_library(tmp_path):
    require_tools("icupkg", "genccode", "objcopy", "cc")
    import PySide6

    (library,) = (Path(PySide6.__file__).parent / "Qt" / "lib").glob("libicudata.so.*")
    trimmed = trim(library, tmp_path)
    assert trimmed is not None and trimmed.stat().st_size < library.stat().st_size / 5
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LD_PRELOAD": str(trimmed)}
    proc = subprocess.run([sys.executable, "-c", QT_CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "qt-with-trimmed-icu ok"
