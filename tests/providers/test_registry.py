"""The provider registry: ids, lazy creation, unknown ids."""

from __future__ import annotations

import subprocess
import sys

import pytest

from traywidget.providers import PROVIDER_IDS, get_provider
from traywidget.providers.base import Provider


def test_ids():
    assert PROVIDER_IDS == ("routing.run", "openrouter", "routeway", "litellm", "deepseek", "moonshot",
                            "openai-compatible")


@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
def test_get_provider(provider_id):
    provider = get_provider(provider_id)
    assert isinstance(provider, Provider)
    assert provider.id == provider_id
    assert get_provider(provider_id) is provider
    # https, or a proxy on this machine (LiteLLM's default http://localhost:4000)
    assert provider.default_base_url.startswith(("https://",
                                                 "http://localhost:")) and provider.default_base_url.endswith("/v1")


@pytest.mark.parametrize("bad", ["", "nope", "OpenRouter", None, 3])
def test_unknown_provider(bad):
    with pytest.raises(ValueError) as caught:
        get_provider(bad)  # type: ignore[arg-type]  # a wrong type on purpose
    for provider_id in PROVIDER_IDS:
        assert provider_id in str(caught.value)


@pytest.mark.slow
def test_import_has_no_side_effects():
    code = (
        "import sys, traywidget.providers as p;"
        "assert not any(m.startswith('traywidget.providers.') and m != 'traywidget.providers.names' "
        "for m in sys.modules), sorted(sys.modules);"  # the names, for every view; no adapter
        "assert 'PySide6' not in sys.modules and 'httpx' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_adapters_never_import_qt_or_httpx():
    code = (
        "import sys;"
        "import traywidget.providers.routing_run, traywidget.providers.openrouter, traywidget.providers.routeway;"
        "import traywidget.providers.openai_compatible, traywidget.providers.headers, "
        "traywidget.providers.from_traffic;"
        "bad = [m for m in ('PySide6', 'httpx', 'qasync') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
