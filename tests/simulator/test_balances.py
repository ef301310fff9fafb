"""The simulated LiteLLM proxy, DeepSeek and Moonshot, driven only over HTTP as a scripted scenario
would: accounts and blocks made with /_sim, the documented bodies back."""

from __future__ import annotations

import httpx
import pytest

from traywidget.simulator import SimulatorServer


@pytest.fixture(scope="module")
def server():
    with SimulatorServer() as srv:
        yield srv


def control(server, path: str, body: dict) -> dict:
    reply = httpx.post(f"http://127.0.0.1:{server.port}/_sim/{path}", json=body, timeout=5)
    assert reply.status_code == 200, reply.text
    return reply.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_litellm_scenario_over_http(server):
    key = control(server, "account", {"provider": "litellm", "max_budget": 0.003, "cost": 0.002,
                                      "budget_status": 400})["api_key"]
    root = server.url("litellm").removesuffix("/v1")
    info = httpx.get(f"{root}/key/info", headers=bearer(key)).json()["info"]
    assert (info["spend"], info["max_budget"], info["budget_reset_at"]) == (0.0, 0.003, None)
    chat = f"{root}/v1/chat/completions"
    first = httpx.post(chat, headers=bearer(key), json={"model": "m", "messages": []})
    assert (first.status_code, first.headers["x-litellm-key-spend"], first.headers["x-litellm-response-cost"]) == (
        200, "0.002000", "0.002000")
    assert httpx.post(chat, headers=bearer(key), json={}).status_code == 200
    spent = httpx.post(chat, headers=bearer(key), json={})
    assert spent.status_code == 400  # this proxy version refuses a spent budget with 400
    assert spent.json() == {"error": {"message": "Budget has been exceeded! Current cost: 0.004, Max budget: 0.003",
                                      "type": "budget_exceeded", "param": None, "code": "400"}}


def test_deepseek_and_moonshot_scenarios_over_http(server):
    ds = control(server, "account", {"provider": "deepseek"})["api_key"]
    balance = httpx.get(server.url("deepseek").removesuffix("/v1") + "/user/balance", headers=bearer(ds)).json()
    assert balance == {"is_available": True, "balance_infos": [
        {"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]}
    control(server, "configure", {"key": ds, "is_available": False, "balances": [["USD", "0.00", "0.00", "0.00"]]})
    refused = httpx.post(server.url("deepseek") + "/chat/completions", headers=bearer(ds), json={})
    assert (refused.status_code, refused.json()["error"]["message"]) == (402, "Insufficient Balance")
    kimi = control(server, "account", {"provider": "moonshot"})["api_key"]
    assert httpx.get(server.url("moonshot") + "/users/me/balance", headers=bearer(kimi)).json()["data"] == {
        "available_balance": 49.58894, "voucher_balance": 46.58893, "cash_balance": 3.00001}


def test_a_cloudflare_block_over_http(server):
    kimi = control(server, "account", {"provider": "moonshot"})["api_key"]
    control(server, "configure", {"key": kimi, "firewall": "1010"})
    blocked = httpx.get(server.url("moonshot") + "/users/me/balance", headers=bearer(kimi))
    assert (blocked.status_code, blocked.text, blocked.headers["server"]) == (403, "error code: 1010", "cloudflare")
    assert blocked.headers["cf-ray"]
    control(server, "configure", {"key": kimi, "firewall": None})
    assert httpx.get(server.url("moonshot") + "/users/me/balance", headers=bearer(kimi)).status_code == 200
    bad = httpx.post(f"http://127.0.0.1:{server.port}/_sim/configure", json={"key": kimi, "firewall": "1011"})
    assert bad.status_code == 400


def test_wrong_keys_get_each_providers_own_401(server):
    assert httpx.get(server.url("moonshot") + "/users/me/balance", headers=bearer("sk-nope")).json() == {
        "error": {"message": "Invalid Authentication", "type": "invalid_authentication_error", "param": None,
                  "code": None}}
    assert httpx.get(server.url("litellm").removesuffix("/v1") + "/key/info").status_code == 401
