"""The endpoints a pass-through proxy is tested with: echo, binary bodies,
multipart uploads, gzip, and the per-key request counter."""

from __future__ import annotations

import gzip
import hashlib
import os

import httpx
import pytest

from tests.simulator.sse import parse
from traywidget.simulator.passthrough import fingerprint, payload, sse_body

PROVIDERS = ["routing.run", "openrouter", "routeway", "openai-compatible"]


@pytest.fixture(params=PROVIDERS)
def base(request, server):
    return server.url(request.param)


def test_echo_reports_method_path_query_headers_and_body(client, base, server):
    body = os.urandom(5 * 1024 * 1024 + 3)
    response = client.request(
        "PUT", f"{base}/_echo/some/deep%20path", params=[("a", "1"), ("a", "2"), ("b", "x y")], content=body,
        headers=[("X-Trace", "one"), ("X-Trace", "two"), ("Content-Type", "application/octet-stream")])
    assert response.status_code == 200
    echo = response.json()
    prefix = base.removeprefix(f"http://127.0.0.1:{server.port}")
    assert echo["method"] == "PUT"
    assert echo["path"] == f"{prefix}/_echo/some/deep path"
    assert echo["raw_path"] == f"{prefix}/_echo/some/deep%20path?a=1&a=2&b=x+y"
    assert echo["query"] == "a=1&a=2&b=x+y"
    assert echo["http_version"] == "1.1"
    assert [value for name, value in echo["headers"] if name == "X-Trace"] == ["one", "two"]
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert echo["credentials"] == []


@pytest.mark.parametrize("header, value, shown, scheme", [
    ("Authorization", "Bearer {key}", "Bearer {fp}", "Bearer"),
    ("X-API-Key", "{key}", "{fp}", None),
    ("x-api-key", "{key}", "{fp}", None),
])
def test_echo_fingerprints_credentials_and_never_returns_them(client, sim, server, header, value, shown, scheme):
    key = sim.add_openrouter_key()
    token = "tw-gateway-token-" + "t" * 30
    response = client.post(f"{server.url('openrouter')}/_echo", headers={header: value.format(key=key),
                                                                          "Api-Key": token})
    assert key.encode() not in response.content and token.encode() not in response.content
    echo = response.json()
    headers = dict(echo["headers"])
    assert headers[header] == shown.format(fp=fingerprint(key))
    assert headers["Api-Key"] == fingerprint(token)
    assert echo["credentials"] == [
        {"header": header, "scheme": scheme, "sha256": fingerprint(key).removeprefix("sha256:"),
         "known_key": True, "provider": "openrouter"},
        {"header": "Api-Key", "scheme": None, "sha256": fingerprint(token).removeprefix("sha256:"),
         "known_key": False, "provider": None}]


def test_echo_sets_status_and_headers_on_request(client, base):
    response = client.get(f"{base}/_echo", params=[("status", "418"), ("header", "X-One: 1"),
                                                   ("header", "X-RateLimit-Remaining: 7")])
    assert response.status_code == 418
    assert response.headers["X-One"] == "1" and response.headers["X-RateLimit-Remaining"] == "7"
    for bad in ({"status": "teapot"}, {"status": "204"}, {"status": "99"}, {"header": "no colon"}):
        assert client.get(f"{base}/_echo", params=bad).status_code == 400


@pytest.mark.parametrize("chunked", [False, True])
def test_binary_body_is_deterministic_and_exact(client, base, chunked):
    size = 3 * 1024 * 1024 + 17
    params = {"size": size, "seed": 7, **({"chunked": "1"} if chunked else {})}
    response = client.get(f"{base}/_bytes", params=params, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == payload(size, 7)
    if chunked:
        assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
    else:
        assert response.headers["content-length"] == str(size)
    assert len(set(response.content)) == 256
    assert payload(1000, 8) != payload(1000, 7)


def test_binary_gzip_when_asked(server):
    with httpx.Client() as client, client.stream("GET", f"{server.url('routeway')}/_bytes",
                                                 params={"size": 200_000},
                                                 headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == payload(200_000)


@pytest.mark.parametrize("params", [{"size": -1}, {"size": "lots"}, {"size": 1 << 30}, {"size": 5, "seed": "x"}])
def test_binary_bad_sizes(client, base, params):
    assert client.get(f"{base}/_bytes", params=params).status_code == 400


def test_upload_answers_with_what_it_received(client, base):
    blob = os.urandom(3 * 1024 * 1024)
    response = client.post(f"{base}/_upload", data={"purpose": "fine-tune"},
                           files={"file": ("train.jsonl", blob, "application/jsonl")})
    assert response.status_code == 200
    body = response.json()
    assert body["content_type"].startswith("multipart/form-data; boundary=")
    assert body["parts"] == [
        {"name": "purpose", "filename": None, "content_type": None, "length": 9,
         "sha256": hashlib.sha256(b"fine-tune").hexdigest()},
        {"name": "file", "filename": "train.jsonl", "content_type": "application/jsonl", "length": len(blob),
         "sha256": hashlib.sha256(blob).hexdigest()}]
    refused = client.post(f"{base}/_upload", json={"file": "no"})
    assert refused.status_code == 400


def test_echo_gzip_when_asked(server):
    with httpx.Client() as client:
        response = client.get(f"{server.url('openrouter')}/_echo", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip" and response.json()["method"] == "GET"


def test_requests_are_counted_per_key(client, sim, server):
    used, unused = sim.add_routing_key(), sim.add_routing_key()
    base = server.url("routing.run")
    client.post(f"{base}/_echo", headers={"X-API-Key": used})
    client.get(f"{base}/_bytes", params={"size": 10}, headers={"Authorization": f"Bearer {used}"})
    client.get(f"{base}/user/requests", headers={"X-API-Key": used})
    assert sim.count(key=used) == 3
    assert sim.count(key=used, path="_echo") == 1
    assert sim.count(key=unused) == 0
    counted = client.get(f"http://127.0.0.1:{server.port}/_sim/requests", params={"key": unused}).json()
    assert counted == {"ok": True, "count": 0}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_deterministic_sse_stream(client, base, method):
    params = {"events": 50, "event_bytes": 100, "seed": 3}
    response = client.request(method, f"{base}/_sse", params=params)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == sse_body(50, 100, 3)
    events = parse(response.content)
    assert len(events) == 51 and events[-1].data == "[DONE]"
    assert [e.json["index"] for e in events[:-1]] == list(range(50))
    assert {len(frame) for frame in response.content.split(b"\n\n")[:-2]} == {100 - 2}
    assert client.request(method, f"{base}/_sse", params=params).content == response.content
    assert sse_body(50, 100, 4) != response.content
    assert client.get(f"{base}/_sse", params={"events": -1}).status_code == 400


@pytest.mark.parametrize("accept, zipped", [
    ("gzip", True), ("br, gzip;q=0.5", True), ("GZIP", True), ("gzip;q=0", False), ("gzip; q=0.000", False),
    ("deflate", False), ("identity", False), ("gzip;q=bad", False),
])
def test_gzip_follows_accept_encoding(server, accept, zipped):
    with httpx.Client() as client, client.stream("GET", f"{server.url('routing.run')}/_echo",
                                                 headers={"Accept-Encoding": accept}) as response:
        raw = b"".join(response.iter_raw())
    assert (response.headers.get("content-encoding") == "gzip") is zipped
    assert (raw[:2] == b"\x1f\x8b") is zipped
