"""DeepSeek: the account balance, one money meter per currency.

  GET /user/balance   {"is_available": bool, "balance_infos": [{"currency": "CNY"|"USD",
                       "total_balance": "110.00", "granted_balance": "10.00",
                       "topped_up_balance": "100.00"}]}   (numbers sent as strings)

`is_available: false` or a total balance at or below zero means API calls are refused until the
account is topped up: payment required. DeepSeek sends no rate-limit headers (under load it keeps
the connection open instead of answering 429), so no window is shown or invented. Errors are
OpenAI-shaped; 402 "Insufficient Balance".
"""

from __future__ import annotations

from traywidget.i18n import Listing, Money, Phrase, tr_noop
from traywidget.model import (
    BALANCE,
    BALANCE_PREFIX,
    ErrorInfo,
    HttpResult,
    Meter,
    ProviderError,
    Unit,
    clean_signed_number,
)
from traywidget.providers.balances import openai_style_error
from traywidget.providers.base import PollContext, Provider, Reading, RequestSpec
from traywidget.providers.decoding import NOT_JSON, decode_json, malformed
from traywidget.providers.names import DISPLAY_NAMES

USER_BALANCE = "user_balance"
# More currencies than any account holds is not a balance answer.
MAX_CURRENCIES = 4

NO_WINDOWS_NOTE = tr_noop("DeepSeek reports no rate limits (it slows down instead of refusing): "
                          "only the balance is shown.")
NOT_AVAILABLE_MESSAGE = tr_noop("DeepSeek says the balance cannot pay for API calls: top up the account.")
EMPTY_MESSAGE = tr_noop("The balance is used up: API calls are refused until the account is topped up.")
UNKNOWN_CURRENCY_NOTE = tr_noop("A balance in {currency} is not shown (unknown currency).")


class DeepSeek(Provider):
    id = "deepseek"
    display_name = DISPLAY_NAMES["deepseek"]
    default_base_url = "https://api.deepseek.com/v1"
    known_hosts = ("api.deepseek.com",)
    management_key_hint = tr_noop("A DeepSeek API key is all it needs; no management key.")
    supports_kill = False
    # DeepSeek serves Anthropic's API under another base (https://api.deepseek.com/anthropic), not
    # under this one: `gateway env` offers no ANTHROPIC_BASE_URL for it.
    serves_messages = False

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        return [RequestSpec(USER_BALANCE, "user/balance", from_root=True)]

    def notes(self, ctx: PollContext) -> tuple[str, ...]:
        return (NO_WINDOWS_NOTE,)

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        data = decode_json(result.body)
        if data is NOT_JSON or not isinstance(data, dict):
            raise malformed("DeepSeek balance response is not a JSON object", result.status)
        infos = data.get("balance_infos")
        if not isinstance(infos, list):
            raise malformed('DeepSeek balance response has no "balance_infos" list', result.status)
        rows = [row for row in infos[:MAX_CURRENCIES] if isinstance(row, dict)]
        notes: list[str] = []
        found: list[tuple[Unit, dict]] = []
        for row in rows:
            unit = Unit.for_currency(row.get("currency"))
            if unit is None:
                notes.append(Phrase(UNKNOWN_CURRENCY_NOTE, currency=str(row.get("currency"))[:8]))
            elif all(u is not unit for u, _ in found):
                found.append((unit, row))
        meters: list[Meter] = []
        for unit, row in found:
            total = clean_signed_number(_number(row.get("total_balance")))
            if total is None:
                continue
            name = BALANCE if len(found) == 1 else BALANCE_PREFIX + unit.value
            meters.append(Meter(name=name, unit=unit, remaining=total))
            granted = clean_signed_number(_number(row.get("granted_balance")))
            topped = clean_signed_number(_number(row.get("topped_up_balance")))
            parts = []
            if topped is not None:
                parts.append(Phrase("topped up {amount}", amount=Money(topped, 2, unit.currency or "USD")))
            if granted is not None:
                parts.append(Phrase("granted {amount}", amount=Money(granted, 2, unit.currency or "USD")))
            if parts:
                notes.append(Phrase("Balance: {parts}", parts=Listing(parts)))
        if not meters and data.get("is_available") is not False:
            raise malformed("DeepSeek balance response has no usable balance", result.status)
        reading_error = None
        if data.get("is_available") is False:
            reading_error = ErrorInfo(message=NOT_AVAILABLE_MESSAGE, http_status=result.status, code="NOT_AVAILABLE")
        elif all(m.remaining is not None and m.remaining <= 0 for m in meters):
            reading_error = ErrorInfo(message=EMPTY_MESSAGE, http_status=result.status, code="NO_BALANCE")
        return Reading(meters=tuple(meters), notes=tuple(notes), payment_required=reading_error)

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        return openai_style_error(result, ctx.now)


def _number(value: object) -> float | None:
    """DeepSeek's amounts are strings ("110.00"); a number is taken as it is."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
