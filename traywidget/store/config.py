"""Account configuration: one JSON file in the config directory.

The file holds ids, providers, labels, base URLs, cadence overrides and the
app settings — never a key. Writes are atomic, and every change is a read-modify-write
under the stores' one lock (store.store_lock), so writers in other processes (the tray,
`traywidget accounts …`) never lose each other's changes. A file that cannot be read is
moved aside (never overwritten) and reported; an entry that cannot be
understood is kept verbatim and written back, so a newer version's config or
a hand edit gone wrong loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from traywidget.i18n import LANGUAGES, tr
from traywidget.model import UNTIL_RESUME, Account, ConfigError, InvalidValue, Thresholds
from traywidget.model.hook import Hook
from traywidget.store.account_fields import parse_account, stored_interval
from traywidget.store.paths import atomic_write, config_dir, temp_files_of
from traywidget.store.store_lock import (
    KEYS_CHANGED_FILE,
    StoreBusy,
    file_stamp,
    held_by_nobody,
    lock_path,
    store_lock,
)

CONFIG_FILE = "config.json"
CONFIG_VERSION = 1

# Every default in one table. Cadences are seconds between polls.
DEFAULTS: dict[str, Any] = {
    "thresholds": [0.20, 0.05],
    "pinned_meter": None,
    "icon_per_account": False,
    "fast_interval_s": 60.0,
    "full_interval_s": 300.0,
    "notifications": True,
    # Off by default: the threshold alerts already speak as a window runs low; this forecast is opt-in.
    "pace_alerts": False,
    # None: the system's language (traywidget.i18n.LANGUAGES lists the others).
    "language": None,
    # The local gateway (http://127.0.0.1:PORT/ACCOUNT_ID) runs in the tray app only when the user turns
    # it on: it is a listening socket, and tools must be pointed at it to be of use.
    "gateway_enabled": False,
    "gateway_port": 8787,
    # Prometheus metrics at the gateway's /metrics (token required): off until the user turns them on.
    "metrics_enabled": False,
    # How long Kill all streams holds the accounts' gateway traffic: 0 = no hold, minutes, or
    # "resume" = until the user resumes.
    "kill_hold": 0,
}
MAX_HOLD_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Settings:
    thresholds: Thresholds = Thresholds()
    pinned_meter: str | None = None  # "account_id/meter_name"
    icon_per_account: bool = False
    fast_interval_s: float = DEFAULTS["fast_interval_s"]
    full_interval_s: float = DEFAULTS["full_interval_s"]
    notifications: bool = True
    pace_alerts: bool = DEFAULTS["pace_alerts"]
    language: str | None = DEFAULTS["language"]
    gateway_enabled: bool = DEFAULTS["gateway_enabled"]
    gateway_port: int = DEFAULTS["gateway_port"]
    metrics_enabled: bool = DEFAULTS["metrics_enabled"]
    # Commands and URLs that receive every alert as JSON (desktop/hooks.py), in the order added.
    hooks: tuple[Hook, ...] = ()
    kill_hold: int | str = DEFAULTS["kill_hold"]

    @property
    def kill_hold_minutes(self) -> tuple[bool, float | None]:
        """(whether Kill all streams holds, for how many minutes; None: until resumed)."""
        if self.kill_hold == UNTIL_RESUME:
            return True, None
        return bool(self.kill_hold), float(self.kill_hold) if self.kill_hold else None

    def to_json(self) -> dict[str, Any]:
        return {
            "thresholds": list(self.thresholds.levels),
            "pinned_meter": self.pinned_meter,
            "icon_per_account": self.icon_per_account,
            "fast_interval_s": self.fast_interval_s,
            "full_interval_s": self.full_interval_s,
            "notifications": self.notifications,
            "pace_alerts": self.pace_alerts,
            "language": self.language,
            "gateway_enabled": self.gateway_enabled,
            "gateway_port": self.gateway_port,
            "metrics_enabled": self.metrics_enabled,
            "hooks": [hook.to_json() for hook in self.hooks],
            "kill_hold": self.kill_hold,
        }

    @classmethod
    def from_json(cls, data: Any) -> Settings:
        if not isinstance(data, dict):
            return cls()
        levels = data.get("thresholds", DEFAULTS["thresholds"])
        if not isinstance(levels, list) or not all(_is_fraction(v) for v in levels):
            levels = DEFAULTS["thresholds"]
        pinned = data.get("pinned_meter")
        return cls(
            thresholds=Thresholds(tuple(sorted((float(v) for v in levels), reverse=True))),
            pinned_meter=pinned if isinstance(pinned, str) and "/" in pinned else None,
            icon_per_account=bool(data.get("icon_per_account", False)),
            fast_interval_s=stored_interval(data.get("fast_interval_s"), DEFAULTS["fast_interval_s"]),
            full_interval_s=stored_interval(data.get("full_interval_s"), DEFAULTS["full_interval_s"]),
            notifications=bool(data.get("notifications", True)),
            pace_alerts=bool(data.get("pace_alerts", DEFAULTS["pace_alerts"])),
            language=_language(data.get("language")),
            gateway_enabled=bool(data.get("gateway_enabled", DEFAULTS["gateway_enabled"])),
            gateway_port=_port(data.get("gateway_port"), DEFAULTS["gateway_port"]),
            metrics_enabled=data.get("metrics_enabled") is True,
            hooks=_hooks(data.get("hooks")),
            kill_hold=_kill_hold(data.get("kill_hold", DEFAULTS["kill_hold"])),
        )


def _kill_hold(value: Any) -> int | str:
    if value == UNTIL_RESUME:
        return UNTIL_RESUME
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_HOLD_MINUTES:
        return value
    return DEFAULTS["kill_hold"]


def _hooks(value: Any) -> tuple[Hook, ...]:
    """The hooks; an entry this version cannot read is kept (written back, never run), as accounts are."""
    hooks = (Hook.from_json(entry) for entry in value) if isinstance(value, list) else ()
    return tuple(hook for hook in hooks if hook is not None)


def _language(value: Any) -> str | None:
    return value if isinstance(value, str) and value in LANGUAGES else None


def _is_fraction(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1


@dataclass(frozen=True)
class Config:
    accounts: tuple[Account, ...] = ()
    settings: Settings = Settings()
    # Entries this version could not understand, written back untouched.
    unknown_entries: tuple[dict[str, Any], ...] = ()
    # What was wrong with the file as loaded (shown to the user once).
    warnings: tuple[str, ...] = ()
    # Where a file that could not be read was kept; None when it was read.
    set_aside: Path | None = None

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def with_account(self, account: Account) -> Config:
        """Add `account`, or replace the one with the same id."""
        kept = tuple(a for a in self.accounts if a.id != account.id)
        if len(kept) == len(self.accounts):
            return replace(self, accounts=self.accounts + (account,))
        return replace(self, accounts=tuple(account if a.id == account.id else a for a in self.accounts))

    def without_account(self, account_id: str) -> Config:
        return replace(self, accounts=tuple(a for a in self.accounts if a.id != account_id))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CONFIG_VERSION,
            "accounts": [a.to_json() for a in self.accounts] + list(self.unknown_entries),
            "settings": self.settings.to_json(),
        }


def _port(value: Any, default: int) -> int:
    """A stored gateway port; 0 (any free port, as the demo runs) is kept, as validate_port allows it."""
    return value if type(value) is int and 0 <= value <= 65535 else default


# ------------------------------------------------------------------ base URL advice
# A base URL can be valid and still wrong: another provider's host, the web
# site instead of the API, a path without the provider's /v1 form, or a key
# pasted into the wrong field. These helpers say so (and offer the fix); the
# account editor and the CLI call them.


@dataclass
class ConfigStore:
    """Loads and saves the config file in `directory` (the platform config dir by default)."""

    directory: Path = field(default_factory=config_dir)

    @property
    def path(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def lock_path(self) -> Path:
        return lock_path(self.directory)

    def stamp(self) -> tuple[int, int, int] | None:
        """A cheap signature of the file as it is now (None when there is none)."""
        return file_stamp(self.path)

    def keys_stamp(self) -> tuple[int, int, int] | None:
        """The same for the stamp the key store replaces after every change of the keys."""
        return file_stamp(self.directory / KEYS_CHANGED_FILE)

    def load(self) -> Config:
        """The config; a missing file is an empty config.

        A file that is not valid JSON (or not our shape) is renamed to
        config.json.corrupt-<time> and reported in Config.warnings; the caller
        shows the warning. The next save then writes a fresh file beside it.
        """
        from traywidget.providers import PROVIDER_IDS

        self._remove_orphaned_temp_files()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Config()
        except OSError as exc:
            raise ConfigError(tr("Cannot read {path}: {reason}").format(
                path=self.path, reason=exc.strerror or exc)) from None
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("accounts", []), list):
                raise ValueError("not a traywidget config object")
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            aside = self._move_aside()
            return Config(
                warnings=(
                    tr("The config file {path} could not be read ({reason}). It was kept as {aside}; "
                       "fix or restore it from there.").format(
                        path=self.path, reason=_short(exc), aside=aside.name),
                ),
                set_aside=aside,
            )
        accounts: list[Account] = []
        unknown: list[dict[str, Any]] = []
        warnings: list[str] = []
        seen: set[str] = set()
        for entry in data.get("accounts", []):
            try:
                account = parse_account(entry, PROVIDER_IDS)
                if account.id in seen:
                    raise InvalidValue(tr("duplicate account id {id}").format(id=repr(account.id)))
            except InvalidValue as exc:
                warnings.append(tr("Skipped an account entry in {file}: {problem}. It is kept in the file.").format(
                    file=self.path.name, problem=str(exc).rstrip(".")))
                if isinstance(entry, dict):
                    unknown.append(entry)
                continue
            seen.add(account.id)
            accounts.append(account)
        return Config(
            accounts=tuple(accounts),
            settings=Settings.from_json(data.get("settings")),
            unknown_entries=tuple(unknown),
            warnings=tuple(warnings),
        )

    def language(self) -> str | None:
        """The language chosen in Settings (None: the system's), read without touching the file: a command
        line needs it before it says anything, and a file that cannot be read is load()'s to report."""
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
            return _language(data["settings"]["language"])
        except (OSError, ValueError, RecursionError, KeyError, TypeError):
            return None

    def update(self, change: Callable[[Config], Config]) -> Config:
        """Apply `change` to the config as it is on disk now, under the lock, and save the result,
        which is returned. Every edit goes through here: an edit made from a copy loaded earlier
        would undo what another process saved in between. `change` may raise to refuse."""
        with self._locked():
            current = self.load()
            if current.set_aside is not None:  # unreadable and kept aside: do not start over from nothing
                raise ConfigError(" ".join(current.warnings))
            changed = change(current)
            self.save(changed)
            return replace(changed, warnings=(), set_aside=None)

    def save(self, config: Config) -> None:
        """Write `config` as the whole file (under the lock). For an edit, use `update`."""
        with self._locked():
            self._save(config)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with ExitStack() as held:
            try:
                held.enter_context(store_lock(self.lock_path))
            except StoreBusy:
                raise ConfigError(tr("Another traywidget process kept {path} busy; try again in a moment. "
                                     "Nothing was changed.").format(path=self.path)) from None
            except OSError as exc:
                raise ConfigError(tr("Cannot save {path}: {reason}. Nothing was changed.").format(
                    path=self.path, reason=exc.strerror or exc)) from None
            yield

    def _save(self, config: Config) -> None:
        written_by = self._version_on_disk()
        if written_by > CONFIG_VERSION:
            # A newer traywidget wrote it: its fields would be lost in our shape of the file.
            raise ConfigError(tr("{path} was written by a newer traywidget (config version {theirs}; this one "
                                 "knows {ours}): it was not changed. Make this change with the newer version.").format(
                path=self.path, theirs=written_by, ours=CONFIG_VERSION))
        payload = json.dumps(config.to_json(), indent=2, sort_keys=False).encode("utf-8") + b"\n"
        try:
            atomic_write(self.path, payload)
        except OSError as exc:
            raise ConfigError(tr("Cannot save {path}: {reason}. Nothing was changed.").format(
                path=self.path, reason=exc.strerror or exc)) from None

    def _version_on_disk(self) -> int:
        try:
            version = json.loads(self.path.read_bytes().decode("utf-8")).get("version")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError, RecursionError):
            return 0  # none, or unreadable: ours to write
        return version if type(version) is int else 0

    def _remove_orphaned_temp_files(self) -> None:
        # A save killed between writing its temporary file and renaming it leaves
        # the temporary file behind; the real file is intact, so just tidy up —
        # but only while no writer holds the lock: then no temporary file is in flight.
        orphans = temp_files_of(self.path)
        if not orphans or not held_by_nobody(self.lock_path):
            return
        for orphan in orphans:
            try:
                orphan.unlink()
            except OSError:
                pass

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{CONFIG_FILE}.corrupt-{stamp}")
        counter = 1
        while aside.exists():
            aside = self.path.with_name(f"{CONFIG_FILE}.corrupt-{stamp}-{counter}")
            counter += 1
        try:
            self.path.rename(aside)
        except OSError as exc:
            raise ConfigError(tr(
                "The config file {path} is corrupt and could not be moved aside ({reason}). "
                "Move or fix it by hand; nothing was changed."
            ).format(path=self.path, reason=exc.strerror)) from None
        return aside


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class ConfigEdit:
    """An edit of the config file: the config to run with from now on (None when the file could
    not be read, or did not change: the running process keeps what it has), and what to tell the
    user. `keys_changed`: some process saved or deleted keys (read them again, poll now)."""

    config: Config | None
    warnings: tuple[str, ...]
    keys_changed: bool = False


class ConfigWatch:
    """Notices edits of the config file made elsewhere (`traywidget accounts …`, Settings in the
    tray, an editor), and keys saved or deleted elsewhere (`traywidget keys …`: the key store's
    stamp beside the config), for a process that runs on: the tray app and the headless gateway.
    Ask `check()` when the file may have changed (a file-system event, or on a timer)."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._stamp = store.stamp()
        self._keys_stamp = store.keys_stamp()

    def check(self) -> ConfigEdit | None:
        """None while the file and the keys are as last seen; otherwise the edit."""
        stamp, keys_stamp = self._store.stamp(), self._store.keys_stamp()
        keys_changed = keys_stamp != self._keys_stamp
        self._keys_stamp = keys_stamp
        if stamp == self._stamp:
            return ConfigEdit(None, (), keys_changed=True) if keys_changed else None
        self._stamp = stamp
        try:
            config = self._store.load()
        except ConfigError as exc:
            return ConfigEdit(None, (str(exc),), keys_changed)
        if config.set_aside is not None:  # unreadable, kept aside: no reason to drop every account
            self._stamp = self._store.stamp()  # moved aside: its absence is not another edit
            return ConfigEdit(None, config.warnings, keys_changed)
        return ConfigEdit(config, config.warnings, keys_changed)
