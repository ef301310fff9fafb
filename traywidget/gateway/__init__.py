"""The local gateway: the user's tools use traywidget as their base URL.

`http://127.0.0.1:PORT/ACCOUNT_ID/...` stands for that account's base URL.
Requests and responses pass through byte for byte, streamed both ways; the
gateway swaps the local gateway token for the account's real key, reads a copy
of each response to learn from it (rate-limit headers, 429s, SSE error
events) and holds every open exchange in one registry, which Kill all streams
walks. It runs on whatever asyncio loop starts it (no Qt), and hands what it
learns to plain callables, so it never imports the engine.

Modules: server (the Gateway object), proxy (one forwarded exchange), guard
(who may use it), registry (open streams), sse (event boundaries), token (the
gateway token), keys (provider keys), control (/_traywidget/ endpoints),
remote (reaching a running gateway from another process), addresses (where
this user's gateways listen) and connections (inbound connections, bounded).
"""
