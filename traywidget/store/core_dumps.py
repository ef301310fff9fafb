"""No core dumps of a traywidget process: its memory holds the user's API keys.

A crash (or `kill -SEGV`, or `gcore` by another process of the user) would otherwise write the
whole address space — every key read from the keyring, the gateway token — to a core file or
systemd-coredump's journal, where it outlives the process. Called once, first thing, by every
entry point (__main__.main: the tray, the CLI, the headless gateway).

Linux: prctl(PR_SET_DUMPABLE, 0) stops core files (and ptrace attachment by other processes
of the same user, and reading /proc/PID/mem or environ). Every POSIX system: the core size
limit set to 0, soft and hard, so a child cannot raise it again either.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4  # <linux/prctl.h>


def forbid_core_dumps() -> None:
    """Turn core dumps off for this process; a failure is logged, never fatal."""
    if sys.platform.startswith("linux"):
        try:
            # The running program's own symbols, libc's among them: find_library would run ldconfig.
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
                log.warning("Could not turn core dumps off (prctl errno %d)", ctypes.get_errno())
        except OSError as exc:
            log.warning("Could not turn core dumps off (%s)", exc)
    try:
        import resource
    except ImportError:  # Windows: no core files; its error reports are the system's to configure
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:
        log.warning("Could not set the core size limit to 0 (%s)", exc)
