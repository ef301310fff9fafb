"""Floor 1: the values every other part of traywidget speaks in.

Frozen dataclasses and enums (accounts, meters, snapshots, states and their
predicates), clean scalars, the HTTP result type and the one error
hierarchy. Nothing here does I/O or imports anything of traywidget's above
it; everything above imports from here (`from traywidget.model import ...`).
"""

from traywidget.model.account import Account, Thresholds
from traywidget.model.errors import (
    EXIT_ACCOUNT_ERROR,
    EXIT_KEYRING,
    EXIT_OK,
    EXIT_USAGE,
    KEYRING_ERROR_CODE,
    AutostartError,
    ConfigError,
    InvalidValue,
    ProviderError,
    SecretStoreError,
    TraywidgetError,
    UsageError,
)
from traywidget.model.http import HttpResult
from traywidget.model.scalars import (
    clean_number,
    clean_signed_number,
    iso,
    parse_iso,
    round_down,
    utcnow,
)
from traywidget.model.snapshot import (
    BALANCE,
    BALANCE_PREFIX,
    BUDGET,
    BUDGET_WINDOW_PREFIX,
    CREDITS,
    FREE_REQUESTS_DAY,
    INPUT_TOKENS_WINDOW,
    OUTPUT_TOKENS_WINDOW,
    REQUESTS_DAY,
    REQUESTS_HOUR,
    REQUESTS_MINUTE,
    REQUESTS_WINDOW,
    TOKENS_DAY,
    TOKENS_HOUR,
    TOKENS_MINUTE,
    TOKENS_WINDOW,
    USAGE_5H,
    USAGE_7D,
    ErrorInfo,
    KillResult,
    Meter,
    Snapshot,
    is_balance,
)
from traywidget.model.spend import (
    HOLD_DAILY_CAP,
    HOLD_KILL,
    HOLD_RESERVE,
    RESERVE_WINDOWS,
    UNTIL_RESUME,
    GatewayUsage,
    Hold,
    Rails,
    RequestUsage,
    UsageCount,
)
from traywidget.model.state import Freshness, Source, State, Unit
from traywidget.model.traffic import TrafficObservation

__all__ = [
    "Account", "Thresholds", "EXIT_ACCOUNT_ERROR", "EXIT_KEYRING", "EXIT_OK", "EXIT_USAGE", "KEYRING_ERROR_CODE",
    "AutostartError",
    "ConfigError", "InvalidValue", "ProviderError", "SecretStoreError", "TraywidgetError", "UsageError",
    "HttpResult", "clean_number", "clean_signed_number", "iso", "parse_iso", "round_down", "utcnow", "BALANCE",
    "CREDITS",
    "FREE_REQUESTS_DAY", "REQUESTS_DAY", "REQUESTS_HOUR", "REQUESTS_MINUTE", "ErrorInfo",
    "KillResult", "Meter", "Snapshot", "State", "Unit", "Source", "Freshness", "TrafficObservation",
    "REQUESTS_WINDOW",
    "TOKENS_WINDOW", "INPUT_TOKENS_WINDOW", "OUTPUT_TOKENS_WINDOW", "BALANCE_PREFIX", "BUDGET",
    "BUDGET_WINDOW_PREFIX", "TOKENS_DAY", "TOKENS_HOUR", "TOKENS_MINUTE", "USAGE_5H", "USAGE_7D", "is_balance",
    "HOLD_DAILY_CAP", "HOLD_KILL", "HOLD_RESERVE",
    "RESERVE_WINDOWS", "UNTIL_RESUME", "GatewayUsage", "Hold", "Rails", "RequestUsage", "UsageCount",
]
