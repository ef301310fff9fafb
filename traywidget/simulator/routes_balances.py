"""The LiteLLM proxy under /litellm (key/info at its root, completions under /v1), DeepSeek under
/deepseek, Moonshot under /moonshot/v1, and the header dialects of other APIs under /dialects/v1
(state in state_balances.py). Any of their keys can be put behind a Cloudflare block."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from aiohttp import web

from traywidget.simulator.error_replies import Reply, json_reply
from traywidget.simulator.state_balances import (
    DEEPSEEK,
    DIALECT,
    LITELLM,
    MOONSHOT,
    BalanceWorld,
)
from traywidget.simulator.wire import SIM, to_response

LITELLM_ROOT, DEEPSEEK_ROOT, MOONSHOT_BASE, DIALECTS_BASE = "/litellm", "/deepseek", "/moonshot/v1", "/dialects/v1"
CF_RAY = "8f1a2b3c4d5e6f70-FRA"
CHALLENGE_PAGE = (b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head><body>"
                  b"<noscript>Enable JavaScript and cookies to continue</noscript>"
                  b"<script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1\"></script></body></html>")


def firewall_reply(kind: str) -> Reply:
    """What Cloudflare answers a client it refuses: "error code: 1010" as text, or a challenge page."""
    headers = {"Server": "cloudflare", "CF-RAY": CF_RAY}
    if kind == "challenge":
        return Reply(403, CHALLENGE_PAGE, "text/html", {**headers, "cf-mitigated": "challenge"})
    return Reply(403, b"error code: 1010", "text/plain", headers)


def openai_error(status: int, message: str, type_: str, code: str | None = None) -> Reply:
    return json_reply({"error": {"message": message, "type": type_, "param": None, "code": code}}, status)


def completion(model: str) -> dict:
    return {"id": "chatcmpl-sim", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the simulator."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}


def _key(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip() or None  # X-API-Key too (routing.run)


@web.middleware
async def firewall_in_front(request: web.Request, handler):
    """Cloudflare in front of every provider route: a key put behind a firewall is refused before
    the provider sees the request (never /_sim, the simulator's own control)."""
    if not request.path.startswith("/_sim"):
        firewall = request.app[SIM].balances.firewall(_key(request), request.headers.get("User-Agent", ""))
        if firewall is not None:
            return to_response(firewall_reply(firewall))
    return await handler(request)


def _guarded(provider: str, unauthorized: Reply, answer: Callable[[BalanceWorld, str, web.Request], Reply]):
    """A handler: the key must be this provider's."""
    async def handler(request: web.Request) -> web.StreamResponse:
        world: BalanceWorld = request.app[SIM].balances
        key = _key(request)
        if not world.knows(key, provider):
            return to_response(unauthorized)
        assert key is not None  # no world knows the None key
        return to_response(answer(world, key, request))
    return handler


# -- LiteLLM ---------------------------------------------------------------------

LITELLM_UNAUTHORIZED = json_reply({"error": {"message": "Authentication Error, Invalid proxy server token passed.",
                                             "type": "auth_error", "param": "None", "code": "401"}}, 401)


def _litellm_chat(world: BalanceWorld, key: str, request: web.Request) -> Reply:
    allowed, headers, refusal = world.litellm_spend(key)
    if not allowed:
        status = world.record(key).budget_status
        return json_reply({"error": {"message": refusal, "type": "budget_exceeded", "param": None,
                                     "code": str(status)}}, status)
    return json_reply(completion("gpt-4o-mini"), headers=headers)


# -- DeepSeek --------------------------------------------------------------------

DEEPSEEK_UNAUTHORIZED = openai_error(401, "Authentication Fails, Your api key: ****1234 is invalid",
                                     "authentication_error", "invalid_request_error")


def _deepseek_chat(world: BalanceWorld, key: str, request: web.Request) -> Reply:
    if not world.deepseek_balance(key)["is_available"]:
        return openai_error(402, "Insufficient Balance", "unknown_error", "invalid_request_error")
    return json_reply(completion("deepseek-chat"))


# -- Moonshot --------------------------------------------------------------------

MOONSHOT_UNAUTHORIZED = openai_error(401, "Invalid Authentication", "invalid_authentication_error")


def _moonshot_chat(world: BalanceWorld, key: str, request: web.Request) -> Reply:
    if world.moonshot_balance(key)["data"]["available_balance"] <= 0:
        return openai_error(429, "Your account is suspended, please check your plan and billing details",
                            "exceeded_current_quota_error")
    return json_reply(completion("kimi-k2-turbo-preview"))


# -- dialects --------------------------------------------------------------------

DIALECT_UNAUTHORIZED = openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")


def dialect_reply(dialect: str, now_epoch: float) -> Reply:
    """One answer in `dialect`'s own headers (or its refusal), with fixed, documented-looking numbers."""
    ok = completion("sim-model")
    if dialect == "cerebras":
        return json_reply(ok, headers={
            "x-ratelimit-limit-requests-day": "14400", "x-ratelimit-remaining-requests-day": "14399",
            "x-ratelimit-reset-requests-day": "33011.382867097855",
            "x-ratelimit-limit-tokens-minute": "60000", "x-ratelimit-remaining-tokens-minute": "59983",
            "x-ratelimit-reset-tokens-minute": "11.382867097854614"})
    if dialect == "digitalocean":
        return json_reply(ok, headers={
            "x-ratelimit-limit-requests": "5000", "x-ratelimit-remaining-requests": "4999",
            "x-ratelimit-reset-requests": str(int(now_epoch) + 60),
            "x-ratelimit-limit-tokens-per-day": "1000000", "x-ratelimit-remaining-tokens-per-day": "999983",
            "x-ratelimit-reset-tokens-per-day": str(int(now_epoch) + 3600),
            "x-ratelimit-limit-tokens-per-minute": "200000", "x-ratelimit-remaining-tokens-per-minute": "199983",
            "x-ratelimit-reset-tokens-per-minute": str(int(now_epoch) + 30)})
    if dialect == "groq":
        return json_reply(ok, headers={
            "x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "14370",
            "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-limit-tokens": "18000",
            "x-ratelimit-remaining-tokens": "17997", "x-ratelimit-reset-tokens": "7.66s"})
    if dialect == "fireworks":
        return json_reply(ok, headers={
            "x-ratelimit-limit-tokens-prompt": "3600000", "x-ratelimit-remaining-tokens-prompt": "3599988",
            "x-ratelimit-limit-tokens-generated": "36000", "x-ratelimit-remaining-tokens-generated": "35995"})
    if dialect == "anthropic-unified":
        return json_reply(ok, headers={
            "anthropic-ratelimit-unified-status": "allowed",
            "anthropic-ratelimit-unified-5h-utilization": "0.24", "anthropic-ratelimit-unified-5h-status": "allowed",
            "anthropic-ratelimit-unified-5h-reset": str(int(now_epoch) + 5400),
            "anthropic-ratelimit-unified-7d-utilization": "0.91",
            "anthropic-ratelimit-unified-7d-status": "allowed_warning",
            "anthropic-ratelimit-unified-7d-reset": str(int(now_epoch) + 3 * 86400)})
    if dialect in ("gemini-day", "gemini-minute"):
        quota = ("GenerateRequestsPerDayPerProjectPerModel-FreeTier" if dialect == "gemini-day"
                 else "GenerateRequestsPerMinutePerProjectPerModel-FreeTier")
        body = [{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                           "message": "You exceeded your current quota, please check your plan and billing details.",
                           "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                                                                       "generate_content_free_tier_requests",
                                                        "quotaId": quota, "quotaValue": "20"}]},
                                       {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                        "retryDelay": "36.429760048s"}]}}]
        return Reply(429, json.dumps(body).encode(), "application/json")
    return firewall_reply("1010")


def _dialect_chat(world: BalanceWorld, key: str, request: web.Request) -> Reply:
    now = request.app[SIM].now()
    return dialect_reply(world.dialect(key), now.timestamp())


def setup(app: web.Application) -> None:
    key_info = _guarded(LITELLM, LITELLM_UNAUTHORIZED, lambda world, key, _r: json_reply(world.litellm_key_info(key)))
    litellm_chat = _guarded(LITELLM, LITELLM_UNAUTHORIZED, _litellm_chat)
    app.router.add_get(LITELLM_ROOT + "/key/info", key_info)
    app.router.add_post(LITELLM_ROOT + "/chat/completions", litellm_chat)
    app.router.add_post(LITELLM_ROOT + "/v1/chat/completions", litellm_chat)
    balance = _guarded(DEEPSEEK, DEEPSEEK_UNAUTHORIZED, lambda world, key, _r: json_reply(world.deepseek_balance(key)))
    deepseek_chat = _guarded(DEEPSEEK, DEEPSEEK_UNAUTHORIZED, _deepseek_chat)
    app.router.add_get(DEEPSEEK_ROOT + "/user/balance", balance)
    app.router.add_post(DEEPSEEK_ROOT + "/chat/completions", deepseek_chat)
    app.router.add_post(DEEPSEEK_ROOT + "/v1/chat/completions", deepseek_chat)
    app.router.add_get(MOONSHOT_BASE + "/users/me/balance", _guarded(
        MOONSHOT, MOONSHOT_UNAUTHORIZED, lambda world, key, _r: json_reply(world.moonshot_balance(key))))
    app.router.add_post(MOONSHOT_BASE + "/chat/completions", _guarded(MOONSHOT, MOONSHOT_UNAUTHORIZED, _moonshot_chat))
    app.router.add_post(DIALECTS_BASE + "/chat/completions", _guarded(DIALECT, DIALECT_UNAUTHORIZED, _dialect_chat))
