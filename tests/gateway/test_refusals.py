"""Who may use the gateway: a request without the right token, from a web page
(Origin), for a foreign Host, or for an unknown account is refused with an
OpenAI-shaped error — and never forwarded (the simulator counts zero requests)."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import sim_accounts

CHAT = "/chat/completions"
BODY = {"model": "m", "messages": []}


@pytest.fixture
async def on_sim(start_gateway, sim):
    accounts, keys = sim_accounts(sim)
    return await start_gateway(accounts, keys)


def _error(reply) -> dict:
    data = reply.json()
    assert set(data) == {"error"} and set(data["error"]) == {"message", "type", "param", "code"}
    return data["error"]


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_gateway_token"),
    ({"Authorization": "Bearer twg-wrong"}, "invalid_gateway_token"),
    ({"X-API-Key": "twg-wrong"}, "invalid_gateway_token"),
    ({"x-api-key": ""}, "missing_gateway_token"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_gateway_token"),
    ({"Authorization": "Bearer"}, "missing_gateway_token"),
])
async def test_no_or_wrong_token_is_401_and_says_how_to_get_it(on_sim, sim, client, headers, code):
    reply = await client.post(on_sim.url("rr", CHAT), json=BODY, headers=headers)
    assert reply.status_code == 401
    error = _error(reply)
    assert (error["code"], error["type"]) == (code, "authentication_error")
    assert "traywidget gateway token" in error["message"]
    assert sim.sim.count() == 0
    assert on_sim.observations == [] and on_sim.counts == []


async def test_a_prefix_or_extension_of_the_token_is_wrong(on_sim, sim, client):
    for wrong in (on_sim.token[:-1], on_sim.token + "x", on_sim.token.upper(), on_sim.token[4:], "twg-"):
        reply = await client.post(on_sim.url("rr", CHAT), json=BODY, headers={"X-API-Key": wrong})
        assert reply.status_code == 401, wrong
    assert sim.sim.count() == 0


async def test_the_token_is_accepted_in_every_form_a_tool_sends_a_key(on_sim, client):
    for headers in ({"Authorization": f"Bearer {on_sim.token}"}, {"authorization": f"bearer {on_sim.token}"},
                    {"X-API-Key": on_sim.token}, {"x-api-key": on_sim.token},
                    {"Authorization": "Bearer sk-something-else", "x-api-key": on_sim.token}):
        reply = await client.post(on_sim.url("or", CHAT), json=BODY, headers=headers)
        assert reply.status_code == 200, headers


async def test_a_web_page_is_refused_even_with_the_token(on_sim, sim, client):
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{on_sim.gateway.port}"):
        reply = await client.post(on_sim.url("rr", CHAT), json=BODY, headers={**on_sim.auth, "Origin": origin})
        assert reply.status_code == 403
        assert _error(reply)["code"] == "origin_refused"
    preflight = await client.options(on_sim.url("rr", CHAT), headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert sim.sim.count() == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "localhost.evil.example",
                                  "192.168.1.5", "[::ffff:10.0.0.1]", "0.0.0.0"])
async def test_a_foreign_host_is_refused_dns_rebinding(on_sim, sim, client, host):
    reply = await client.post(on_sim.url("rr", CHAT), json=BODY, headers={**on_sim.auth, "Host": host})
    assert reply.status_code == 403
    assert _error(reply)["code"] == "host_refused"
    assert sim.sim.count() == 0


async def test_loopback_host_names_are_welcome(on_sim, client):
    port = on_sim.gateway.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "LOCALHOST"):
        reply = await client.post(on_sim.url("or", CHAT), json=BODY, headers={**on_sim.auth, "Host": host})
        assert reply.status_code == 200, host


async def test_an_unknown_account_is_404_explaining_the_address_without_listing_accounts(on_sim, sim, client):
    reply = await client.post(f"{on_sim.root}/nope{CHAT}", json=BODY, headers=on_sim.auth)
    assert reply.status_code == 404
    error = _error(reply)
    assert error["code"] == "unknown_account"
    assert f"http://127.0.0.1:{on_sim.gateway.port}/ACCOUNT_ID/PATH" in error["message"]
    assert "traywidget accounts list" in error["message"]
    for account_id in ("rr", "or", "rw"):
        assert f"'{account_id}'" not in error["message"]
    for bare in ("/", "//chat/completions", "/?x=1"):
        reply = await client.get(on_sim.root + bare, headers=on_sim.auth)
        assert (reply.status_code, _error(reply)["code"]) == (404, "unknown_account"), bare
    # Without the token, not even whether an account exists is told.
    assert (await client.post(f"{on_sim.root}/nope{CHAT}", json=BODY)).status_code == 401
    assert sim.sim.count() == 0


async def test_control_endpoints_need_the_token_too(on_sim, client):
    assert (await client.get(f"{on_sim.root}/_traywidget/status")).status_code == 401
    assert (await client.post(f"{on_sim.root}/_traywidget/kill")).status_code == 401
    assert (await client.get(f"{on_sim.root}/_traywidget/health", headers={"Origin": "https://x"})).status_code == 403
    health = await client.get(f"{on_sim.root}/_traywidget/health")
    assert health.status_code == 200 and health.json()["service"] == "traywidget-gateway"
    assert on_sim.token not in health.text


async def test_an_account_without_a_saved_key(start_gateway, sim, client):
    accounts, keys = sim_accounts(sim)
    running = await start_gateway(accounts, {"or": keys["or"]})
    reply = await client.post(running.url("rr", CHAT), json=BODY, headers=running.auth)
    assert reply.status_code == 401
    assert _error(reply)["code"] == "no_provider_key" and "traywidget keys set rr" in _error(reply)["message"]
    assert sim.sim.count() == 0
