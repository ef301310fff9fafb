"""Connection pools that stay cheap when many accounts poll the same host at once.

httpcore's pool re-examines every connection it holds (and for each queued
request, every connection again) whenever a request arrives or a response
closes. A refresh of 100 accounts on one host makes that O(n²): measured
here, most of the refresh's CPU went into those scans. So the one shared
client's transport holds several small pools ("shards") and gives each
request to the first shard with room, counting the requests in flight per
shard. A quiet account always lands in the first shard and reuses its one
kept-alive connection; a burst spills over into the next shards, and every
scan stays as short as one shard.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import httpx

SHARD_CONNECTIONS = 4


class _CountedStream(httpx.AsyncByteStream):
    """The response body; tells its shard when the request is over."""

    def __init__(self, stream: httpx.AsyncByteStream, release) -> None:
        self._stream = stream
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits, shard_connections: int = SHARD_CONNECTIONS, **transport_options) -> None:
        total = limits.max_connections or shard_connections
        shards = max(1, math.ceil(total / shard_connections))
        keepalive = limits.max_keepalive_connections
        capacity = math.ceil(total / shards)
        shard_limits = httpx.Limits(
            max_connections=capacity,
            max_keepalive_connections=None if keepalive is None else max(1, math.ceil(keepalive / shards)),
            keepalive_expiry=limits.keepalive_expiry,
        )
        self._capacity = capacity
        self._shards = [httpx.AsyncHTTPTransport(limits=shard_limits, **transport_options) for _ in range(shards)]
        self._in_flight = [0] * shards

    @property
    def in_flight(self) -> tuple[int, ...]:
        """Requests in flight per shard (what the next request's shard is chosen by)."""
        return tuple(self._in_flight)

    def _pick(self) -> int:
        for index, count in enumerate(self._in_flight):
            if count < self._capacity:
                return index
        return min(range(len(self._shards)), key=self._in_flight.__getitem__)  # all full: the shortest queue

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._pick()
        self._in_flight[index] += 1

        def release() -> None:
            self._in_flight[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        response.stream = _CountedStream(response.stream, release)  # type: ignore[arg-type]  # an async transport's body is async
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
