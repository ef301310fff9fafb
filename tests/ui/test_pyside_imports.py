"""Modules imported after PySide6 are not read whole by its __feature__ import hook (and kept in linecache)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import linecache, sys
from PySide6.QtCore import QCoreApplication
if sys.argv[1] == "skip":
    from traywidget.ui.pyside_imports import skip_feature_scan
    skip_feature_scan()
before = set(linecache.cache)
import json.decoder, email.message, http.cookiejar, xml.dom.minidom
print(len([f for f in set(linecache.cache) - before if "xml" in f or "email" in f or "http" in f]))
"""


def kept_sources(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


@pytest.mark.slow
def test_without_the_skip_pyside_keeps_the_sources_and_with_it_none():
    assert kept_sources("plain") > 5  # what PySide6 does by itself: this test would notice if it stopped
    assert kept_sources("skip") == 0
