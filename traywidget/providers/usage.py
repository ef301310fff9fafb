"""What one answer says it used: tokens, and cost where the provider sends it.

Pure translation of the shapes in the wild, read from the gateway's copy:
- OpenAI-compatible JSON and the last SSE chunk: `usage.prompt_tokens` / `completion_tokens`
  (legacy completions and embeddings too); OpenRouter adds `usage.cost` (credits = USD).
- Anthropic `messages`: `usage.input_tokens` / `output_tokens` in the JSON body; in a stream,
  `message_start` carries the input (and a first output count), each `message_delta` the output
  so far (cumulative).
- LiteLLM proxies: the `x-litellm-response-cost` header (USD).
Nothing is ever estimated: a figure the answer did not carry stays None.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from traywidget.model import RequestUsage

USD = "USD"
LITELLM_COST_HEADER = "x-litellm-response-cost"


class UsageTally:
    """The usage of one answer, filled in as its pieces pass."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cost: float | None = None
        self.currency: str | None = None
        header_cost = _number(headers.get(LITELLM_COST_HEADER))
        if header_cost is not None:
            self.cost, self.currency = header_cost, USD

    def read_body(self, body: bytes) -> None:
        """A whole JSON answer."""
        payload = _json(body)
        if isinstance(payload, dict):
            self._read_object(payload)

    def read_event(self, event: bytes) -> None:
        """One SSE event (its `data:` lines)."""
        data = b"\n".join(line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:"))
        if not data or data == b"[DONE]":
            return
        payload = _json(data)
        if not isinstance(payload, dict):
            return
        if payload.get("type") == "message_start" and isinstance(payload.get("message"), dict):
            self._read_object(payload["message"])
        else:
            self._read_object(payload)

    def result(self, stopped: bool = False) -> RequestUsage:
        return RequestUsage(self.model, self.input_tokens, self.output_tokens, self.cost, self.currency, stopped)

    def _read_object(self, payload: dict[str, Any]) -> None:
        model = payload.get("model")
        if isinstance(model, str) and model:
            self.model = model
        usage = payload.get("usage")
        if not isinstance(usage, dict):
            return
        for field, attribute in (("prompt_tokens", "input_tokens"), ("input_tokens", "input_tokens"),
                                 ("completion_tokens", "output_tokens"), ("output_tokens", "output_tokens")):
            value = _count(usage.get(field))
            if value is not None:
                setattr(self, attribute, value)
        cost = _number(usage.get("cost"))
        if cost is not None:
            self.cost, self.currency = cost, USD


def mentions_usage(event: bytes) -> bool:
    """Whether an SSE event may carry usage (cheap: most content chunks do not)."""
    return b'"usage"' in event or b"message_start" in event


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _number(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None
