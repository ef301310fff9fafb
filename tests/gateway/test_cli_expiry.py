"""`traywidget gateway --json` moves by itself: after a burst of 429s, a new line when the 429 ends at
its Retry-After and another when the window resets, with no new traffic; `status --json` (and its
one-line `--compact`) reads the running gateway's readings the same way. Real subprocesses, the real
keyring on a real Secret Service, the simulator with a window of seconds."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import httpx
import pytest

from tests.desktop_session import free_port, wait_until
from tests.e2e.cli import run_cli
from tests.gateway.test_cli import Headless, _add, _set_port, env  # noqa: F401 - env is a fixture used here

pytestmark = pytest.mark.slow

WITHIN_S = 1.0


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def requests_meter(account: dict) -> dict:
    return next((m for m in account["meters"] if m["name"] == "requests"), {})


class Lines:
    """The gateway's stdout, each line with the time it arrived."""

    def __init__(self, stream) -> None:
        self.lines: list[tuple[float, dict]] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.time(), json.loads(line)))

    def first(self, wanted, after: float = 0.0) -> tuple[float, dict] | None:
        return next(((t, data) for t, data in list(self.lines) if t >= after and wanted(data)), None)


def test_the_gateways_lines_come_by_themselves_when_a_429_and_a_window_end(env, sim):  # noqa: F811 - the fixture
    key = sim.sim.add_openai_compatible_key(rpm=3, window_s=3)
    _add(env, sim, "openai-compatible", "oc", key)
    port = free_port()
    _set_port(env, port)
    token = run_cli(env, "gateway", "token").out.strip()
    gateway = Headless(env, "--json")
    try:
        assert gateway.first_line.startswith(f"traywidget gateway listening on http://127.0.0.1:{port}/")
        lines = Lines(gateway.proc.stdout)
        url = f"http://127.0.0.1:{port}/oc/chat/completions"
        codes = [httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json={"messages": []},
                            timeout=10).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        sent = sim.sim.count(key=key)
        wait_until(lambda: lines.first(lambda d: d["state"] == "rate_limited"), 5, what="the 429's line")
        limited = [d for _, d in lines.lines if d["state"] == "rate_limited"][-1]
        assert limited["severity"] == "refused"
        ends = moment(limited["fetched_at"]) + limited["error"]["retry_after_s"]
        reset = moment(requests_meter(limited)["resets_at"])
        assert ends < reset

        # The 429 ends at its Retry-After: exhausted (the window still says 0) until the reset.
        wait_until(lambda: lines.first(lambda d: d["state"] == "exhausted", after=ends - 0.05), 5,
                   what="the line at the Retry-After")
        at, data = lines.first(lambda d: d["state"] == "exhausted", after=ends - 0.05)
        assert at <= ends + WITHIN_S and (data["severity"], data["error"]) == ("refused", None)

        # The window resets: refilled, an estimate, fine.
        def refilled(d: dict) -> bool:
            return requests_meter(d).get("freshness") == "refilled"

        wait_until(lambda: lines.first(refilled), 6, what="the line at the reset")
        at, data = lines.first(refilled)
        assert reset - 0.05 <= at <= reset + WITHIN_S, at - reset
        assert (data["state"], data["severity"], requests_meter(data)["remaining"],
                requests_meter(data)["resets_at"]) == ("ok", "fine", 3, None)

        # `status` reads the running gateway's readings by the same rule; --compact puts them on one line.
        status = run_cli(env, "status", "--json")
        assert status.code == 0, status.err
        (account,) = json.loads(status.out)["accounts"]
        assert (account["severity"], requests_meter(account)["freshness"], requests_meter(account)["source"]) == (
            "fine", "refilled", "traffic")
        compact = run_cli(env, "status", "--compact")
        assert compact.code == 0 and compact.out.count("\n") == 1
        assert json.loads(compact.out)["accounts"][0]["severity"] == "fine"
        assert sim.sim.count(key=key) == sent  # no traffic: time alone moved the lines
    finally:
        code, _, err = gateway.end()
    assert code == 0, err
