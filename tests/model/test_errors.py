"""The one error hierarchy: what each error tells the user (str) and what the CLI returns (exit code)."""

from __future__ import annotations

import pytest

from traywidget.model import (
    EXIT_ACCOUNT_ERROR,
    EXIT_KEYRING,
    EXIT_OK,
    EXIT_USAGE,
    KEYRING_ERROR_CODE,
    AutostartError,
    ConfigError,
    ErrorInfo,
    InvalidValue,
    ProviderError,
    SecretStoreError,
    State,
    TraywidgetError,
    UsageError,
)


def test_the_exit_codes() -> None:
    assert (EXIT_OK, EXIT_ACCOUNT_ERROR, EXIT_USAGE, EXIT_KEYRING) == (0, 1, 2, 3)
    assert KEYRING_ERROR_CODE == "KEYRING"


@pytest.mark.parametrize(("error", "code"), [
    (TraywidgetError, 1),
    (UsageError, 2),
    (ConfigError, 2),
    (InvalidValue, 2),
    (AutostartError, 2),
    (SecretStoreError, 3),
], ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_each_error_says_its_message_and_carries_its_exit_code(error: type[TraywidgetError], code: int) -> None:
    raised = error("Run `traywidget keys set main`.")
    assert isinstance(raised, TraywidgetError)
    assert str(raised) == "Run `traywidget keys set main`."
    assert raised.exit_code == code
    assert error.exit_code == code


def test_an_invalid_value_is_also_a_value_error() -> None:
    """Code that validates with ValueError (argparse types, dataclass checks) catches it too."""
    with pytest.raises(ValueError, match="^the port must be 1-65535$"):
        raise InvalidValue("the port must be 1-65535")


def test_a_provider_error_is_the_providers_message_with_its_state() -> None:
    info = ErrorInfo(message="Hourly request limit exceeded", http_status=429, code="RATE_LIMITED",
                     retry_after_s=30.0, limit_kind="hourly")
    error = ProviderError(State.RATE_LIMITED, info)
    assert str(error) == "Hourly request limit exceeded"
    assert error.state is State.RATE_LIMITED
    assert error.info is info
    assert error.exit_code == EXIT_ACCOUNT_ERROR
    assert repr(error) == "ProviderError(rate_limited, 'Hourly request limit exceeded')"
