"""A refusal by a CDN/WAF in front of a provider, told apart from the provider's own answer.

Cloudflare answers a client it does not like before the provider sees the request: a 403 (or a
503 challenge) with `cf-ray` / `server: cloudflare` headers and a plain "error code: 1010" text
or an HTML page ("Attention Required!", "Just a moment..."). Routeway has been reported to refuse
non-browser User-Agents that way (1010), and routing.run's WAF once refused an SDK's User-Agent.
Such a page says nothing about the key: it becomes State.BLOCKED with what to try, never
"key rejected". A JSON body is the provider's own answer even when it passed through Cloudflare
(every Cloudflare-fronted API sends `cf-ray`), so it is never taken for a block.

Pure and never raises (fuzzed with the header parser).
"""

from __future__ import annotations

import re

from traywidget.i18n import Phrase, tr_noop
from traywidget.model import HttpResult, ProviderError, State
from traywidget.providers.decoding import (
    NOT_JSON,
    body_text,
    decode_json,
    looks_like_html,
    provider_error,
)

# Statuses a WAF refuses with (1010/1020 → 403; a challenge → 403 or 503).
BLOCK_STATUSES = frozenset({403, 503})
BLOCKED_CODE = "FIREWALL_BLOCKED"

_ERROR_CODE = re.compile(
    r"(?i)(?:error\s*code\s*:?\s*|<span[^>]*cf-error-code[^>]*>\s*|\berror\s+)(1\d{3})\b")
_CHALLENGE = re.compile(r"(?i)just a moment|cf[-_]chl|challenge-platform|enable javascript and cookies")
_BLOCK_PAGE = re.compile(r"(?i)attention required|sorry, you have been blocked|cf-error-details|access denied")

BLOCKED_WITH_CODE = tr_noop(
    "Blocked by the provider's firewall ({firewall} {code}): it rejected this client, not the key. "
    "Try another User-Agent for this account, another network, or ask the provider.")
BLOCKED_CHALLENGE = tr_noop(
    "Blocked by the provider's firewall ({firewall} challenge page): it wants a browser, not this client. "
    "Try another User-Agent for this account, another network, or ask the provider.")
BLOCKED_PAGE = tr_noop(
    "Blocked by the provider's firewall ({firewall}): it rejected this client, not the key. "
    "Try another User-Agent for this account, another network, or ask the provider.")


def firewall_name(result: HttpResult) -> str | None:
    """"Cloudflare" when the response came from Cloudflare's edge, else None."""
    if _text(result, "cf-ray") or _text(result, "server").startswith("cloudflare") or _text(result, "cf-mitigated"):
        return "Cloudflare"
    return None


def _text(result: HttpResult, name: str) -> str:
    value = result.header(name)
    return value.strip().lower() if isinstance(value, str) else ""


def firewall_block(result: HttpResult) -> ProviderError | None:
    """State.BLOCKED for a WAF's refusal of this client, or None for the provider's own answer."""
    if result.status not in BLOCK_STATUSES:
        return None
    firewall = firewall_name(result)
    if firewall is None or decode_json(result.body) is not NOT_JSON:
        return None
    text = body_text(result.body)
    code_match = _ERROR_CODE.search(text)
    if code_match is not None:
        message = Phrase(BLOCKED_WITH_CODE, firewall=firewall, code=code_match.group(1))
        return provider_error(State.BLOCKED, message, result.status, code=f"cloudflare_{code_match.group(1)}")
    if _text(result, "cf-mitigated") == "challenge" or _CHALLENGE.search(text):
        return provider_error(State.BLOCKED, Phrase(BLOCKED_CHALLENGE, firewall=firewall), result.status,
                              code="cloudflare_challenge")
    if looks_like_html(text, result.header("content-type")) and _BLOCK_PAGE.search(text):
        return provider_error(State.BLOCKED, Phrase(BLOCKED_PAGE, firewall=firewall), result.status, code=BLOCKED_CODE)
    return None
