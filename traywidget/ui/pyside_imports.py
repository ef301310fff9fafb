"""Imports after PySide6 without PySide6 reading every module's source.

shiboken replaces `__import__` so that a module may opt into PySide's
`__feature__` switches (snake_case, true_property): for every module imported
after PySide6 that it has not seen, it reads the module's whole source with
`inspect.getsource` to look for PySide uses, and the source stays in
`linecache`. For this app's start-up that is every module of httpx, asyncio,
keyring, the engine and the views: measured 11 MiB kept and 55 ms spent
(bench startup; `python -X importtime`). traywidget uses no `__feature__`, so
each module is marked "ignore this module" (the documented select id -1)
just before it loads, and shiboken skips the scan.

If a PySide6 release moves these internals, nothing is marked and imports
behave as before.
"""

from __future__ import annotations

import importlib
import importlib.abc
import logging
import sys

log = logging.getLogger(__name__)


class _IgnoredByFeatures(importlib.abc.MetaPathFinder):
    """Finds nothing: it only marks each module about to be imported as one that uses no feature."""

    def __init__(self, selections: dict) -> None:
        self._selections = selections

    def find_spec(self, fullname, path=None, target=None):
        self._selections.setdefault(fullname, -1)
        return None


def skip_feature_scan() -> None:
    """From now on, modules imported are not scanned by PySide6's `__feature__` import hook."""
    try:  # by name: PySide6's stubs do not list support.feature (the __feature__ import hook)
        feature = importlib.import_module("PySide6.support.feature")
    except ImportError:
        return
    selections = getattr(feature, "pyside_feature_dict", None)
    if not isinstance(selections, dict):
        log.debug("PySide6 has no pyside_feature_dict: its feature scan stays on")
        return
    if not any(isinstance(finder, _IgnoredByFeatures) for finder in sys.meta_path):
        sys.meta_path.insert(0, _IgnoredByFeatures(selections))
