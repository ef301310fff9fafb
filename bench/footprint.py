"""Where the app's start-up time and memory go, step by step in one process.

`python -m bench.footprint` (offscreen Qt) imports what the app loads, in the app's order, and prints
for each step the time it took and how much the process's resident memory grew (VmRSS). The first
three steps are the bare tray's and the fixed stack's (QApplication, asyncio for qasync, an httpx
client); the rest are the app's own modules and the keyring. BENCHMARKS.md's notes quote it to say
what the start-up and memory ratios are made of. Under Xvfb every process also maps the X11 client
libraries and fonts (about 11 MiB more for the bare tray and the app alike), which offscreen skips.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from collections.abc import Callable


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) / 1024  # type: ignore[union-attr]  # every Linux process status has VmRSS


def _steps() -> list[tuple[str, Callable[[], object]]]:
    kept: list[object] = []  # what a step creates stays alive, as it does in the app

    def qt() -> None:
        import traywidget.ui.pyside_imports  # noqa: F401, I001 - first: the app's PySide6 import settings
        from PySide6.QtWidgets import QApplication

        kept.append(QApplication([sys.argv[0]]))

    def loop() -> None:
        import qasync

        kept.append(qasync.QEventLoop(kept[0]))

    def http_client() -> None:
        import httpx

        kept.append(httpx.AsyncClient())

    def keyring_backend() -> None:
        import keyring
        from keyring.backends import SecretService

        kept.append((keyring, SecretService))

    return [
        ("PySide6 QtWidgets + QApplication (the bare tray)", qt),
        ("asyncio (loads ssl and OpenSSL)", _imports("asyncio")),
        ("qasync + its event loop", loop),
        ("httpx + an AsyncClient (TLS context, CA bundle)", http_client),
        ("traywidget.model + i18n", _imports("traywidget.model", "traywidget.i18n")),
        ("store.config + store.cache (read before the icon)",
         _imports("traywidget.store.config", "traywidget.store.cache")),
        ("ui.tray + ui.badge (the icon)", _imports("traywidget.ui.tray")),
        ("ui.controller (panel, settings, notifications)", _imports("traywidget.ui.controller")),
        ("engine, history (sqlite3), recorder", _imports("traywidget.engine.engine", "traywidget.engine.loop_thread",
                                                         "traywidget.store.history", "traywidget.store.recorder")),
        ("keyring + its Secret Service backend (SecretStorage, cryptography, jeepney)", keyring_backend),
        ("gateway service (aiohttp only once the gateway listens)", _imports("traywidget.gateway.service")),
        ("traywidget.ui.app", _imports("traywidget.ui.app")),
    ]


def _imports(*modules: str) -> Callable[[], None]:
    def step() -> None:
        for module in modules:
            importlib.import_module(module)

    return step


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    before = _rss_mib()
    print(f"{'ms':>7} {'+MiB':>6} {'MiB':>6}  step (python: {before:.1f} MiB)")
    for name, step in _steps():
        t0 = time.perf_counter()
        step()
        elapsed = (time.perf_counter() - t0) * 1000
        now = _rss_mib()
        print(f"{elapsed:7.1f} {now - before:6.1f} {now:6.1f}  {name}")
        before = now
    sys.stdout.flush()
    os._exit(0)  # skip tearing the Qt objects down out of order: nothing to measure there


if __name__ == "__main__":
    sys.exit(main())
