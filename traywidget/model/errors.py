"""The one error hierarchy.

Every failure traywidget reports to a person is a TraywidgetError: `str()` is
what the user is told (a plain sentence that never contains a secret, a
header dump or a URL with credentials), and `exit_code` is what the command
line returns for it. The CLI maps errors to exit codes in one place; the
views show `str(error)`.

Exit codes (documented in README):
  0  done
  1  done, but at least one account is in an error state (or a provider refused)
  2  bad usage, a bad value, an unreadable config
  3  the keyring is missing, locked or failed
"""

from __future__ import annotations

from typing import ClassVar

from traywidget.model.snapshot import ErrorInfo
from traywidget.model.state import State

EXIT_OK = 0
EXIT_ACCOUNT_ERROR = 1
EXIT_USAGE = 2
EXIT_KEYRING = 3

# ErrorInfo.code of an account whose key could not be read from the keyring: the
# CLI returns EXIT_KEYRING for it, as it does for a keyring error of its own.
KEYRING_ERROR_CODE = "KEYRING"


class TraywidgetError(Exception):
    """Base of every error shown to a person."""

    exit_code: ClassVar[int] = EXIT_ACCOUNT_ERROR


class UsageError(TraywidgetError):
    """The command was asked for something it cannot do as given."""

    exit_code = EXIT_USAGE


class ConfigError(TraywidgetError):
    """The configuration could not be read or written; the message says what to do."""

    exit_code = EXIT_USAGE


class InvalidValue(TraywidgetError, ValueError):
    """A value a user typed is not acceptable; the message says why."""

    exit_code = EXIT_USAGE


class SecretStoreError(TraywidgetError):
    """The keyring could not be used. The message never contains a secret."""

    exit_code = EXIT_KEYRING


class AutostartError(TraywidgetError):
    """Start at login could not be turned on or off; the message says what to do."""

    exit_code = EXIT_USAGE


class ProviderError(TraywidgetError):
    """A response that means the account is not OK, in the provider's words.

    str() is the provider's message only.
    """

    def __init__(self, state: State, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.state = state
        self.info = info

    def __repr__(self) -> str:
        return f"ProviderError({self.state.value}, {self.info.message!r})"
