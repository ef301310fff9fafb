"""The bytes of a stream, in the wire styles the providers use.

chat       OpenAI `chat.completion.chunk` events (routing.run, OpenRouter, Routeway,
           openai-compatible /chat/completions): content chunks, a finish chunk,
           a usage chunk (on openai-compatible only when the request asked with
           stream_options.include_usage), then `data: [DONE]`. OpenRouter adds a
           `: OPENROUTER PROCESSING` comment line before every fifth chunk, a
           "provider" field, and its generation id (`gen-...`, also sent as
           X-Generation-Id) as the chunk id.
messages   Anthropic events (openai-compatible /messages): message_start,
           content_block_start, ping, content_block_delta..., content_block_stop,
           message_delta (stop_reason, output usage), message_stop.
text       legacy `text_completion` events (openai-compatible /completions), with the
           same end as chat.

Content frames are built once per stream (the words cycle), so a flat-out
stream costs little more than its writes. With a script's event_bytes every
content event is padded to exactly that many bytes on the wire.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from traywidget.simulator.records import (
    OPENAI_COMPATIBLE,
    OPENROUTER,
    PROMPT_TOKENS,
    StreamHandle,
)

WORDS = ("Lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
DONE = b"data: [DONE]\n\n"
OPENROUTER_COMMENT = b": OPENROUTER PROCESSING\n\n"
OPENROUTER_UPSTREAM = "OpenAI"


def data_event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def named_event(name: str, payload: Any) -> bytes:
    return f"event: {name}\n".encode() + data_event(payload)


# What OpenRouter's answers say a token cost (its `usage.cost`, in credits = USD): a known price,
# so tests can assert exact totals.
OPENROUTER_TOKEN_PRICE_USD = 0.000125


def usage_block(completion_tokens: int, openrouter: bool = False) -> dict[str, int | float]:
    """OpenAI-style `usage`; OpenRouter's also carries `cost`."""
    usage: dict[str, int | float] = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion_tokens,
                                     "total_tokens": PROMPT_TOKENS + completion_tokens}
    if openrouter:
        usage["cost"] = openrouter_cost(completion_tokens)
    return usage


def openrouter_cost(completion_tokens: int) -> float:
    return round((PROMPT_TOKENS + completion_tokens) * OPENROUTER_TOKEN_PRICE_USD, 9)


def generation_id() -> str:
    """An OpenRouter-style generation id."""
    return f"gen-{int(time.time())}-{secrets.token_hex(10)}"


def padded(build, text: str, size: int | None) -> bytes:
    """build(text) padded (by growing text) to `size` bytes when it is shorter."""
    frame = build(text)
    if size is not None and len(frame) < size:
        frame = build(text + "x" * (size - len(frame)))
    return frame


class ChatFrames:
    """chat.completion.chunk events of one stream."""

    style = "chat"

    def __init__(self, handle: StreamHandle, stream_id: str | None = None) -> None:
        self.handle = handle
        self.created = int(time.time())
        self.id = stream_id or f"chatcmpl-sim{handle.id}"
        self._extra = {"provider": OPENROUTER_UPSTREAM} if handle.provider == OPENROUTER else {}
        size = handle.script.event_bytes
        self._first = padded(lambda text: data_event(self._chunk({"role": "assistant", "content": text})),
                              WORDS[0] + " ", size)
        self._cycle = [padded(lambda text: data_event(self._chunk({"content": text})), word + " ", size)
                       for word in WORDS]

    def _chunk(self, delta: dict, finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.handle.model, **self._extra,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def opening(self) -> bytes:
        return b""

    def content(self, index: int) -> bytes:
        frame = self._first if index == 0 else self._cycle[index % len(WORDS)]
        if self.handle.provider == OPENROUTER and index % 5 == 0:
            return OPENROUTER_COMMENT + frame
        return frame

    def closing(self) -> bytes:
        finish = "length" if self.handle.script.events is None else "stop"
        frames = [data_event(self._chunk({}, finish))]
        if self.handle.include_usage:
            usage = usage_block(self.handle.events, openrouter=self.handle.provider == OPENROUTER)
            frames.append(data_event({**self._chunk({}), "choices": [], "usage": usage}))
        frames.append(DONE)
        return b"".join(frames)

    def killed(self) -> bytes:
        """How a routing.run stream stopped by its stop token ends."""
        return DONE

    def error(self, error: dict[str, Any]) -> bytes:
        """A mid-stream error event in the provider's shape (error_replies.py's docstring)."""
        if self.handle.provider == OPENROUTER:
            chunk = {**self._chunk({"content": ""}, "error"), "error": error}
            return data_event(chunk) + DONE
        if self.handle.provider == OPENAI_COMPATIBLE:
            return data_event({"error": error})
        return data_event({"error": error}) + DONE


class MessagesFrames:
    """Anthropic Messages stream events of one stream."""

    style = "messages"

    def __init__(self, handle: StreamHandle, stream_id: str | None = None) -> None:
        self.handle = handle
        self.id = stream_id or f"msg_sim{handle.id}"
        size = handle.script.event_bytes
        self._cycle = [padded(self._delta, word + " ", size) for word in WORDS]

    @staticmethod
    def _delta(text: str) -> bytes:
        return named_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": text}})

    def opening(self) -> bytes:
        message: dict[str, Any] = {"id": self.id, "type": "message", "role": "assistant", "content": [],
                   "model": self.handle.model, "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1}}
        return (named_event("message_start", {"type": "message_start", "message": message})
                + named_event("content_block_start", {"type": "content_block_start", "index": 0,
                                                      "content_block": {"type": "text", "text": ""}})
                + named_event("ping", {"type": "ping"}))

    def content(self, index: int) -> bytes:
        return self._cycle[index % len(WORDS)]

    def closing(self) -> bytes:
        stop = "max_tokens" if self.handle.script.events is None else "end_turn"
        return (named_event("content_block_stop", {"type": "content_block_stop", "index": 0})
                + named_event("message_delta", {"type": "message_delta",
                                                "delta": {"stop_reason": stop, "stop_sequence": None},
                                                "usage": {"output_tokens": self.handle.events}})
                + named_event("message_stop", {"type": "message_stop"}))

    def killed(self) -> bytes:
        return self.closing()

    def error(self, error: dict[str, Any]) -> bytes:
        return named_event("error", {"type": "error", "error": error})


class TextFrames:
    """Legacy completions (`text_completion`) events of one stream (openai-compatible /completions)."""

    style = "text"

    def __init__(self, handle: StreamHandle, stream_id: str | None = None) -> None:
        self.handle = handle
        self.created = int(time.time())
        self.id = stream_id or f"cmpl-sim{handle.id}"
        size = handle.script.event_bytes
        self._cycle = [padded(lambda text: data_event(self._chunk(text)), word + " ", size) for word in WORDS]

    def _chunk(self, text: str, finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created, "model": self.handle.model,
                "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]}

    def opening(self) -> bytes:
        return b""

    def content(self, index: int) -> bytes:
        return self._cycle[index % len(WORDS)]

    def closing(self) -> bytes:
        frames = [data_event(self._chunk("", "length" if self.handle.script.events is None else "stop"))]
        if self.handle.include_usage:
            frames.append(data_event({**self._chunk(""), "choices": [], "usage": usage_block(self.handle.events)}))
        frames.append(DONE)
        return b"".join(frames)

    def killed(self) -> bytes:
        return DONE

    def error(self, error: dict[str, Any]) -> bytes:
        return data_event({"error": error})


Frames = ChatFrames | MessagesFrames | TextFrames
FRAMES: dict[str, type[Frames]] = {"chat": ChatFrames, "messages": MessagesFrames, "text": TextFrames}
