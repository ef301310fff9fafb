"""A key is never leaked: not in repr/str of anything that holds or touches it,
not in DEBUG logs of a faulty run (our loggers, httpx, httpcore), not in
exceptions or their tracebacks, not over plain http to another host, not
along a redirect, not in the output of a killed or timed-out command.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import secrets as _secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from contextlib import contextmanager

import httpx
import pytest

from tests.desktop_session import free_port, wait_until
from tests.e2e.cli import cli_env
from traywidget.engine.engine import Cadence, Engine, EngineSettings
from traywidget.engine.http_client import fetch, join_url, make_client
from traywidget.model import (
    Account,
    ErrorInfo,
    ProviderError,
    SecretStoreError,
    State,
    utcnow,
)
from traywidget.providers import get_provider
from traywidget.providers.base import KeyHint, PollContext
from traywidget.store.config import Config, ConfigStore
from traywidget.store.secrets import KeyringSecretStore, MemorySecretStore

from .helpers import PROVIDERS, SHORT, cases
from .helpers import wait_until as async_wait_until

CANARIES: dict[str, str] = {}
MGMT_CANARY = ""


@pytest.fixture(autouse=True)
def fresh_canaries():
    """New canary keys per test (the session's simulator keeps every key it was given)."""
    global MGMT_CANARY
    tag = _secrets.token_hex(4)
    CANARIES.update({
        "routing.run": "rk_" + (tag + "cafe1234") * 4,
        "openrouter": "sk-or-v1-" + (tag + "beef5678") * 4,
        "routeway": "sk-" + (tag + "f00d9abc") * 3,
    })
    MGMT_CANARY = "rw-mgmt-" + (tag + "dead0bad") * 3


def _canaries() -> list[str]:
    return [*CANARIES.values(), MGMT_CANARY]


def assert_clean(text: str, where: str) -> None:
    for secret in _canaries():
        assert secret not in text, f"{where} contains a key"
        assert secret[-12:] not in text, f"{where} contains a recognisable tail of a key"


def _world(sim, secrets: MemorySecretStore) -> list[Account]:
    s = sim.sim
    accounts = []
    s.add_routing_key("Premium", key=CANARIES["routing.run"])
    s.add_openrouter_key(key=CANARIES["openrouter"])
    s.add_routeway_key(key=CANARIES["routeway"])
    s.add_management_key(CANARIES["routeway"], key=MGMT_CANARY)
    s.configure(MGMT_CANARY, mgmt_limits=False)
    for p in PROVIDERS:
        accounts.append(Account(SHORT[p], p, SHORT[p], sim.url(p)))
        secrets.set(SHORT[p], CANARIES[p])
    secrets.set("rw", MGMT_CANARY, management=True)
    return accounts


async def test_repr_and_str_of_everything_that_touches_a_key(sim, report):
    secrets = MemorySecretStore()
    accounts = _world(sim, secrets)
    engine = Engine(accounts, secrets, settings=EngineSettings(timeout_s=2))
    await engine.poll_all()  # loads the keys into the runtimes
    sim.sim.inject(CANARIES["routing.run"], "status_401")
    snaps = await engine.poll_all()
    # Everything the engine holds (its accounts, its key cache) is in the repr of its attributes.
    objects = [secrets, KeyringSecretStore(), engine, *vars(engine).values(), *accounts, *snaps,
               KeyHint.of(CANARIES["routing.run"]), PollContext(now=snaps[0].fetched_at,
                                                               key_hint=KeyHint.of(CANARIES["openrouter"]))]
    # ProviderError and HttpResult of real requests carrying the canaries.
    client = make_client()
    results, errors = [], []
    try:
        for p in PROVIDERS:
            provider = get_provider(p)
            secret = MGMT_CANARY if p == "routeway" else CANARIES[p]
            spec = provider.poll_requests(True, PollContext(now=snaps[0].fetched_at, has_management_key=True))[0]
            url = join_url(sim.url(p), spec.path)
            headers = {**provider.extra_headers, **provider.auth_headers(secret)}
            results.append(await fetch(client, spec.method, url, headers))
            sim.sim.inject(secret, "status_403", count=1)
            bad = await fetch(client, spec.method, url, headers)
            results.append(bad)
            errors.append(provider.error_for(spec, bad, PollContext(now=snaps[0].fetched_at)))
    finally:
        await client.aclose()
        await engine.stop()
    objects += results + errors
    assert all(s.state is not State.NO_KEY for s in snaps)  # the engine really held the keys
    checked = 0
    for obj in objects:
        assert_clean(repr(obj), f"repr({type(obj).__name__})")
        assert_clean(str(obj), f"str({type(obj).__name__})")
        checked += 1
    report(f"secret safety / repr+str: {checked} objects that held or carried a key; 0 canaries")


@pytest.mark.slow
async def test_debug_logs_of_a_faulty_run_hold_no_key(sim, caplog, report):
    caplog.set_level(logging.DEBUG)  # root: every logger, httpx and httpcore included
    for name in ("httpx", "httpcore", "traywidget", "asyncio"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    secrets = MemorySecretStore()
    accounts = _world(sim, secrets)
    cadence = Cadence(fast_s=0.05, full_s=0.1, backoff_base_s=0.05, backoff_max_s=0.2, retry_after_cap_s=0.3)
    engine = Engine(accounts, secrets, settings=EngineSettings(cadence=cadence, timeout_s=0.5, watchdog_s=60))
    faults = [c for c in cases(0.5) if c.fault != "refused"]
    await engine.start()
    try:
        for case in faults:
            for p in PROVIDERS:
                sim.sim.inject(MGMT_CANARY if p == "routeway" else CANARIES[p], case.fault, **case.params)
            await asyncio.sleep(0.6)
        sim.sim.clear()
        await asyncio.sleep(0.5)
        await engine.kill_all()
    finally:
        await engine.stop()
        for name in ("httpx", "httpcore", "traywidget", "asyncio"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records), "httpcore debug logging was not captured"
    assert any(r.name.startswith("httpx") for r in caplog.records), "httpx logging was not captured"
    assert_clean(text, "the DEBUG log")
    report(f"secret safety / logs: {len(caplog.records)} DEBUG records over {len(faults)} faults × 3 providers "
           f"(incl. httpx/httpcore); 0 canaries")


@pytest.mark.slow
async def test_exceptions_and_tracebacks_hold_no_key(sim, report):
    client = make_client()
    raised: list[BaseException] = []
    try:
        for case in cases(0.5):
            for p in PROVIDERS:
                provider = get_provider(p)
                secret = MGMT_CANARY if p == "routeway" else CANARIES[p]
                if case.fault == "refused":
                    base = f"http://127.0.0.1:{free_port()}/v1"
                else:
                    sim.sim.inject(secret, case.fault, count=1, **case.params)
                    base = sim.url(p)
                ctx = PollContext(now=utcnow(), has_management_key=True, key_hint=KeyHint.of(CANARIES[p]))
                spec = provider.poll_requests(True, ctx)[0]
                headers = {**provider.extra_headers, **provider.auth_headers(secret)}
                try:
                    result = await fetch(client, spec.method, join_url(base, spec.path), headers, timeout_s=0.5)
                    if not result.ok:
                        raise provider.error_for(spec, result, ctx)
                    provider.parse(spec, result, ctx)  # may raise "Malformed response"
                    raise ProviderError(State.OK, ErrorInfo("parsed"))  # so every case yields one exception
                except ProviderError as exc:
                    raised.append(exc)
                sim.sim.clear()
    finally:
        await client.aclose()
    # A keyring failure names the account, never the secret (backends may echo their arguments).
    class Echo:
        def get_password(self, service, user):
            return None

        def set_password(self, service, user, secret):
            raise RuntimeError(f"cannot store {secret} for {user}")

    store = KeyringSecretStore()
    store._backend = lambda: Echo()  # type: ignore[method-assign]  # a stand-in backend
    try:
        store.set("acc", CANARIES["routing.run"])
    except SecretStoreError as exc:
        raised.append(exc)
    assert len(raised) == len(cases(0.5)) * 3 + 1
    for exc in raised:
        text = "".join(traceback.format_exception(exc))
        assert_clean(text + str(exc) + repr(exc), f"{type(exc).__name__} {exc}")
        # What a traceback shows: the cause, and the context unless `raise ... from None` hid it.
        for inner in (exc.__cause__, None if exc.__suppress_context__ else exc.__context__):
            if inner is not None:
                assert_clean(str(inner) + repr(inner), "a chained exception")
    report(f"secret safety / exceptions: {len(raised)} raised errors (str, repr, traceback, chain); 0 canaries")


async def test_no_key_over_plain_http_to_another_host(report):
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    secrets = MemorySecretStore()
    accounts = []
    for p in PROVIDERS:
        # Built directly: the config validator would refuse these URLs before the engine ever saw them.
        for i, url in enumerate(("http://example.com/v1", "http://10.0.0.1/v1", "ftp://127.0.0.1/v1")):
            account_id = f"{SHORT[p]}{i}"
            accounts.append(Account(account_id, p, account_id, url))
            secrets.set(account_id, CANARIES[p])
            secrets.set(account_id, MGMT_CANARY, management=True)
    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    engine = Engine(accounts, secrets, client=client)
    try:
        snaps = await engine.poll_all()
        kills = await engine.kill_all()
    finally:
        await client.aclose()
    assert seen == [], [str(r.url) for r in seen]
    for snap in snaps:
        assert snap.state is State.ERROR and snap.error.code == "INSECURE_URL", snap
    assert all(k.error is None or k.error.code == "INSECURE_URL" for k in kills)
    report(f"secret safety / plain http: {len(snaps)} polls + {len(kills)} kills to non-loopback http/ftp; "
           f"0 requests left the process")


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[tuple[str, str, dict]] = []
    location: str = ""
    status: int = 302

    def _answer(self) -> None:
        type(self).hits.append((self.command, self.path, dict(self.headers)))
        if type(self).location:
            self.send_response(type(self).status)
            self.send_header("Location", type(self).location + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = b'{"data": {"usage": 1}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def _server(location: str = "", status: int = 302):
    handler = type("Handler", (_Recorder,), {"hits": [], "location": location, "status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.slow
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_never_followed(status, report):
    with _server() as (target, target_handler):
        with _server(f"http://127.0.0.1:{target.server_port}", status) as (redirector, redirector_handler):
            secrets = MemorySecretStore()
            accounts = []
            for p in PROVIDERS:
                accounts.append(Account(SHORT[p], p, SHORT[p], f"http://127.0.0.1:{redirector.server_port}/v1"))
                secrets.set(SHORT[p], CANARIES[p])
            secrets.set("rw", MGMT_CANARY, management=True)
            engine = Engine(accounts, secrets, settings=EngineSettings(timeout_s=3))
            try:
                snaps = await engine.poll_all()
                kills = await engine.kill_all()
            finally:
                await engine.stop()
    assert target_handler.hits == [], target_handler.hits
    assert len(redirector_handler.hits) >= 4  # 3 polls + routing.run's kill, each asked once
    for snap in snaps:
        assert snap.state is State.ERROR and snap.error.code == "REDIRECT_REFUSED", snap
        assert_clean(snap.error.message, "the redirect message")
    assert [k.error.code for k in kills if k.supported] == ["REDIRECT_REFUSED"]
    report(f"secret safety / redirect {status}: {len(redirector_handler.hits)} requests answered with a redirect; "
           f"0 reached the redirect target")


@pytest.mark.slow
async def test_an_internal_error_is_logged_without_a_key(sim, caplog, monkeypatch, report):
    """Force a bug inside a provider adapter: the engine logs it and goes on; the traceback has no key."""
    caplog.set_level(logging.DEBUG)
    secrets = MemorySecretStore()
    accounts = _world(sim, secrets)
    provider = get_provider("routing.run")

    def broken(spec, result, ctx):
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(provider, "parse", broken)
    cadence = Cadence(fast_s=0.05, full_s=0.1, backoff_base_s=0.05, backoff_max_s=0.1)
    engine = Engine(accounts, secrets, settings=EngineSettings(cadence=cadence, timeout_s=1, watchdog_s=60))
    polled = {s.account_id: s for s in await engine.poll_all()}  # `traywidget status` must not crash either
    assert polled["rr"].state is State.ERROR and polled["rr"].error.code == "INTERNAL_ERROR"
    await engine.start()
    try:  # the running engine logs it too, not only poll_all
        assert await async_wait_until(lambda: sum(1 for r in caplog.records if r.exc_info) >= 2, 10), \
            "the forced internal error was not logged by the running engine"
    finally:
        await engine.stop()
    crashes = [r for r in caplog.records if r.exc_info]
    formatter = logging.Formatter()
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert "adapter bug" in text and "Traceback" in text
    assert_clean(text, "the log of an internal error")
    # The broken account shows a clear error (not its last good numbers as if fine); the others carry on.
    assert engine.snapshots["rr"].state is State.ERROR and engine.snapshots["rr"].error.code == "INTERNAL_ERROR"
    assert engine.snapshots["or"].state is State.OK
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "poll-rr"]  # stopped cleanly, not crashed
    report(f"secret safety / internal error: {len(crashes)} logged tracebacks of a forced adapter bug; 0 canaries")


def _store_keys(env: dict[str, str], keys: dict[str, str]) -> None:
    script = ("import json, sys\n"
              "from traywidget.store.secrets import KeyringSecretStore\n"
              "KeyringSecretStore().update(json.load(sys.stdin))\n")
    subprocess.run([sys.executable, "-c", script], input=json.dumps(keys), text=True, env=env, check=True, timeout=60)


@pytest.mark.slow
def test_killed_and_timed_out_commands_print_no_key(keyring_home, tmp_path, sim, report):
    """`watch --debug` SIGTERMed while a request hangs, and `status --debug` running into its timeout."""
    home, keyring_env = keyring_home
    env = cli_env(keyring_env, tmp_path)
    secrets = MemorySecretStore()
    accounts = _world(sim, secrets)
    ConfigStore(tmp_path / "config").save(Config(accounts=tuple(accounts)))
    _store_keys(keyring_env, {"rr:api": CANARIES["routing.run"], "or:api": CANARIES["openrouter"],
                              "rw:api": CANARIES["routeway"], "rw:management": MGMT_CANARY})
    sim.sim.inject(CANARIES["routing.run"], "hang")
    sim.sim.inject(CANARIES["openrouter"], "slow_drip", seconds=40)
    sim.sim.inject(MGMT_CANARY, "status_401")
    started = time.monotonic()
    status = subprocess.Popen([sys.executable, "-m", "traywidget", "--debug", "status", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = subprocess.Popen([sys.executable, "-m", "traywidget", "--debug", "watch"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Both processes' first requests are in flight (hanging, dripping) once the simulator has
        # seen two of each: each process holds exactly one per key, as a hung request spares the rest.
        wait_until(lambda: all(sim.sim.count(key=CANARIES[p]) >= 2 for p in ("routing.run", "openrouter")), 30,
                   what="the first requests of status and watch")
        watch.send_signal(signal.SIGTERM)
        w_out, w_err = watch.communicate(timeout=20)
        s_out, s_err = status.communicate(timeout=60)
    finally:
        for proc in (watch, status):
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    took = time.monotonic() - started
    assert watch.returncode == 0, w_err[-2000:]
    assert "Traceback" not in w_err and "Traceback" not in s_err, (w_err + s_err)[-3000:]
    assert "DEBUG" in s_err, "debug logging was not on"
    snaps = {d["id"]: d for d in json.loads(s_out)["accounts"]}
    assert snaps["rr"]["error"]["code"] == "TIMEOUT" and snaps["or"]["error"]["code"] == "TIMEOUT"
    assert snaps["rw"]["state"] == "auth_error"
    for text, where in ((w_out + w_err, "watch output"), (s_out + s_err, "status output")):
        assert_clean(text, where)
    report(f"secret safety / crash output: SIGTERMed `watch --debug` (exit {watch.returncode}) and "
           f"`status --debug` through its {EngineSettings().timeout_s:g} s timeout ({took:.0f} s): "
           f"{len(w_out + w_err + s_out + s_err)} bytes printed, 0 canaries, 0 tracebacks")
