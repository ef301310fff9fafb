"""Which providers exist and what people call them: read by every view without loading an adapter."""

from __future__ import annotations

from traywidget.i18n import tr, tr_noop

PROVIDER_IDS: tuple[str, ...] = ("routing.run", "openrouter", "routeway", "litellm", "deepseek", "moonshot",
                                 "openai-compatible")

# The one source of each provider's name as people read it (the adapters and
# every view take it from here).
DISPLAY_NAMES: dict[str, str] = {
    "routing.run": "routing.run",
    "openrouter": "OpenRouter",
    "routeway": "Routeway",
    "litellm": "LiteLLM",
    "deepseek": "DeepSeek",
    "moonshot": "Moonshot (Kimi)",
    "openai-compatible": tr_noop("OpenAI-compatible"),  # a kind, not a name: said in the user's language
}


def display_name(provider_id: str) -> str:
    """"OpenRouter" for "openrouter"; an unknown id is shown as it is."""
    return tr(DISPLAY_NAMES.get(provider_id, provider_id))
