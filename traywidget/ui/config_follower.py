"""Edits of the config file made elsewhere — `traywidget accounts add|remove`, another
Settings, an editor — reach the running app: accounts start and stop polling, a removed
account leaves the menu and the gateway at once instead of at the next start.

Watched with QFileSystemWatcher (inotify on Linux: no wake-ups while nothing changes): the
directory, for saves that replace the file (a new inode ends a watch on the file itself), and
the file, for editors that write it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from traywidget.core.config import Config, ConfigStore
from traywidget.model import ConfigError

log = logging.getLogger(__name__)

SETTLE_MS = 300  # a save touches the directory more than once (temp file, rename): read once it settled


class ConfigFollower(QObject):
    def __init__(
        self,
        store: ConfigStore,
        current: Callable[[], Config],
        apply: Callable[[Config], None],
        report: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._current = current
        self._apply = apply
        self._report = report
        self._stamp = store.stamp()
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._reload)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self._settle.start())
        self._watcher.fileChanged.connect(lambda _path: self._settle.start())
        try:
            store.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # nothing to watch: edits made elsewhere then wait for a restart
            log.warning("Not following edits of %s: %s", store.directory, exc.strerror or exc)
            return
        if not self._watcher.addPath(str(store.directory)):
            log.warning("Not following edits of %s: the system refused to watch it", store.directory)
        self._watch_file()

    def _watch_file(self) -> None:
        if self._store.path.exists() and str(self._store.path) not in self._watcher.files():
            self._watcher.addPath(str(self._store.path))

    def _reload(self) -> None:
        self._watch_file()
        stamp = self._store.stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            config = self._store.load()
        except ConfigError as exc:
            self._report(str(exc))
            return
        for warning in config.warnings:
            self._report(warning)
        if config.set_aside is not None:
            return  # unreadable (and kept aside): the app runs on with the accounts it has
        current = self._current()
        if (config.accounts, config.settings) == (current.accounts, current.settings):
            return  # our own save (Settings, the account editor): already applied
        log.info("The config file changed: %d accounts now", len(config.accounts))
        self._apply(config)
