"""OpenRouter as documented: GET key, GET credits, errors, free-model limits, SSE."""

from __future__ import annotations

import pytest

KEY_FIELDS = {
    "label", "limit", "limit_reset", "limit_remaining", "include_byok_in_limit", "usage", "usage_daily",
    "usage_weekly", "usage_monthly", "byok_usage", "byok_usage_daily", "byok_usage_weekly",
    "byok_usage_monthly", "is_free_tier", "is_management_key", "expires_at", "rate_limit",
    "free_model_daily_requests",
}
FREE = "meta-llama/llama-3.3-70b-instruct:free"


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def key_info(client, orb, key):
    return client.get(f"{orb}/key", headers=bearer(key))


def test_key_fields(client, orb, sim):
    key = sim.add_openrouter_key(label="mine", limit=10.0, limit_reset="monthly")
    data = key_info(client, orb, key).json()["data"]
    assert set(data) == KEY_FIELDS
    assert data["label"] == "mine" and data["limit"] == 10.0 and data["limit_reset"] == "monthly"
    assert data["limit_remaining"] == 10.0 and data["is_management_key"] is False
    assert data["free_model_daily_requests"] == {"limit": 1000, "remaining": 1000, "used": 0}


def test_unlimited_key_free_tier_and_absent_free_field(client, orb, sim):
    key = sim.add_openrouter_key(total_credits=0, free_requests_field=False)
    data = key_info(client, orb, key).json()["data"]
    assert data["limit"] is None and data["limit_remaining"] is None
    assert data["is_free_tier"] is True
    assert "free_model_daily_requests" not in data


def test_spending_moves_usage_and_limit_remaining(client, orb, sim):
    key = sim.add_openrouter_key(limit=1.0, limit_reset="daily")
    assert sim.spend(key, 10, cost=0.05) == 10
    data = key_info(client, orb, key).json()["data"]
    assert data["usage"] == data["usage_daily"] == data["usage_weekly"] == data["usage_monthly"] == 0.5
    assert data["limit_remaining"] == 0.5


def test_free_requests_count_and_small_accounts_get_50(client, orb, sim):
    key = sim.add_openrouter_key(total_credits=5)
    assert sim.spend(key, 3, model=FREE) == 3
    free = key_info(client, orb, key).json()["data"]["free_model_daily_requests"]
    assert free == {"limit": 50, "remaining": 47, "used": 3}


def test_credits_needs_management_key(client, orb, sim):
    key = sim.add_openrouter_key(total_credits=20, total_usage=2.5)
    refused = client.get(f"{orb}/credits", headers=bearer(key))
    assert refused.status_code == 403
    assert refused.json() == {"error": {"code": 403, "message": "Only management keys can perform this operation"}}
    mgmt = sim.add_management_key(key)
    assert client.get(f"{orb}/credits", headers=bearer(mgmt)).json() == {
        "data": {"total_credits": 20.0, "total_usage": 2.5}}
    assert key_info(client, orb, mgmt).json()["data"]["is_management_key"] is True


@pytest.mark.parametrize("headers, message", [({}, "No auth credentials found"),
                                              (bearer("sk-or-v1-bad"), "User not found.")])
def test_bad_auth_is_401_json(client, orb, headers, message):
    response = client.get(f"{orb}/key", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": message}}


@pytest.mark.slow
def test_stream_has_processing_comments_and_done(client, orb, sim):
    key = sim.add_openrouter_key()
    with client.stream("POST", f"{orb}/chat/completions", headers=bearer(key),
                       json={"model": FREE, "stream": True, "max_tokens": 6}) as response:
        lines = [line for line in response.iter_lines() if line]
    assert ": OPENROUTER PROCESSING" in lines
    assert lines[-1] == "data: [DONE]"
    assert key_info(client, orb, key).json()["data"]["free_model_daily_requests"]["used"] == 1
    assert sim.stream_stats()["openrouter"]["finished"] >= 1


def test_free_minute_limit_429_with_headers(client, orb, sim, clock):
    key = sim.add_openrouter_key()
    assert sim.spend(key, 25, model=FREE) == 20
    response = client.post(f"{orb}/chat/completions", headers=bearer(key), json={"model": FREE})
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == 429 and error["metadata"] == {"error_type": "rate_limit_exceeded"}
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "20" and response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > clock.now.timestamp() * 1000


def test_negative_balance_is_402_even_for_free_models(client, orb, sim):
    key = sim.add_openrouter_key(total_credits=1, total_usage=1.5)
    response = client.post(f"{orb}/chat/completions", headers=bearer(key), json={"model": FREE})
    assert response.status_code == 402 and response.json()["error"]["code"] == 402
