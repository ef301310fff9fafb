"""A real Prometheus scrapes a real headless gateway (`traywidget gateway --metrics`) with the gateway
token, and the values it stored are `traywidget status --json`'s; `promtool` accepts the exposition,
the example alert rule; the team set-up runs as docs/team-setup.md describes it: a Prometheus in agent
mode scrapes the gateway and remote-writes to a second Prometheus, where the values are read back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.desktop_session import free_port, wait_until
from tests.e2e.cli import cli_env, run_cli
from tests.gateway.test_cli import Headless, _add, _set_port
from tests.prometheus import Prometheus, require_prometheus, samples_by_labels, scrape_config

pytestmark = pytest.mark.slow


@pytest.fixture
def env(keyring_home, tmp_path):
    """The CLI's environment: a throwaway config and cache, the real keyring of a private session."""
    _, keyring_env = keyring_home
    return cli_env(keyring_env, tmp_path)


DOCS = Path(__file__).resolve().parents[2] / "docs"
METER_LABELS = ("account", "provider", "window", "unit")


def _status_meters(env) -> dict[tuple, dict]:
    status = run_cli(env, "status", "--json")
    assert status.code == 0, status.err
    return {(a["id"], a["provider"], m["name"], m["unit"]): m
            for a in json.loads(status.out)["accounts"] for m in a["meters"]}


def _metrics_gateway(env, sim, tmp_path: Path) -> tuple[Headless, int, str, Path]:
    _add(env, sim, "openrouter", "or-team", sim.sim.add_openrouter_key(total_credits=20.0))
    _add(env, sim, "routeway", "rw-team", sim.sim.add_routeway_key(daily_limit=200, minute_limit=5))
    port = free_port()
    _set_port(env, port)
    gateway = Headless(env, "--metrics")
    said = gateway.proc.stderr.readline().strip()
    assert said == (f"Prometheus metrics at http://127.0.0.1:{port}/metrics (the gateway token as the bearer "
                    "credential; see docs/metrics-and-hooks.md)")
    token = run_cli(env, "gateway", "token").out.strip()
    token_file = tmp_path / "gateway-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    auth = {"Authorization": f"Bearer {token}"}
    # One request through the gateway: a status-code counter and traffic meters to scrape.
    reply = httpx.post(f"http://127.0.0.1:{port}/rw-team/chat/completions", headers=auth,
                       json={"model": "m:free", "messages": []}, timeout=20)
    assert reply.status_code == 200
    wait_until(lambda: "traywidget_meter_remaining{" in httpx.get(f"http://127.0.0.1:{port}/metrics", headers=auth,
                                                                   timeout=5).text, 20, what="a first poll")
    return gateway, port, token, token_file


def _assert_equal_to_status(prom: Prometheus, env) -> int:
    """Every meter's remaining and limit in Prometheus equals `status --json`'s; how many were compared.

    Prometheus stores what it scraped a second or two ago (later still through an agent's remote write),
    and a per-minute window may reset in between: so the two are read again until they agree on one
    moment, and the last disagreement is what fails."""
    def compare() -> tuple[int, str]:
        meters = _status_meters(env)
        compared = 0
        for field in ("remaining", "limit"):
            stored = samples_by_labels(prom.query(f"traywidget_meter_{field}"), *METER_LABELS)
            expected = {key: float(m[field]) for key, m in meters.items() if m[field] is not None}
            if stored != expected:
                return 0, f"{field}: Prometheus {stored} != status --json {expected}"
            compared += len(expected)
        return compared, ""

    outcome: list[tuple[int, str]] = []
    try:
        prom.wait(lambda: outcome.append(compare()) or outcome[-1][0], 30, "Prometheus equal to status --json")
    except TimeoutError:
        raise AssertionError(outcome[-1][1]) from None
    return outcome[-1][0]


def test_prometheus_scrapes_the_gateway_with_the_token_and_stores_the_clis_values(env, sim, tmp_path):
    gateway, port, token, token_file = _metrics_gateway(env, sim, tmp_path)
    try:
        exposition = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"},
                               timeout=5).text
        check = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 401
        with Prometheus(tmp_path / "prom", scrape_config(port, token_file)) as prom:
            prom.wait_for('up{job="traywidget"} == 1')
            prom.wait_for("traywidget_meter_remaining")
            assert _assert_equal_to_status(prom, env) == 6  # remaining and limit of 3 windows
            codes = samples_by_labels(prom.query("traywidget_gateway_requests_total"), "account", "code")
            assert codes == {("rw-team", "200"): 1.0}
            state = samples_by_labels(prom.query("traywidget_account_state == 1"), "account", "state")
            assert state == {("or-team", "ok"): 1.0, ("rw-team", "ok"): 1.0}
            # Prometheus shows the target, never the credential it sends.
            stored = "\n".join(json.dumps(t) for t in prom.targets())
            assert token not in stored
    finally:
        gateway.end()


def test_a_scrape_without_the_token_is_refused(env, sim, tmp_path):
    gateway, port, token, _ = _metrics_gateway(env, sim, tmp_path)
    try:
        empty = tmp_path / "no-token"
        empty.write_text("wrong-token\n")
        with Prometheus(tmp_path / "prom", scrape_config(port, empty)) as prom:
            prom.wait_for('up{job="traywidget"} == 0')
            target = prom.wait(lambda: [t for t in prom.targets() if t["lastError"]], 10, "a scrape error")[0]
            assert "401" in target["lastError"]
            assert prom.query("traywidget_meter_remaining") == []
    finally:
        gateway.end()


def test_team_setup_an_agent_remote_writes_to_the_teams_prometheus(env, sim, tmp_path):
    gateway, port, token, token_file = _metrics_gateway(env, sim, tmp_path)
    try:
        with Prometheus(tmp_path / "team", "global:\n  scrape_interval: 1s\n",
                        "--web.enable-remote-write-receiver") as team:
            config = scrape_config(port, token_file, remote_write=team.url + "/api/v1/write")
            with Prometheus(tmp_path / "agent", config, agent=True):
                team.wait_for('traywidget_meter_remaining{account="or-team"}')
                team.wait_for('traywidget_meter_remaining{account="rw-team"}')
                team.wait_for("traywidget_gateway_requests_total")
                assert _assert_equal_to_status(team, env) == 6
    finally:
        gateway.end()


def test_the_example_alert_rules_pass_promtool():
    require_prometheus()
    rules = DOCS / "examples" / "traywidget-alerts.yml"
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 2 rules found" in check.stdout


def test_the_example_dashboard_is_grafana_json_over_the_documented_families():
    dashboard = json.loads((DOCS / "examples" / "traywidget-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]
    assert exprs and all("traywidget_" in expr for expr in exprs)
    documented = (DOCS / "metrics-and-hooks.md").read_text()
    for expr in exprs:
        for word in expr.replace("(", " ").replace(")", " ").replace("{", " ").split():
            if word.startswith("traywidget_"):
                assert f"`{word}`" in documented, word
