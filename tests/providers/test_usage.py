"""What an answer says it used, in each shape the providers send (providers/usage.py)."""

from __future__ import annotations

import json

from traywidget.model import RequestUsage
from traywidget.providers.usage import UsageTally, mentions_usage


def _event(payload: dict, name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + json.dumps(payload).encode()


def test_an_openai_style_json_answer():
    tally = UsageTally({})
    tally.read_body(json.dumps({"model": "gpt-4o-mini", "usage": {"prompt_tokens": 12, "completion_tokens": 8}})
                    .encode())
    assert tally.result() == RequestUsage("gpt-4o-mini", 12, 8, None, None)


def test_openrouter_sends_its_cost_in_the_json_body_and_the_last_chunk():
    body = {"model": "openai/gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 4, "cost": 0.00042}}
    tally = UsageTally({})
    tally.read_body(json.dumps(body).encode())
    assert tally.result() == RequestUsage("openai/gpt-4o", 3, 4, 0.00042, "USD")
    streamed = UsageTally({})
    streamed.read_event(_event({"model": "openai/gpt-4o", "choices": [{"delta": {"content": "hi"}}]}))
    streamed.read_event(_event({"model": "openai/gpt-4o", "choices": [], "usage": body["usage"]}))
    streamed.read_event(b"data: [DONE]")
    assert streamed.result(stopped=False) == RequestUsage("openai/gpt-4o", 3, 4, 0.00042, "USD")


def test_litellm_says_the_cost_in_a_header():
    tally = UsageTally({"x-litellm-response-cost": "0.0017"})
    tally.read_body(b'{"usage": {"prompt_tokens": 1, "completion_tokens": 2}}')
    assert (tally.result().cost, tally.result().currency) == (0.0017, "USD")
    assert UsageTally({"x-litellm-response-cost": "nan"}).result().cost is None


def test_anthropic_messages_stream_start_then_cumulative_deltas():
    tally = UsageTally({})
    tally.read_event(_event({"type": "message_start", "message": {
        "model": "claude-3-5-haiku-latest", "usage": {"input_tokens": 12, "output_tokens": 1}}}, "message_start"))
    assert tally.result(stopped=True) == RequestUsage("claude-3-5-haiku-latest", 12, 1, None, None, True)
    tally.read_event(_event({"type": "message_delta", "usage": {"output_tokens": 5}}, "message_delta"))
    tally.read_event(_event({"type": "message_delta", "usage": {"output_tokens": 9}}, "message_delta"))
    assert tally.result() == RequestUsage("claude-3-5-haiku-latest", 12, 9, None, None)


def test_nothing_is_invented_from_a_body_without_figures_or_with_bad_ones():
    assert UsageTally({}).result() == RequestUsage()
    tally = UsageTally({})
    tally.read_body(b"not json")
    tally.read_body(b'{"usage": {"prompt_tokens": -3, "completion_tokens": "7", "cost": true}}')
    tally.read_event(b"data: {broken")
    assert tally.result() == RequestUsage()


def test_only_events_that_may_carry_usage_are_parsed():
    assert mentions_usage(b'data: {"usage": {"prompt_tokens": 1}}')
    assert mentions_usage(b'event: message_start\ndata: {}')
    assert not mentions_usage(b'data: {"choices": [{"delta": {"content": "the usage"}}]}')
