"""The local gateway: what passing through it costs, side by side with going direct.

Three processes, so no one's CPU counts as another's:

    python -m bench.gateway upstream            the simulator (+ a timed SSE source), "READY <json>"
    python -m bench.gateway gateway PORT KEYS   traywidget's Gateway over it, "READY <port> <token>"
    (the bench process)                         the client, aiohttp, timing everything

and, when a LiteLLM proxy is installed (`litellm` on PATH or LITELLM_BIN), LiteLLM over the
same upstream as a third column.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    PY,
    ROOT,
    Context,
    Result,
    added,
    bench_env,
    cpu_seconds,
    p99,
    proc_status_kb,
    read_line,
    rnd,
    stop,
)

NAME = "gateway"
STREAMS = 50
EVENTS = 2000
HELD_STREAMS = 200
TIMER_S = 0.005
MANY_REQUESTS = 10_000
# The events of the timed source: an OpenAI chat.completion.chunk whose content is
# the upstream's CLOCK_MONOTONIC at sending, in ns (one clock for every process here).
PAD = "x" * 120  # a realistic chunk is 150-300 bytes

METHOD = f"""\
Three processes on this machine: the simulator (`traywidget.simulator`'s app, plus a timed
OpenAI-style SSE source at `/bench/v1/chat/completions` whose every event carries the moment it was
sent, `time.monotonic_ns()`, in its `content`), the gateway (`traywidget.gateway.server.Gateway`,
token in memory) and the client (the bench process, aiohttp). "direct" is the client talking to the
simulator, "gateway" the same requests through `http://127.0.0.1:PORT/ACCOUNT_ID/...`; the two are
interleaved so drift hits both. "Added" is per request: each request through the gateway is paired
with the direct request measured right beside it, and the median and the p99 are of those
differences (the p99 of the added delay, not the difference of two p99s).
- TTFB: non-streaming `POST chat/completions` on a simulator OpenRouter account, one at a time on a
  kept-alive connection, time from sending to the response's headers; one request per route in turn
  (the order alternating), so request i through the gateway pairs with request i direct.
- Per-event delay: one stream of {EVENTS} events 2 ms apart per route and round; delay = arrival − sent
  per event; event k of the gateway's stream pairs with event k of the direct stream of the same round.
- Throughput: {STREAMS} concurrent streams × {EVENTS} events each, the source sending as fast as it can
  (and, separately, paced at 2 ms per event per stream); events per second over the whole run, and the
  gateway process's CPU time (user + system) per event forwarded, which the machine's load moves less.
- Memory per open stream: the gateway process's RSS before and while {HELD_STREAMS} streams (one event
  per second) are open through it, divided by {HELD_STREAMS}.
- Memory after {MANY_REQUESTS:,} proxied requests (10 at a time): RSS after the first 1,000 and after all.
- Kill: {STREAMS} streams open through the gateway (an event every 20 ms); `POST /_traywidget/kill`;
  time to the last client stream's end (each client must get the stopped-stream error event) and to the
  last upstream connection closed (as the simulator saw it); and from {STREAMS} clients hanging up
  mid-stream to the last upstream connection closed.
- GUI stall: a child process runs a Qt event loop (QCoreApplication, offscreen) on its main thread and
  the gateway on a `traywidget.engine.loop_thread.LoopThread`, as the app runs them; a 5 ms PreciseTimer
  records how late each tick fires, first with the gateway idle (2 s), then while {STREAMS} streams ×
  {EVENTS} events paced at 2 ms flow through it; the largest lateness of each phase.
- LiteLLM (third column, only when its proxy is installed): `litellm --config` with one model
  `openai/bench` at the same source; TTFB and per-event delay on the same streams."""


# --------------------------------------------------------------------------- processes


def _upstream_app():
    from aiohttp import web

    from traywidget.simulator import Simulator
    from traywidget.simulator.web_app import make_app

    sim = Simulator()
    app = make_app(sim)
    closed: list[int] = []

    async def timed_stream(request: web.Request) -> web.StreamResponse:
        # The shape is in the model's name ("bench-e2000-i2": 2,000 events 2 ms apart), which
        # every proxy passes on as it is.
        shape = re.search(r"-e(\d+)-i([\d.]+)$", str((await request.json()).get("model", "")))
        events, interval = (int(shape[1]), float(shape[2]) / 1000) if shape else (EVENTS, 0.0)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        head = b'data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[' \
               b'{"index":0,"delta":{"content":"'
        tail = ('"},"finish_reason":null}],"pad":"' + PAD + '"}\n\n').encode()
        try:
            for _ in range(events):
                await response.write(head + str(time.monotonic_ns()).encode() + tail)
                await asyncio.sleep(interval)
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        finally:
            closed.append(time.monotonic_ns())
        return response

    async def take_closed(request: web.Request) -> web.Response:
        times = list(closed)
        closed.clear()
        return web.json_response({"closed": times})

    app.router.add_post("/bench/v1/chat/completions", timed_stream)
    app.router.add_post("/_bench/closed", take_closed)
    return app, sim


async def _serve_upstream() -> None:
    from aiohttp import web

    app, sim = _upstream_app()
    runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True,
                           shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
    port = runner.addresses[0][1]
    # Enough credit that 20,000 paid requests never run it dry.
    key = sim.add_openrouter_key(total_credits=1e6)
    print("READY " + json.dumps({"port": port, "openrouter": key}), flush=True)
    await asyncio.Event().wait()


def _accounts(upstream_port: int):
    from traywidget.model import Account

    base = f"http://127.0.0.1:{upstream_port}"
    return [Account("or", "openrouter", "OpenRouter", base + "/openrouter/api/v1"),
            Account("bench", "openai-compatible", "Bench", base + "/bench/v1")]


async def _serve_gateway(upstream_port: int, keys: dict[str, str]) -> None:
    from traywidget.gateway.server import Gateway
    from traywidget.store.secrets import MemorySecretStore

    store = MemorySecretStore()
    for account_id, key in keys.items():
        store.set(account_id, key)
    gateway = Gateway(_accounts(upstream_port), store)
    port = await gateway.start(0)
    print(f"READY {port} {gateway.token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.stop()


def _serve_gateway_beside_qt(upstream_port: int, keys: dict[str, str]) -> None:
    """The gateway on a loop thread of its own (as the app runs it) while a Qt event loop on the
    main thread ticks a 5 ms timer; stdin says which phase it is ("idle", "load", "done")."""
    import threading

    from PySide6.QtCore import QCoreApplication, Qt, QTimer

    from traywidget.engine.loop_thread import LoopThread
    from traywidget.gateway.server import Gateway
    from traywidget.store.secrets import MemorySecretStore

    app = QCoreApplication([])
    store = MemorySecretStore()
    for account_id, key in keys.items():
        store.set(account_id, key)
    thread = LoopThread("traywidget-gateway")
    thread.start()
    gateway = Gateway(_accounts(upstream_port), store)
    port = asyncio.run_coroutine_threadsafe(gateway.start(0), thread.loop).result(30)
    late: dict[str, list[float]] = {"idle": [], "load": []}
    phase = ["starting"]
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        if phase[0] in late:
            late[phase[0]].append(max(0.0, now - last[0] - TIMER_S))
        elif phase[0] == "done":
            app.quit()
        last[0] = now

    def read_phases() -> None:
        for line in sys.stdin:
            phase[0] = line.strip()

    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=int(TIMER_S * 1000))
    timer.timeout.connect(tick)
    timer.start()
    threading.Thread(target=read_phases, daemon=True).start()
    print(f"READY {port} {gateway.token}", flush=True)
    app.exec()
    asyncio.run_coroutine_threadsafe(gateway.stop(), thread.loop).result(30)
    print(json.dumps({name: {"max_ms": max(v) * 1000, "p99_ms": p99(v) * 1000} for name, v in late.items()}),
          flush=True)


class Processes:
    """The upstream and the gateway (and LiteLLM when installed), each in its own process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.procs: list[subprocess.Popen] = []

    def _start(self, args: list[str], ready: str = "READY", timeout: float = 30) -> tuple[subprocess.Popen, str]:
        proc = subprocess.Popen(args, cwd=ROOT, env=bench_env(), stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc, read_line(proc, ready, timeout)

    def __enter__(self) -> Processes:
        _, line = self._start([PY, "-m", "bench.gateway", "upstream"])
        info = json.loads(line.split(" ", 1)[1])
        self.upstream_port, self.openrouter_key = info["port"], info["openrouter"]
        keys = json.dumps({"or": self.openrouter_key, "bench": "sk-bench"})
        self.gateway, line = self._start([PY, "-m", "bench.gateway", "gateway", str(self.upstream_port), keys])
        _, port, self.token = line.split()
        self.gateway_port = int(port)
        self.litellm_port = self._start_litellm()
        return self

    def _start_litellm(self) -> int | None:
        binary = os.environ.get("LITELLM_BIN") or shutil.which("litellm")
        if not binary:
            return None
        from tests.desktop_session import free_port

        port = free_port()
        config = Path(tempfile.mkdtemp(prefix="traywidget-bench-litellm-")) / "config.yaml"
        upstream = f"http://127.0.0.1:{self.upstream_port}"
        config.write_text(
            "model_list:\n"
            f"  - model_name: 'sim-or/*'\n    litellm_params:\n      model: 'openai/*'\n"
            f"      api_base: {upstream}/openrouter/api/v1\n      api_key: {self.openrouter_key}\n"
            f"  - model_name: '*'\n    litellm_params:\n      model: 'openai/*'\n"
            f"      api_base: {upstream}/bench/v1\n      api_key: sk-bench\n")
        self.litellm_key = "sk-bench-" + secrets.token_hex(16)
        env = {**bench_env(), "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true",
               "LITELLM_MASTER_KEY": self.litellm_key}
        proc = subprocess.Popen([binary, "--config", str(config), "--port", str(port), "--host", "127.0.0.1",
                                 "--num_workers", "1"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        deadline = time.monotonic() + 120
        import httpx

        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                    self.litellm_version = _litellm_version(binary)
                    return port
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        self.ctx.log("   LiteLLM did not start; its column is left out")
        return None

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            stop(proc)

    # where a request goes, per route
    def base(self, route: str, account: str) -> tuple[str, dict[str, str]]:
        if route == "direct":
            if account == "or":
                return (f"http://127.0.0.1:{self.upstream_port}/openrouter/api/v1",
                        {"Authorization": f"Bearer {self.openrouter_key}"})
            return f"http://127.0.0.1:{self.upstream_port}/bench/v1", {"Authorization": "Bearer sk-bench"}
        if route == "litellm":
            return f"http://127.0.0.1:{self.litellm_port}/v1", {"Authorization": f"Bearer {self.litellm_key}"}
        return f"http://127.0.0.1:{self.gateway_port}/{account}", {"Authorization": f"Bearer {self.token}"}


def _litellm_version(binary: str) -> str:
    done = subprocess.run([str(Path(binary).with_name("python")), "-c",
                           "import importlib.metadata as m; print(m.version('litellm'))"],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "?"


# --------------------------------------------------------------------------- measurements


async def _ttfb(procs: Processes, route: str, session, n: int) -> list[float]:
    url, headers = procs.base(route, "or")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    if route == "litellm":
        body["model"] = "sim-or/gpt-4o-mini"
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.post(url + "/chat/completions", json=body, headers=headers) as reply:
            times.append(time.perf_counter() - t0)
            await reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{route}: HTTP {reply.status}")
    return times


async def _stream(procs: Processes, route: str, session, events: int, interval_ms: float,
                  delays: list[float] | None = None) -> tuple[int, bytes]:
    """One timed stream; returns (events seen, the last event)."""
    url, headers = procs.base(route, "bench")
    body = {"model": f"bench-e{events}-i{interval_ms:g}", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    seen, pending, last = 0, b"", b""
    async with session.post(url + "/chat/completions", json=body, headers=headers) as reply:
        if reply.status != 200:
            raise RuntimeError(f"{route}: HTTP {reply.status}: {(await reply.read())[:200]!r}")
        while True:
            chunk = await reply.content.readany()
            if not chunk:
                break
            now = time.monotonic_ns()
            data = pending + chunk
            *complete, pending = data.split(b"\n\n")
            for event in complete:
                if not event.startswith(b"data: {"):
                    last = event or last
                    continue
                seen += 1
                last = event
                if delays is not None:
                    content = json.loads(event[6:])["choices"][0]["delta"].get("content") or ""
                    if content.isdigit():
                        delays.append((now - int(content)) / 1e6)
    return seen, last


async def _event_delays(procs: Processes, route: str, session, reps: int) -> list[float]:
    delays: list[float] = []
    for _ in range(reps):
        await _stream(procs, route, session, EVENTS, 2.0, delays)
    return delays[10:]  # the first events of a connection are not what a stream looks like


async def _throughput(procs: Processes, route: str, session, interval_ms: float,
                      cpu_of: int | None = None) -> tuple[float, float]:
    """(events per second, the gateway process's CPU µs per event)."""
    gateway_pid = cpu_of or procs.gateway.pid
    cpu0 = cpu_seconds(gateway_pid)
    t0 = time.perf_counter()
    results = await asyncio.gather(*(_stream(procs, route, session, EVENTS, interval_ms) for _ in range(STREAMS)))
    elapsed = time.perf_counter() - t0
    if any(seen != EVENTS for seen, _ in results):
        raise RuntimeError(f"{route}: a stream lost events: {[s for s, _ in results]}")
    return STREAMS * EVENTS / elapsed, (cpu_seconds(gateway_pid) - cpu0) * 1e6 / (STREAMS * EVENTS)


def _rss_kb(procs: Processes) -> int:
    return proc_status_kb(procs.gateway.pid, "VmRSS")


async def _memory_per_stream(procs: Processes, session) -> float:
    for _ in range(3):  # warm: the first streams allocate what every stream reuses
        await asyncio.gather(*(_stream(procs, "gateway", session, 3, 1) for _ in range(HELD_STREAMS // 4)))
    await asyncio.sleep(0.5)
    before = _rss_kb(procs)
    started = asyncio.Event()
    opened = [0]

    async def held() -> None:
        url, headers = procs.base("gateway", "bench")
        body = {"model": "bench-e30-i1000", "stream": True}
        async with session.post(url + "/chat/completions", json=body, headers=headers) as reply:
            await reply.content.readany()
            opened[0] += 1
            if opened[0] == HELD_STREAMS:
                started.set()
            await reply.read()

    tasks = [asyncio.ensure_future(held()) for _ in range(HELD_STREAMS)]
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.sleep(1.5)
    during = _rss_kb(procs)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return (during - before) / HELD_STREAMS


async def _memory_after_requests(procs: Processes, session, total: int) -> tuple[float, float]:
    url, headers = procs.base("gateway", "or")
    body = {"model": "gpt-4o-mini", "messages": [], "max_tokens": 4}
    done = [0]
    marks: dict[int, int] = {}

    async def worker() -> None:
        while done[0] < total:
            done[0] += 1
            async with session.post(url + "/chat/completions", json=body, headers=headers) as reply:
                await reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}")
            if done[0] in (1000, total):
                marks[done[0]] = _rss_kb(procs)

    await asyncio.gather(*(worker() for _ in range(10)))
    return marks.get(1000, 0) / 1024, _rss_kb(procs) / 1024


async def _kill(procs: Processes, session) -> tuple[float, float]:
    await session.post(f"http://127.0.0.1:{procs.upstream_port}/_bench/closed")
    opened = asyncio.Event()
    count = [0]
    ends: list[int] = []
    lasts: list[bytes] = []

    async def one() -> None:
        url, headers = procs.base("gateway", "bench")
        body = {"model": "bench-e100000-i20", "stream": True}
        async with session.post(url + "/chat/completions", json=body, headers=headers) as reply:
            pending = await reply.content.readany()
            count[0] += 1
            if count[0] == STREAMS:
                opened.set()
            while chunk := await reply.content.readany():
                pending = (pending + chunk)[-4096:]
            ends.append(time.monotonic_ns())
            lasts.append(pending)

    tasks = [asyncio.ensure_future(one()) for _ in range(STREAMS)]
    await asyncio.wait_for(opened.wait(), 30)
    await asyncio.sleep(0.2)
    t0 = time.monotonic_ns()
    async with session.post(f"http://127.0.0.1:{procs.gateway_port}/_traywidget/kill",
                            headers={"Authorization": f"Bearer {procs.token}"}) as reply:
        stopped = (await reply.json())["stopped"]
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    if stopped.get("bench") != STREAMS or len(ends) != STREAMS:
        raise RuntimeError(f"kill stopped {stopped}, {len(ends)} clients ended")
    if not all(b"Stopped from traywidget" in last for last in lasts):
        raise RuntimeError("a client stream ended without the stopped-stream event")
    closed = await _upstream_closed(procs, session, "")
    return (max(ends) - t0) / 1e9, (max(closed) - t0) / 1e9


async def _upstream_closed(procs: Processes, session, when: str) -> list[int]:
    """When (monotonic ns) the upstream saw each of the {STREAMS} streams closed, waiting up to 5 s for all."""
    closed: list[int] = []
    deadline = time.monotonic() + 5
    while len(closed) < STREAMS and time.monotonic() < deadline:
        async with session.post(f"http://127.0.0.1:{procs.upstream_port}/_bench/closed") as reply:
            closed += (await reply.json())["closed"]
        await asyncio.sleep(0.05)
    if len(closed) < STREAMS:
        raise RuntimeError(f"only {len(closed)} of {STREAMS} upstream streams closed{when}")
    return closed


async def _disconnect(procs: Processes) -> float:
    """Seconds from the last of {STREAMS} clients hanging up mid-stream to the last upstream closed."""
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await session.post(f"http://127.0.0.1:{procs.upstream_port}/_bench/closed")
        url, headers = procs.base("gateway", "bench")
        replies = []
        for _ in range(STREAMS):
            reply = await session.post(url + "/chat/completions", headers=headers,
                                       json={"model": "bench-e100000-i20", "stream": True})
            await reply.content.readany()
            replies.append(reply)
        await asyncio.sleep(0.2)
        for reply in replies:
            reply.close()  # drops the connection, as a tool that is stopped does
        gone = time.monotonic_ns()
        closed = await _upstream_closed(procs, session, " after their clients left")
    return (max(closed) - gone) / 1e9


async def _gui_stall(procs: Processes) -> dict[str, dict[str, float]]:
    """The GUI loop's lateness, idle and while {STREAMS} streams flow through a gateway on its own thread."""
    import aiohttp

    keys = json.dumps({"or": procs.openrouter_key, "bench": "sk-bench"})
    proc = subprocess.Popen([PY, "-m", "bench.gateway", "beside-qt", str(procs.upstream_port), keys], cwd=ROOT,
                            env=bench_env(QT_QPA_PLATFORM="offscreen"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        _, port, token = read_line(proc, "READY", 30).split()
        beside = Processes.__new__(Processes)
        beside.upstream_port, beside.gateway_port, beside.token = procs.upstream_port, int(port), token
        proc.stdin.write("idle\n")
        proc.stdin.flush()
        await asyncio.sleep(2.0)
        proc.stdin.write("load\n")
        proc.stdin.flush()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await _throughput(beside, "gateway", session, 2.0, cpu_of=proc.pid)
        proc.stdin.write("done\n")
        proc.stdin.flush()
        return json.loads(read_line(proc, "{", 30))
    finally:
        stop(proc)


# --------------------------------------------------------------------------- the run


async def _measure(ctx: Context, procs: Processes) -> list[Result]:
    import aiohttp

    out: list[Result] = []
    routes = ["direct", "gateway"] + (["litellm"] if procs.litellm_port else [])
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:
        # TTFB: one request per route in turn, so drift hits every route alike and requests pair up.
        ttfb: dict[str, list[float]] = {r: [] for r in routes}
        for route in routes:
            await _ttfb(procs, route, session, 20)  # warm connections
        for i in range(ctx.reps(300, 40)):
            for route in routes if i % 2 == 0 else routes[::-1]:  # neither route always goes first
                ttfb[route] += await _ttfb(procs, route, session, 1)
        direct = ttfb["direct"]
        for route in routes[1:]:
            label = "gateway" if route == "gateway" else f"LiteLLM {procs.litellm_version}"
            added_ms = [s * 1000 for s in added(ttfb[route], direct)]
            out.append(Result(NAME, f"added time to first byte per request, median ({label})", rnd(added_ms[0]), "ms",
                              "< 2 ms" if route == "gateway" else "", added_ms[0] < 2 if route == "gateway" else None))
            out.append(Result(NAME, f"added time to first byte per request, p99 ({label})", rnd(added_ms[1]), "ms"))
        out.append(Result(NAME, "time to first byte direct, median", rnd(statistics.median(direct) * 1000), "ms"))

        # Per-event delay.
        delays: dict[str, list[float]] = {r: [] for r in routes}
        # Event k of a stream through a route pairs with event k of the direct stream of the same round.
        for _ in range(ctx.reps(3, 1)):
            this_round = {route: await _event_delays(procs, route, session, 1) for route in routes}
            if len({len(events) for events in this_round.values()}) != 1:
                raise RuntimeError(f"streams of one round saw different numbers of timed events: "
                                   f"{ {route: len(events) for route, events in this_round.items()} }")
            for route in routes:
                delays[route] += this_round[route]
        for route in routes[1:]:
            label = "gateway" if route == "gateway" else f"LiteLLM {procs.litellm_version}"
            per_event = added(delays[route], delays["direct"])
            out.append(Result(NAME, f"added delay per SSE event, median ({label})", rnd(per_event[0]), "ms",
                              "< 0.5 ms" if route == "gateway" else "",
                              per_event[0] < 0.5 if route == "gateway" else None))
            out.append(Result(NAME, f"added delay per SSE event, p99 ({label})", rnd(per_event[1]), "ms"))
        out.append(Result(NAME, "delay per SSE event direct, median", rnd(statistics.median(delays["direct"])), "ms"))

        # Throughput: flat out, and paced like a model that streams.
        for interval, what in ((0.0, "as fast as the source sends"), (2.0, "paced at 2 ms per event")):
            rates: dict[str, list[float]] = {"direct": [], "gateway": []}
            cpu: list[float] = []
            for _ in range(ctx.reps(3, 1)):
                for route in ("direct", "gateway"):
                    rate, per_event = await _throughput(procs, route, session, interval)
                    rates[route].append(rate)
                    if route == "gateway":
                        cpu.append(per_event)
            ratio = statistics.median(rates["gateway"]) / statistics.median(rates["direct"])
            for route in ("direct", "gateway"):
                out.append(Result(NAME, f"throughput {STREAMS}×{EVENTS} events, {what}, {route}",
                                  rnd(statistics.median(rates[route])), "events/s",
                                  runs=[rnd(r) for r in rates[route]]))
            out.append(Result(NAME, f"throughput gateway / direct, {what}", rnd(ratio), "×", "≥ 0.9", ratio >= 0.9))
            out.append(Result(NAME, f"gateway CPU per event, {what}", rnd(statistics.median(cpu)), "µs",
                              runs=[rnd(c) for c in cpu]))

        # Memory.
        per_stream = await _memory_per_stream(procs, session)
        out.append(Result(NAME, f"memory per open stream ({HELD_STREAMS} open)", rnd(per_stream), "KiB",
                          "< 64 KiB", per_stream < 64))
        total = 3000 if ctx.quick else MANY_REQUESTS
        early, late = await _memory_after_requests(procs, session, total)
        out.append(Result(NAME, "gateway RSS after 1,000 proxied requests", rnd(early), "MiB"))
        out.append(Result(NAME, f"gateway RSS after {total:,} proxied requests", rnd(late), "MiB",
                          "flat (≤ +2 MiB)", late - early <= 2))

        # Kill all streams.
        client_end, upstream_closed = [], []
        for _ in range(ctx.reps(3, 1)):
            a, b = await _kill(procs, session)
            client_end.append(a)
            upstream_closed.append(b)
        for what, values in (("last client stream ended", client_end), ("last upstream connection closed",
                                                                        upstream_closed)):
            value = statistics.median(values)
            out.append(Result(NAME, f"kill all ({STREAMS} streams) to {what}", rnd(value * 1000), "ms", "< 1 s",
                              value < 1.0, runs=[rnd(v * 1000) for v in values]))
    stalls = [await _gui_stall(procs) for _ in range(ctx.reps(3, 1))]
    loaded = [rnd(stall["load"]["max_ms"]) for stall in stalls]
    out.append(Result(NAME, f"largest GUI event-loop stall, {STREAMS} streams through the gateway on its own thread",
                      rnd(statistics.median(loaded)), "ms", "< 16 ms", statistics.median(loaded) < 16, runs=loaded))
    out.append(Result(NAME, "largest GUI event-loop stall, gateway idle", rnd(statistics.median(
        [stall["idle"]["max_ms"] for stall in stalls])), "ms", runs=[rnd(s["idle"]["max_ms"]) for s in stalls]))
    left = [await _disconnect(procs) for _ in range(ctx.reps(3, 1))]
    out.append(Result(NAME, f"{STREAMS} clients hang up mid-stream to last upstream connection closed",
                      rnd(statistics.median(left) * 1000), "ms", "< 1 s", statistics.median(left) < 1.0,
                      runs=[rnd(v * 1000) for v in left]))
    if not procs.litellm_port:
        out.append(Result(NAME, "LiteLLM column", None, "", note="not run: no `litellm` proxy installed here"))
    return out


def run(ctx: Context) -> list[Result]:
    with Processes(ctx) as procs:
        return asyncio.run(_measure(ctx, procs))


def main(argv: list[str]) -> int:
    if argv[:1] == ["upstream"]:
        asyncio.run(_serve_upstream())
    elif argv[:1] == ["gateway"]:
        asyncio.run(_serve_gateway(int(argv[1]), json.loads(argv[2])))
    elif argv[:1] == ["beside-qt"]:
        _serve_gateway_beside_qt(int(argv[1]), json.loads(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)
