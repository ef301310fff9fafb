"""Base URLs that are valid but probably wrong, and keys pasted where a URL belongs."""

from __future__ import annotations

import pytest

from traywidget.model import InvalidValue
from traywidget.providers import PROVIDER_IDS, get_provider
from traywidget.store.account_fields import (
    KEY_IN_URL_MESSAGE,
    BaseUrlAdvice,
    base_url_advice,
    looks_like_key,
    parse_account,
    validate_base_url,
)

ROUTING_KEY = "rk_" + "0123456789abcdef" * 4


@pytest.mark.parametrize("provider,url", [
    ("routing.run", "https://api.routing.run/v1"),
    ("routing.run", "https://api.routing.sh/v1"),
    ("routing.run", "https://ai.routing.sh/v1/"),
    ("openrouter", "https://openrouter.ai/api/v1"),
    ("routeway", "https://api.routeway.ai/v1"),
    ("routing.run", "http://127.0.0.1:8080/anything"),  # the simulator, a local proxy
    ("routing.run", "http://localhost/v2"),
    ("routing.run", "not a url"),  # validate_base_url's to explain
    ("some-future-provider", "https://example.com"),
])
def test_no_advice(provider, url):
    assert base_url_advice(provider, url) is None


@pytest.mark.parametrize("provider,url,expected", [
    ("routing.run", "https://routing.run/v1", BaseUrlAdvice(
        "routing.run is not an API host of routing.run (expected api.routing.run, api.routing.sh, ai.routing.sh); "
        "your key would be sent to it.", "https://api.routing.run/v1")),
    ("routing.run", "https://api.routing.run", BaseUrlAdvice(
        "routing.run base URLs end in /v1 (expected https://api.routing.run/v1).", "https://api.routing.run/v1")),
    ("routing.run", "https://ai.routing.sh/api/v1", BaseUrlAdvice(
        "routing.run base URLs end in /v1 (expected https://ai.routing.sh/v1).", "https://ai.routing.sh/v1")),
    ("openrouter", "https://OpenRouter.ai/v1", BaseUrlAdvice(
        "OpenRouter base URLs end in /api/v1 (expected https://OpenRouter.ai/api/v1).",
        "https://OpenRouter.ai/api/v1")),
    ("routeway", "https://routeway.ai/v1", BaseUrlAdvice(
        "routeway.ai is not an API host of Routeway (expected api.routeway.ai); your key would be sent to it.",
        "https://api.routeway.ai/v1")),
    ("openrouter", "https://api.routeway.ai/v1", BaseUrlAdvice(
        "api.routeway.ai is the API host of Routeway, not of OpenRouter: your OpenRouter key would be sent to "
        "Routeway.", "https://openrouter.ai/api/v1", "routeway")),
    ("routeway", "https://openrouter.ai/api/v1", BaseUrlAdvice(
        "openrouter.ai is the API host of OpenRouter, not of Routeway: your Routeway key would be sent to "
        "OpenRouter.", "https://api.routeway.ai/v1", "openrouter")),
])
def test_advice_and_its_fix(provider, url, expected):
    advice = base_url_advice(provider, url)
    assert advice == expected
    assert base_url_advice(provider, advice.fixed_url) is None  # the fix needs no further advice


def test_every_provider_has_known_hosts():
    # An openai-compatible account may point at any API host, a LiteLLM account at the team's own
    # proxy: no host is "wrong", so none is known.
    with_hosts = {provider_id for provider_id in PROVIDER_IDS if get_provider(provider_id).known_hosts}
    assert with_hosts == set(PROVIDER_IDS) - {"openai-compatible", "litellm"}


@pytest.mark.parametrize("text", [
    ROUTING_KEY, "sk-or-v1-" + "ab12" * 16, "sk-proj-Abc123Def456Ghi789", "clsk-abcdef0123456789XY",
    "rw-0123456789abcdefXYZ", "Bearer " + ROUTING_KEY, "https://api.routing.run/v1/" + ROUTING_KEY,
    "q8Vd2LkP0aZx7TnR4mYs9WcE1uJh6GfB",
])
def test_key_like(text):
    assert looks_like_key(text)


@pytest.mark.parametrize("text", [
    "https://api.routing.run/v1", "https://openrouter.ai/api/v1", "https://example.com/desk-organizer-for-long-names",
    "https://gateway.example.com/openai/deployments/123e4567-e89b-12d3-a456-426614174000/v1",
    "http://127.0.0.1:8080/v1", "https://api.example.com/abcdefghijklmnopqrstuvwxyzabcdefgh/v1",
])
def test_not_key_like(text):
    assert not looks_like_key(text)


def test_a_key_given_as_url_is_refused_without_being_echoed():
    with pytest.raises(InvalidValue) as refused:
        validate_base_url(ROUTING_KEY)
    assert str(refused.value) == KEY_IN_URL_MESSAGE and ROUTING_KEY[:10] not in str(refused.value)
    # a hand-edited config with a key in base_url: skipped, and the message does not repeat it
    with pytest.raises(InvalidValue) as skipped:
        parse_account({"id": "a", "provider": "routing.run", "base_url": ROUTING_KEY}, PROVIDER_IDS)
    assert ROUTING_KEY[3:15] not in str(skipped.value)


def test_an_openai_compatible_base_url_gets_no_host_advice():
    assert base_url_advice("openai-compatible", "https://api.groq.com/openai/v1") is None
