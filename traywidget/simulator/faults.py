"""Fault injection: the ways a provider's usage endpoint can misbehave.

A fault is attached to a key and applies to the usage (and kill) endpoints
called with that key. This module only describes faults and rewrites
payloads; web_app.py turns them into wire behaviour.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# name -> accepted params (documented in the report / README of the simulator)
FAULTS: dict[str, frozenset[str]] = {
    "latency": frozenset({"ms"}),
    "hang": frozenset({"seconds"}),
    "reset": frozenset(),
    "http_500_html": frozenset({"status"}),
    "json_500": frozenset(),
    "truncated_json": frozenset(),
    "wrong_types": frozenset(),
    "negative": frozenset(),
    "nan": frozenset(),
    "huge": frozenset({"value"}),
    "missing_fields": frozenset({"fields"}),
    "status_401": frozenset({"echo_key"}),
    "status_402": frozenset({"echo_key"}),
    "status_403": frozenset({"echo_key"}),
    # echo_key (here and on 401-403): the message names the key the request carried
    # ("Rate limit reached for key gsk_…", "Refused for key gsk_…").
    "status_429": frozenset({"retry_after", "http_date", "limit", "form", "echo_key"}),
    "ip_limit": frozenset({"retry_after"}),
    "slow_drip": frozenset({"seconds", "chunk"}),
}

# Faults that replace the response with an error reply.
ERROR_FAULTS = frozenset({
    "http_500_html", "json_500", "status_401", "status_402", "status_403",
    "status_429", "ip_limit",
})
# Faults that rewrite the normal JSON payload.
PAYLOAD_FAULTS = frozenset({"wrong_types", "negative", "nan", "huge", "missing_fields"})


@dataclass
class Fault:
    """One injected fault; `remaining` None means "until cleared"."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = None

    @classmethod
    def make(cls, kind: str, count: int | None = None, **params: Any) -> Fault:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(FAULTS))}")
        unknown = set(params) - FAULTS[kind]
        if unknown:
            raise ValueError(f"fault {kind!r} takes no parameter(s) {sorted(unknown)}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        return cls(kind, dict(params), count)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _map_numbers(value: Any, fn) -> Any:
    if isinstance(value, dict):
        return {k: _map_numbers(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_numbers(v, fn) for v in value]
    return fn(value) if _is_number(value) else value


def _drop_fields(value: Any, names: set[str] | None) -> Any:
    """Drop the named keys, or every numeric field when names is None."""
    if isinstance(value, dict):
        return {
            k: _drop_fields(v, names) for k, v in value.items()
            if not (k in names if names is not None else _is_number(v))
        }
    if isinstance(value, list):
        return [_drop_fields(v, names) for v in value]
    return value


def mutate_payload(fault: Fault, payload: Any) -> Any:
    """Apply a payload fault to a JSON-ready value."""
    kind = fault.kind
    if kind == "wrong_types":
        flip = [False]

        def wrong(number: Any) -> Any:
            flip[0] = not flip[0]
            return str(number) if flip[0] else [number]

        return _map_numbers(payload, wrong)
    if kind == "negative":
        return _map_numbers(payload, lambda n: -abs(n) - 1)
    if kind == "nan":
        return _map_numbers(payload, lambda n: float("nan"))
    if kind == "huge":
        return _map_numbers(payload, lambda n: fault.params.get("value", 1e300))
    if kind == "missing_fields":
        fields = fault.params.get("fields")
        return _drop_fields(payload, set(fields) if fields else None)
    return payload


def dump_json(payload: Any) -> bytes:
    """JSON bytes; NaN stays a literal NaN as a broken server would send it."""
    return json.dumps(payload, allow_nan=True).encode()
