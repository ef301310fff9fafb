"""/metrics: the status document and the gateway's own counts in Prometheus' text format.

Built at scrape time, by a collector of our own in a registry of our own that
holds only `traywidget_` families (no process, platform or GC collectors), from
the same document `traywidget status --json` prints (present/status_document.py):
the values a scraper sees are the CLI's at that moment, by construction.

Labels are account ids, provider names, meter names, states, status codes and
currency codes: never a key, a token, an account's label or a provider's message
text. Families built from fields that other parts add to the status document
(`severity`, `held_until`, `gateway_usage`) appear when the document has them.

prometheus_client is imported here only, and this module only when /metrics is
answered, so a gateway with metrics off starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from traywidget.gateway.counts import GatewayCounts
from traywidget.model import State, parse_iso

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

ACCOUNT = ["account", "provider"]
METER = ACCOUNT + ["window", "unit"]

DocumentSource = Callable[[], Mapping[str, Any]]


class StatusCollector(Collector):
    """Every `traywidget_` family, from one status document read at collect time."""

    def __init__(self, document: DocumentSource, counts: GatewayCounts, now: Callable[[], datetime]) -> None:
        self._document = document
        self._counts = counts
        self._now = now

    def collect(self) -> Iterator[Metric]:
        accounts = [a for a in self._document().get("accounts") or () if isinstance(a, Mapping)]
        yield from account_families(accounts, self._now())
        yield from gateway_families(self._counts)


def exposition(document: DocumentSource, counts: GatewayCounts, now: Callable[[], datetime]) -> bytes:
    """The text a scrape gets."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(document, counts, now))
    return generate_latest(registry)


def account_families(accounts: list[Mapping[str, Any]], now: datetime) -> Iterator[Metric]:
    remaining = GaugeMetricFamily("traywidget_meter_remaining",
                                  "What is left in the window: requests, tokens, or money in the currency the "
                                  "unit label names.",
                                  labels=METER)
    limit = GaugeMetricFamily("traywidget_meter_limit", "The window's limit, where it has one.", labels=METER)
    resets = GaugeMetricFamily("traywidget_meter_reset_timestamp_seconds",
                               "When the window resets, as a Unix time.", labels=METER)
    state = GaugeMetricFamily("traywidget_account_state",
                              "1 for the account's state (status --json `state`), 0 for every other state.",
                              labels=ACCOUNT + ["state"])
    severity = GaugeMetricFamily("traywidget_account_severity",
                                 "1 for the account's severity (status --json `severity`).",
                                 labels=ACCOUNT + ["severity"])
    age = GaugeMetricFamily("traywidget_account_reading_age_seconds",
                            "Seconds since the account's figures were read (status --json `fetched_at`).",
                            labels=ACCOUNT)
    streams = GaugeMetricFamily("traywidget_account_streams_open",
                                "Streams open through the gateway right now.", labels=ACCOUNT)
    held = GaugeMetricFamily("traywidget_account_hold_active",
                             "1 while the gateway holds the account's requests (status --json `held_until`).",
                             labels=ACCOUNT)
    held_until = GaugeMetricFamily("traywidget_account_hold_until_timestamp_seconds",
                                   "When the hold ends by itself, as a Unix time (absent: until resumed).",
                                   labels=ACCOUNT)
    usage_requests = CounterMetricFamily("traywidget_spend_requests",
                                         "Requests through the gateway today (status --json `gateway_usage`).",
                                         labels=ACCOUNT)
    usage_input = CounterMetricFamily("traywidget_spend_input_tokens",
                                      "Input tokens through the gateway today.", labels=ACCOUNT)
    usage_output = CounterMetricFamily("traywidget_spend_output_tokens",
                                       "Output tokens through the gateway today.", labels=ACCOUNT)
    usage_cost = CounterMetricFamily("traywidget_spend_cost",
                                     "Cost of the requests through the gateway today, where the provider said it.",
                                     labels=ACCOUNT + ["currency"])
    for account in accounts:
        who = [str(account.get("id", "")), str(account.get("provider", ""))]
        for meter in account.get("meters") or ():
            where = who + [str(meter.get("name", "")), str(meter.get("unit", ""))]
            _add(remaining, where, meter.get("remaining"))
            _add(limit, where, meter.get("limit"))
            _add(resets, where, _timestamp(meter.get("resets_at")))
        for each in State:
            state.add_metric(who + [each.value], 1.0 if account.get("state") == each.value else 0.0)
        if isinstance(account.get("severity"), str):
            severity.add_metric(who + [account["severity"]], 1.0)
        fetched = parse_iso(account.get("fetched_at"))
        if fetched is not None:
            age.add_metric(who, max(0.0, (now - fetched).total_seconds()))
        _add(streams, who, account.get("streams"))
        if "held_until" in account:
            until = account["held_until"]
            held.add_metric(who, 0.0 if until is None else 1.0)
            _add(held_until, who, _timestamp(until))
        usage = account.get("gateway_usage")
        if isinstance(usage, Mapping):
            created = _timestamp(usage.get("since"))
            _add_counter(usage_requests, who, usage.get("requests"), created)
            _add_counter(usage_input, who, usage.get("input_tokens"), created)
            _add_counter(usage_output, who, usage.get("output_tokens"), created)
            if isinstance(usage.get("currency"), str):
                _add_counter(usage_cost, who + [usage["currency"]], usage.get("cost"), created)
    yield from (remaining, limit, resets, state, severity, age, streams, held, held_until,
                usage_requests, usage_input, usage_output, usage_cost)


def gateway_families(counts: GatewayCounts) -> Iterator[Metric]:
    requests = CounterMetricFamily("traywidget_gateway_requests",
                                   "Answers the gateway gave to forwarded requests, by HTTP status code.",
                                   labels=ACCOUNT + ["code"])
    limited = CounterMetricFamily("traywidget_gateway_rate_limited_responses",
                                  "Forwarded requests the provider refused with 429 (rate limited).",
                                  labels=ACCOUNT)
    killed = CounterMetricFamily("traywidget_gateway_streams_killed",
                                 "Streams stopped by Kill all streams.", labels=ACCOUNT)
    refused: dict[tuple[str, str], int] = {}
    for (account_id, provider, status), count in sorted(counts.answers.items()):
        requests.add_metric([account_id, provider, str(status)], count)
        if status == 429:
            refused[(account_id, provider)] = refused.get((account_id, provider), 0) + count
    for (account_id, provider), count in sorted(refused.items()):
        limited.add_metric([account_id, provider], count)
    for (account_id, provider), count in sorted(counts.killed.items()):
        killed.add_metric([account_id, provider], count)
    yield from (requests, limited, killed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _add(family: GaugeMetricFamily, labels: list[str], value: Any) -> None:
    number = _number(value)
    if number is not None:
        family.add_metric(labels, number)


def _add_counter(family: CounterMetricFamily, labels: list[str], value: Any, created: float | None) -> None:
    number = _number(value)
    if number is not None and number >= 0:
        family.add_metric(labels, number, created=created)


def _timestamp(value: Any) -> float | None:
    moment = parse_iso(value) if isinstance(value, str) else None
    return None if moment is None else moment.timestamp()
