"""Secrets on the gateway paths: the real key travels only in the upstream
request to its own provider's host; it never reaches the client (success,
refusal, failure, stop), a log line or an error; the gateway token never
reaches a provider. A canary key and token are pushed through every path.
(The headless command's files and output are covered in test_cli.py.)"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from tests.desktop_session import free_port
from tests.gateway.conftest import eventually, upstream_account
from traywidget.model import Account
from traywidget.simulator.passthrough import fingerprint

CANARY = "rk_" + "9a7ec4a7" * 8
OR_CANARY = "sk-or-v1-" + "9a7e5ec7e75e" * 5
RW_CANARY = "sk-" + "9a7ea11ce" * 5


def _everything(reply: httpx.Response) -> str:
    return str(reply.status_code) + repr(list(reply.headers.items())) + reply.content.decode("latin-1")


@pytest.mark.slow
async def test_canaries_travel_only_to_their_own_provider(start_gateway, sim, client, upstream, caplog):
    caplog.set_level(logging.DEBUG)
    s = sim.sim
    s.add_routing_key("Premium", key=CANARY)
    s.add_openrouter_key(key=OR_CANARY)
    s.add_routeway_key(key=RW_CANARY)
    accounts = [Account("rr", "routing.run", "RR", sim.url("routing.run")),
                Account("or", "openrouter", "OR", sim.url("openrouter")),
                Account("rw", "routeway", "RW", sim.url("routeway")),
                Account("gone", "openrouter", "Gone", f"http://127.0.0.1:{free_port()}/v1"),
                upstream_account(upstream, "slow", "routing.run")]
    keys = {"rr": CANARY, "or": OR_CANARY, "rw": RW_CANARY, "gone": OR_CANARY, "slow": CANARY}
    running = await start_gateway(accounts, keys)
    replies: list[httpx.Response] = []

    async def send(method: str, url: str, **kwargs) -> httpx.Response:
        reply = await client.request(method, url, **kwargs)
        replies.append(reply)
        return reply

    chat = {"model": "m", "messages": []}
    for account_id in ("rr", "or", "rw"):
        await send("POST", running.url(account_id, "/chat/completions"), json=chat, headers=running.auth)
        await send("POST", running.url(account_id, "/chat/completions"), headers=running.auth,
                   json={**chat, "stream": True, "max_tokens": 3})
        await send("GET", running.url(account_id, "/no/such/path"), headers=running.auth)
    # Refusals by the providers, in each one's form.
    s.set_counters(CANARY, hour=500)
    s.configure(OR_CANARY, total_credits=0.0, total_usage=1.0)
    for account_id in ("rr", "or"):
        await send("POST", running.url(account_id, "/chat/completions"), json=chat, headers=running.auth)
    # A provider that cannot be reached, and the gateway's own refusals.
    assert (await send("GET", running.url("gone", "/models"), headers=running.auth)).status_code == 502
    # The simulator's echo says what each provider received (credentials as fingerprints).
    echoes = {account_id: await send("POST", running.url(account_id, "/_echo"), headers=running.auth, json={})
              for account_id in ("rr", "or", "rw")}
    await send("GET", running.url("rr", "/models"))
    await send("GET", running.url("rr", "/models"), headers={**running.auth, "Origin": "https://x"})
    await send("GET", f"{running.root}/missing/models", headers=running.auth)
    # A stopped stream and a stopped wait.
    s.script_streams(RW_CANARY, count=1, events=50, hang_after=2, interval_s=0)
    streaming = asyncio.ensure_future(send("POST", running.url("rw", "/chat/completions"), headers=running.auth,
                                           json={**chat, "stream": True}))
    waiting = asyncio.ensure_future(send("POST", running.url("slow", "/hang"), headers=running.auth))
    await eventually(lambda: upstream.open_handlers == 1 and s.stream_stats(RW_CANARY)["active"] == 1)
    assert await running.gateway.kill_all() == {"rw": 1, "slow": 1}
    assert b"Stopped from traywidget" in (await streaming).content and (await waiting).status_code == 499
    await send("GET", f"{running.root}/_traywidget/status", headers=running.auth)

    for account_id, provider, key in (("rr", "routing.run", CANARY), ("or", "openrouter", OR_CANARY),
                                      ("rw", "routeway", RW_CANARY)):
        (credential,) = echoes[account_id].json()["credentials"]
        assert (credential["sha256"], credential["known_key"], credential["provider"]) == (
            fingerprint(key).removeprefix("sha256:"), True, provider)
    for secret in (CANARY, OR_CANARY, RW_CANARY):
        for reply in replies:
            assert secret not in _everything(reply), reply.request.url
        assert secret not in caplog.text
        assert secret[-12:] not in caplog.text
    assert running.token not in caplog.text
    assert all(running.token not in repr(o) for o in running.observations)
    # Where each key did go: to its own provider only; the token went nowhere.
    assert {r.provider for r in s.requests(key=CANARY)} == {"routing.run"}
    assert {r.provider for r in s.requests(key=OR_CANARY)} == {"openrouter"}
    assert {r.provider for r in s.requests(key=RW_CANARY)} == {"routeway"}
    assert s.requests(key=running.token) == []
    assert not any(running.token in repr(r.headers) for r in s.requests())
    assert not any(r.has_origin or r.has_referer for r in s.requests())
    for echo in echoes.values():
        assert fingerprint(running.token) not in echo.text and running.token not in echo.text


def test_reprs_hold_no_secret():
    from traywidget.gateway.server import Gateway
    from traywidget.store.key_cache import KeyCache
    from traywidget.store.secrets import MemorySecretStore

    store = MemorySecretStore()
    store.set("a", CANARY)
    cache = KeyCache(store)
    cache._keys = {"a:api": CANARY}
    gateway = Gateway([Account("a", "routing.run", "A", "https://api.routing.run/v1")], store)
    for thing in (store, cache, gateway, gateway._keys):
        assert CANARY not in repr(thing)
