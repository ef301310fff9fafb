"""Provider adapters: pure translation between each router's HTTP API and the model.

Importing this package imports no adapter; `get_provider` loads one on first use
(the tray's start-up shows names before any adapter is needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traywidget.providers.names import DISPLAY_NAMES, PROVIDER_IDS, display_name

if TYPE_CHECKING:
    from traywidget.providers.base import Provider

_instances: dict[str, Provider] = {}


def get_provider(provider_id: str) -> Provider:
    """The adapter for `provider_id` (adapters are stateless: one shared instance each).

    Raises ValueError naming the known ids for an unknown one.
    """
    provider = _instances.get(provider_id)
    if provider is not None:
        return provider
    provider = _instances.setdefault(provider_id, _adapter(provider_id))
    return provider


def _adapter(provider_id: str) -> Provider:
    if provider_id == "routing.run":
        from traywidget.providers.routing_run import RoutingRun

        return RoutingRun()
    if provider_id == "openrouter":
        from traywidget.providers.openrouter import OpenRouter

        return OpenRouter()
    if provider_id == "routeway":
        from traywidget.providers.routeway import Routeway

        return Routeway()
    if provider_id == "litellm":
        from traywidget.providers.litellm import LiteLLM

        return LiteLLM()
    if provider_id == "deepseek":
        from traywidget.providers.deepseek import DeepSeek

        return DeepSeek()
    if provider_id == "moonshot":
        from traywidget.providers.moonshot import Moonshot

        return Moonshot()
    if provider_id == "openai-compatible":
        from traywidget.providers.openai_compatible import OpenAICompatible

        return OpenAICompatible()
    raise ValueError(f"Unknown provider {provider_id!r}; known providers: {', '.join(PROVIDER_IDS)}")


__all__ = ["DISPLAY_NAMES", "PROVIDER_IDS", "display_name", "get_provider"]
