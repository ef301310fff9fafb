"""Real Prometheus processes for the tests (Debian's `prometheus` and `promtool`, installed by .ci/run).

    with Prometheus(tmp_path / "p", scrape_config) as prom:   # on a free loopback port
        prom.wait_for('traywidget_meter_remaining')              # the query's vector, once non-empty
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.desktop_session import free_port, stop_process


def require_prometheus() -> None:
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (Debian package `prometheus`; .ci/run installs it)")


def agent_flags() -> list[str]:
    """Agent mode: `--agent` from Prometheus 3 on, a feature flag before."""
    help_text = subprocess.run(["prometheus", "--help"], capture_output=True, text=True).stderr
    return ["--agent"] if "\n      --agent " in help_text else ["--enable-feature=agent"]


class Prometheus:
    def __init__(self, home: Path, config: str, *extra: str, agent: bool = False) -> None:
        require_prometheus()
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (home / "prometheus.yml").write_text(config)
        storage = ["--storage.agent.path" if agent else "--storage.tsdb.path", str(home / "data")]
        self.args = ["prometheus", f"--config.file={home / 'prometheus.yml'}", *storage,
                     f"--web.listen-address=127.0.0.1:{self.port}", *(agent_flags() if agent else []), *extra]
        self.log = open(home / "prometheus.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Prometheus:
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.home)
        self.wait(lambda: self._ready(), 30, "prometheus ready")
        return self

    def __exit__(self, *exc: Any) -> None:
        stop_process(self.proc)
        self.log.close()

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, promql: str) -> list[dict]:
        reply = httpx.get(self.url + "/api/v1/query", params={"query": promql}, timeout=5)
        reply.raise_for_status()
        return reply.json()["data"]["result"]

    def targets(self) -> list[dict]:
        return httpx.get(self.url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]

    def wait_for(self, promql: str, timeout: float = 30.0) -> list[dict]:
        return self.wait(lambda: self.query(promql), timeout, promql)

    def wait(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited: {(self.home / 'prometheus.log').read_text()[-2000:]}")
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached within {timeout:g} s; "
                                   f"log: {(self.home / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.1)


def scrape_config(gateway_port: int, token_file: Path, remote_write: str | None = None) -> str:
    """A one-job config scraping the gateway's /metrics every second with the token as Prometheus
    sends a bearer credential (and remote-writing to `remote_write` when given)."""
    text = f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: traywidget
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: {token_file}
    static_configs:
      - targets: ["127.0.0.1:{gateway_port}"]
"""
    if remote_write:
        text += f"""remote_write:
  - url: {remote_write}
    queue_config:
      batch_send_deadline: 1s
"""
    return text


def samples_by_labels(result: list[dict], *labels: str) -> dict[tuple, float]:
    return {tuple(row["metric"].get(label, "") for label in labels): float(row["value"][1]) for row in result}
