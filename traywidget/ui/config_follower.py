"""Edits of the config file made elsewhere — `traywidget accounts add|remove`, another
Settings, an editor — reach the running app: accounts start and stop polling, a removed
account leaves the menu and the gateway at once instead of at the next start. Keys saved or
deleted by `traywidget keys …` are noticed the same way (the key store's stamp in the same
directory): the accounts are polled again at once with the keys as they are now.

What an edit means is store.config.ConfigWatch's rule (shared with the headless gateway); this
only says when to ask it. QFileSystemWatcher (inotify on Linux: no wake-ups while nothing
changes) watches the directory, for saves that replace the file (a new inode ends a watch on
the file itself), and the file, for editors that write it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer

from traywidget.store.config import Config, ConfigStore, ConfigWatch

log = logging.getLogger(__name__)

SETTLE_MS = 300  # a save touches the directory more than once (temp file, rename): read once it settled


class ConfigFollower(QObject):
    def __init__(
        self,
        store: ConfigStore,
        current: Callable[[], Config],
        apply: Callable[[Config], None],
        report: Callable[[str], None],
        keys_changed: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._path = str(store.path)
        self._watch = ConfigWatch(store)
        self._current = current
        self._apply = apply
        self._report = report
        self._keys_changed = keys_changed
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
        # No file yet (no account ever saved): the directory's watch tells when one appears.
        if self._path not in self._watcher.files() and Path(self._path).exists():
            self._watcher.addPath(self._path)

    def _reload(self) -> None:
        self._watch_file()
        edit = self._watch.check()
        if edit is None:
            return
        for warning in edit.warnings:
            self._report(warning)
        if edit.keys_changed and self._keys_changed is not None:
            log.info("Keys were saved or deleted elsewhere: reading them again")
            self._keys_changed()
        config, current = edit.config, self._current()
        if config is None or (config.accounts, config.settings) == (current.accounts, current.settings):
            return  # unreadable (the app runs on with what it has), or our own save, already applied
        log.info("The config file changed: %d accounts now", len(config.accounts))
        self._apply(config)
