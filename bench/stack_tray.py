"""The floor of the fixed stack: the bare tray (bench/bare_tray.py) plus what any app on this
project's fixed dependencies carries before its own code — a qasync event loop (asyncio, which loads
OpenSSL through `ssl`) before the icon, and an httpx.AsyncClient (its TLS context with the CA bundle)
right after it, where the app loads httpx too (for its first poll).

Prints "stack-tray: icon shown" once the icon is shown, then idles until SIGTERM. The start-up
benchmark reports it beside the bare tray, so a reader sees what the fixed dependencies alone cost.
"""

import asyncio
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bench.bare_tray import show_icon


def main() -> int:
    import qasync

    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    icon = show_icon()  # noqa: F841 - kept alive while the app runs
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(stop.set))
    ticker = QTimer()  # let Python see SIGTERM
    ticker.start(500)
    ticker.timeout.connect(lambda: None)
    QTimer.singleShot(0, lambda: print("stack-tray: icon shown", flush=True))

    async def run() -> None:
        await asyncio.sleep(0.05)  # as the app does: Qt docks and paints the icon before the heavy imports
        import httpx

        async with httpx.AsyncClient():
            await stop.wait()

    with loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
