"""Routeway as documented: management-key usage endpoints, :free limits and both 429 forms."""

from __future__ import annotations

import pytest

ROW_FIELDS = {"api_key_id", "key", "created_at", "label", "daily_limit", "minute_limit", "balance",
              "usage_today", "usage_minute", "last_used_at", "use_subs_first", "fallback_to_payg"}
FREE = "deepseek-r1:free"
WINDOW_HEADERS = ("X-RateLimit-Limit-Minute", "X-RateLimit-Remaining-Minute", "X-RateLimit-Reset-Minute",
                  "X-RateLimit-Limit-Day", "X-RateLimit-Remaining-Day", "X-RateLimit-Reset-Day")


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def account(sim):
    key = sim.add_routeway_key(label="mine", balance=4.2)
    return key, sim.add_management_key(key)


def test_keys_list_row_and_masking(client, rw, sim, account):
    key, mgmt = account
    sim.spend(key, 2)
    rows = client.get(f"{rw}/account/keys", headers=bearer(mgmt)).json()["data"]
    assert len(rows) == 1 and set(rows[0]) == ROW_FIELDS
    row = rows[0]
    assert row["key"] == key[:8] + "..." + key[-4:]
    assert (row["daily_limit"], row["minute_limit"], row["usage_today"], row["usage_minute"]) == (200, 5, 2, 2)
    assert row["last_used_at"] is not None
    one = client.get(f"{rw}/account/keys/{row['api_key_id']}", headers=bearer(mgmt)).json()
    assert one == {"data": row}
    assert client.get(f"{rw}/account/keys/999999", headers=bearer(mgmt)).status_code == 404


def test_mask_prefix_configurable(client, rw, sim):
    key = sim.add_routeway_key(mask_prefix=6)
    mgmt = sim.add_management_key(key)
    assert client.get(f"{rw}/account/keys", headers=bearer(mgmt)).json()["data"][0]["key"] == key[:6] + "..." + key[-4:]


def test_balance(client, rw, account):
    assert client.get(f"{rw}/account/balance", headers=bearer(account[1])).json() == {"balance": 4.2}


@pytest.mark.parametrize("path", ["account/keys", "account/balance"])
def test_plain_key_refused_with_json_error(client, rw, account, path):
    response = client.get(f"{rw}/{path}", headers=bearer(account[0]))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == 403 and error["message"]
    missing = client.get(f"{rw}/{path}")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    bad = client.get(f"{rw}/{path}", headers=bearer("sk-nope"))
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "authentication_error"


def chat(client, rw, key, model=FREE):
    return client.post(f"{rw}/chat/completions", headers=bearer(key), json={"model": model})


def test_free_model_minute_limit_new_form_and_headers(client, rw, account):
    key = account[0]
    for n in range(5):
        ok = chat(client, rw, key)
        assert ok.status_code == 200
        assert ok.headers["X-RateLimit-Remaining-Minute"] == str(4 - n)
        assert all(h in ok.headers for h in WINDOW_HEADERS)
    refused = chat(client, rw, key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert error["status_code"] == 429 and error["param"] is None
    assert {"id", "docs", "support", "message"} <= set(error)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert all(h in refused.headers for h in WINDOW_HEADERS)
    assert refused.headers["X-RateLimit-Remaining-Minute"] == "0"
    assert 0 < int(refused.headers["X-RateLimit-Reset-Day"]) <= 86400


def test_daily_limit_and_legacy_form(client, rw, sim, clock):
    key = sim.add_routeway_key(daily_limit=6, legacy_errors=True)
    assert sim.spend(key, 10) == 5
    clock.advance(61)
    assert sim.spend(key, 1) == 1
    refused = chat(client, rw, key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "error" and error["code"] == 429 and "tip" in error
    assert refused.headers["X-RateLimit-Remaining-Day"] == "0"


def test_paid_models_unlimited_but_need_balance(client, rw, sim):
    key = sim.add_routeway_key(balance=0.004)
    assert sim.spend(key, 20, model="gpt-4o") == 2  # 0.002 each
    response = chat(client, rw, key, "gpt-4o")
    assert response.status_code == 402 and response.json()["error"]["message"]


def test_management_endpoint_limit(client, rw, account):
    statuses = [client.get(f"{rw}/account/keys", headers=bearer(account[1])).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_free_model_answers_carry_retry_after(client, rw, sim, clock):
    clock.set(clock.now.replace(hour=12, minute=0, second=0, microsecond=0))
    key = sim.add_routeway_key(minute_limit=2, daily_limit=200)
    first = chat(client, rw, key)
    assert (first.headers["Retry-After"], first.headers["X-RateLimit-Remaining-Minute"]) == ("0", "1")
    assert first.headers["X-RateLimit-Reset-Minute"] == "60"
    assert first.headers["X-RateLimit-Reset-Day"] == str(12 * 3600)
    last = chat(client, rw, key)  # the window is now used up: the next request must wait
    assert (last.headers["Retry-After"], last.headers["X-RateLimit-Remaining-Minute"]) == ("60", "0")
    refused = chat(client, rw, key)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    paid = chat(client, rw, key, "gpt-4o")
    assert paid.status_code == 200
    assert not any(h.lower().startswith(("x-ratelimit", "retry-after")) for h in paid.headers)


def test_free_model_stream_carries_window_headers(client, rw, sim):
    key = sim.add_routeway_key()
    response = client.post(f"{rw}/chat/completions", headers=bearer(key),
                           json={"model": FREE, "stream": True, "max_tokens": 2})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert all(h in response.headers for h in WINDOW_HEADERS) and response.headers["Retry-After"] == "0"
    assert response.headers["X-RateLimit-Remaining-Minute"] == "4"
