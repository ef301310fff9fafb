"""The shared client's sharded pools, over real sockets: quiet polls keep one connection, a burst
spreads over shards and every request is answered, and the shards' bookkeeping returns to zero."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web

from traywidget.engine.http_client import make_client
from traywidget.engine.pool import ShardedTransport


@pytest.fixture
async def server():
    """A loopback server that answers after `delay` and remembers each request's client port."""
    ports: list[int] = []
    state = {"delay": 0.0}

    async def handle(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])
        await asyncio.sleep(state["delay"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", ports, state
    await runner.cleanup()


async def test_one_account_polling_again_and_again_reuses_one_connection(server):
    url, ports, _ = server
    async with make_client() as client:
        for _ in range(10):
            response = await client.get(url + "/user/requests")
            assert response.status_code == 200
    assert len(ports) == 10
    assert len(set(ports)) == 1


@pytest.mark.slow
async def test_a_burst_is_answered_in_full_and_spread_over_shards(server):
    url, ports, state = server
    state["delay"] = 0.2
    transport = ShardedTransport(httpx.Limits(max_connections=100, max_keepalive_connections=100), shard_connections=4)
    async with httpx.AsyncClient(transport=transport) as client:
        responses = await asyncio.gather(*(client.get(f"{url}/{i}") for i in range(100)))
        assert [r.status_code for r in responses] == [200] * 100
        assert len(set(ports)) == 100  # all at once: as many connections as requests (no queueing)
        assert transport.in_flight == (0,) * 25
        # The next burst finds those connections kept alive.
        ports.clear()
        await asyncio.gather(*(client.get(f"{url}/{i}") for i in range(100)))
        assert len(ports) == 100
    assert len(set(ports)) == 100


@pytest.mark.slow
async def test_requests_beyond_capacity_wait_in_the_shortest_queue(server):
    url, ports, state = server
    state["delay"] = 0.05
    transport = ShardedTransport(httpx.Limits(max_connections=8, max_keepalive_connections=8), shard_connections=4)
    async with httpx.AsyncClient(transport=transport) as client:
        responses = await asyncio.gather(*(client.get(f"{url}/{i}") for i in range(40)))
        assert [r.status_code for r in responses] == [200] * 40
        assert transport.in_flight == (0, 0)
    assert len(set(ports)) <= 8


async def test_a_failed_request_releases_its_place(server):
    transport = ShardedTransport(httpx.Limits(max_connections=4, max_keepalive_connections=4), shard_connections=4)
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(6):  # more failures than places: none may leak
            with pytest.raises(httpx.ConnectError):
                await client.get("http://127.0.0.1:9/")  # discard port: refused
        url, _, _ = server
        assert (await client.get(url + "/after")).status_code == 200
        assert transport.in_flight == (0,)
