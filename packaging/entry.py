"""PyInstaller entry point: the packaged binary is `traywidget` (CLI and tray in one executable).

Kept outside the package so PyInstaller analyses `traywidget` as a normal package. One hidden mode:
with TRAYWIDGET_DOCTOR_PROBE=tray the binary runs `traywidget doctor`'s Qt tray probe (a frozen
binary cannot run `python -c`), see traywidget/desktop/doctor.py.
"""

import os
import sys


def _run() -> int:
    if os.environ.get("TRAYWIDGET_DOCTOR_PROBE") == "tray":
        from traywidget.desktop.doctor import probe_main

        return probe_main()
    from traywidget.__main__ import main

    return main()


if __name__ == "__main__":
    sys.exit(_run())
