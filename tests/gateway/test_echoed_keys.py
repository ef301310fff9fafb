"""A provider that echoes the key it was sent ("Rate limit reached for key gsk_…") through a real
gateway: the key is masked in what the gateway learns (and so in every view fed by it), in its
status endpoint, its log and in the refusal the tool receives. Canaries in three shapes the old
prefix masks did not know: gsk_ (Groq), xai- (xAI) and a plain 64-hex key."""

from __future__ import annotations

import json
import logging

from tests.gateway.conftest import upstream_account
from traywidget.model import Account

GSK = "gsk_" + "C4nAry9x" * 6
XAI = "xai-" + "c4NaRy7q" * 10
HEX = "c4a7b00f" * 8
CANARIES = {"groq": GSK, "xai": XAI, "hex": HEX}


def _pieces(secret: str) -> list[str]:
    """The secret and the recognisable pieces of it a leak would show (its tail, its middle)."""
    return [secret, secret[-12:], secret[8:20], secret.upper() if secret == HEX else secret]


def _leaks(text: str) -> list[str]:
    return [piece for secret in CANARIES.values() for piece in _pieces(secret) if piece.lower() in text.lower()]


async def test_an_echoed_key_is_masked_in_everything_the_gateway_learns_and_returns(start_gateway, sim, client,
                                                                                       caplog):
    caplog.set_level(logging.DEBUG)
    s = sim.sim
    accounts = [Account(account_id, "openai-compatible", account_id, sim.url("openai-compatible"))
                for account_id in CANARIES]
    for key in CANARIES.values():
        s.add_openai_compatible_key(key=key)
        s.inject(key, "status_429", count=2, echo_key=True, retry_after=30)
    running = await start_gateway(accounts, dict(CANARIES))
    seen: list[str] = []
    for account_id in CANARIES:
        plain = await client.post(running.url(account_id, "/chat/completions"), headers=running.auth,
                                  json={"model": "m", "messages": []})
        assert plain.status_code == 429
        message = plain.json()["error"]["message"]
        assert message.startswith("Rate limit reached for key ")  # the provider's words stay, the key goes
        streamed = await client.post(running.url(account_id, "/chat/completions"), headers=running.auth,
                                     json={"model": "m", "messages": [], "stream": True})
        assert streamed.status_code == 429
        seen += [plain.text, streamed.text, repr(list(plain.headers.items()))]
    errors = [o.error for o in running.observations if o.error is not None]
    assert len(errors) == 6 and {o.account_id for o in running.observations} == set(CANARIES)
    assert all(e.message.startswith("Rate limit reached for key ") for e in errors)
    status = await client.get(running.root + "/_traywidget/status", headers=running.auth)
    assert status.status_code == 200 and len(status.json()["observations"]) == 3
    seen += [status.text, json.dumps([e.to_json() for e in errors]), caplog.text]
    assert _leaks("\n".join(seen)) == []
    # The upstream did get each key, so the test could have caught a leak.
    assert {r.key for r in s.requests(provider="openai-compatible")} == set(CANARIES.values())


async def test_a_compressed_refusal_echoing_the_key_reaches_the_tool_masked(start_gateway, upstream, client):
    running = await start_gateway([upstream_account(upstream)], {"up": GSK})
    reply = await client.get(running.url("up", "/gzip-echo-429"), headers={**running.auth, "Accept-Encoding": "gzip"})
    assert reply.status_code == 429 and "content-encoding" not in reply.headers
    assert reply.json()["error"]["message"] == "Rate limit reached for key gsk_" + "*" * (len(GSK) - 4)
    assert running.observations[-1].error.message == "Rate limit reached for key gsk_…"
    assert upstream.requests[-1]["headers"].count(("Authorization", f"Bearer {GSK}")) == 1
