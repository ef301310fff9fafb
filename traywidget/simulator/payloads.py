"""Non-streamed answers: a chat or legacy completion, an Anthropic message, embeddings, the model list."""

from __future__ import annotations

import time
from typing import Any

from traywidget.simulator.frames import OPENROUTER_UPSTREAM, WORDS, usage_block
from traywidget.simulator.records import PLAIN_ANSWER_TOKENS, PROMPT_TOKENS

EMBEDDING_DIMENSIONS = 8
MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-3-5-haiku-latest")


def completion_tokens(max_tokens: int) -> int:
    """How many tokens a non-streamed answer generates (a word each)."""
    return min(max_tokens, PLAIN_ANSWER_TOKENS)


def chat_completion(model: str, max_tokens: int, answer_id: str | None = None,
                    openrouter: bool = False) -> dict[str, Any]:
    tokens = completion_tokens(max_tokens)
    body = {"id": answer_id or f"chatcmpl-sim{time.time_ns()}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "length" if tokens == max_tokens else "stop",
                         "message": {"role": "assistant", "content": " ".join(WORDS[:tokens])}}],
            "usage": usage_block(tokens, openrouter=openrouter)}
    if openrouter:
        body["provider"] = OPENROUTER_UPSTREAM
    return body


def text_completion(model: str, max_tokens: int) -> dict[str, Any]:
    """A legacy /completions answer."""
    tokens = completion_tokens(max_tokens)
    return {"id": f"cmpl-sim{time.time_ns()}", "object": "text_completion", "created": int(time.time()),
            "model": model,
            "choices": [{"text": " ".join(WORDS[:tokens]), "index": 0, "logprobs": None,
                         "finish_reason": "length" if tokens == max_tokens else "stop"}],
            "usage": usage_block(tokens)}


def anthropic_message(model: str, max_tokens: int) -> dict[str, Any]:
    tokens = completion_tokens(max_tokens)
    return {"id": f"msg_sim{time.time_ns()}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": " ".join(WORDS[:tokens])}],
            "stop_reason": "max_tokens" if tokens == max_tokens else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": tokens}}


def embedding_tokens(inputs: list[str]) -> int:
    return sum(max(1, len(text.split())) for text in inputs)


def embeddings(model: str, inputs: list[str]) -> dict[str, Any]:
    """One small deterministic vector per input."""
    data = [{"object": "embedding", "index": index,
             "embedding": [round(((len(text) + index * 7 + d * 13) % 97) / 97, 6)
                           for d in range(EMBEDDING_DIMENSIONS)]}
            for index, text in enumerate(inputs)]
    tokens = embedding_tokens(inputs)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def model_list() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": model, "object": "model", "created": 1_700_000_000,
                                         "owned_by": "simulator"} for model in MODELS]}
