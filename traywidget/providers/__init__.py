"""Provider adapters: pure translation between each router's HTTP API and the model.

Importing this package imports no adapter; `get_provider` loads one on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from traywidget.i18n import tr, tr_noop

if TYPE_CHECKING:
    from traywidget.providers.base import Provider

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

_CLASSES: dict[str, tuple[str, str]] = {
    "routing.run": ("traywidget.providers.routing_run", "RoutingRun"),
    "openrouter": ("traywidget.providers.openrouter", "OpenRouter"),
    "routeway": ("traywidget.providers.routeway", "Routeway"),
    "litellm": ("traywidget.providers.litellm", "LiteLLM"),
    "deepseek": ("traywidget.providers.deepseek", "DeepSeek"),
    "moonshot": ("traywidget.providers.moonshot", "Moonshot"),
    "openai-compatible": ("traywidget.providers.openai_compatible", "OpenAICompatible"),
}


def display_name(provider_id: str) -> str:
    """"OpenRouter" for "openrouter"; an unknown id is shown as it is."""
    return tr(DISPLAY_NAMES.get(provider_id, provider_id))

_instances: dict[str, Provider] = {}


def get_provider(provider_id: str) -> Provider:
    """The adapter for `provider_id` (adapters are stateless: one shared instance each).

    Raises ValueError naming the known ids for an unknown one.
    """
    provider = _instances.get(provider_id)
    if provider is not None:
        return provider
    try:
        module_name, class_name = _CLASSES[provider_id]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown provider {provider_id!r}; known providers: {', '.join(PROVIDER_IDS)}"
        ) from None
    cls = getattr(importlib.import_module(module_name), class_name)
    provider = _instances.setdefault(provider_id, cls())
    return provider


__all__ = ["DISPLAY_NAMES", "PROVIDER_IDS", "display_name", "get_provider"]
