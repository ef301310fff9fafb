"""Moonshot / Kimi: the account balance, in the currency its host bills in.

  GET /v1/users/me/balance   {"code": 0, "data": {"available_balance": 49.58894,
                              "voucher_balance": 46.58893, "cash_balance": 3.00001},
                              "scode": "0x0", "status": true}

api.moonshot.ai bills in US dollars and api.moonshot.cn in yuan; the answer names no currency, so
it follows the host (another host, a proxy in front: US dollars, said in a note). available_balance
= cash + vouchers; cash may be negative (owed). At or below zero inference is refused: payment
required. Errors are OpenAI-shaped.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from traywidget.i18n import Listing, Money, Phrase, tr_noop
from traywidget.model import (
    BALANCE,
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

USER_BALANCE = "users_me_balance"
CHINA_HOSTS = ("api.moonshot.cn",)
EMPTY_MESSAGE = tr_noop("The Moonshot balance is used up: inference is refused until the account is topped up.")
ASSUMED_CURRENCY_NOTE = tr_noop("Moonshot names no currency: amounts are taken as US dollars "
                                "(api.moonshot.cn bills in yuan).")


def currency_for(base_url: str) -> Unit:
    """Yuan for api.moonshot.cn, US dollars otherwise (api.moonshot.ai)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return Unit.CNY if host in CHINA_HOSTS else Unit.USD


class Moonshot(Provider):
    id = "moonshot"
    display_name = DISPLAY_NAMES["moonshot"]
    default_base_url = "https://api.moonshot.ai/v1"
    known_hosts = ("api.moonshot.ai", "api.moonshot.cn")
    management_key_hint = tr_noop("No management key needed. api.moonshot.cn bills in yuan, .ai in US dollars.")
    supports_kill = False

    def poll_requests(self, full: bool, ctx: PollContext) -> list[RequestSpec]:
        return [RequestSpec(USER_BALANCE, "users/me/balance")]

    def parse(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> Reading:
        body = decode_json(result.body)
        data = body.get("data") if isinstance(body, dict) else None
        if body is NOT_JSON or not isinstance(data, dict):
            raise malformed('Moonshot balance response has no "data" object', result.status)
        available = clean_signed_number(data.get("available_balance"))
        if available is None:
            raise malformed("Moonshot balance response has no available_balance", result.status)
        unit = currency_for(ctx.base_url)
        currency = unit.currency or "USD"
        notes: list[str] = []
        parts = []
        for label, field in ((tr_noop("cash {amount}"), "cash_balance"),
                             (tr_noop("vouchers {amount}"), "voucher_balance")):
            amount = clean_signed_number(data.get(field))
            if amount is not None:
                parts.append(Phrase(label, amount=Money(amount, 2, currency)))
        if parts:
            notes.append(Phrase("Balance: {parts}", parts=Listing(parts)))
        if _unknown_host(ctx.base_url):
            notes.append(ASSUMED_CURRENCY_NOTE)
        unpaid = None
        if available <= 0:
            unpaid = ErrorInfo(message=EMPTY_MESSAGE, http_status=result.status, code="NO_BALANCE")
        return Reading(meters=(Meter(name=BALANCE, unit=unit, remaining=available),), notes=tuple(notes),
                       payment_required=unpaid)

    def error_for(self, spec: RequestSpec, result: HttpResult, ctx: PollContext) -> ProviderError:
        return openai_style_error(result, ctx.now)


def _unknown_host(base_url: str) -> bool:
    """A host that says nothing about the currency: neither of Moonshot's nor this machine (the simulator)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if not host or host in CHINA_HOSTS or host in ("api.moonshot.ai", "localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True
