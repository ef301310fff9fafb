"""A lively demo world: accounts of every provider with a usage endpoint, whose numbers move, and an
OpenAI-compatible one.

Keys are obviously fake and fixed, so a demo config can be written once.
What happens, on purpose:
- every account gets background traffic;
- "routing.run · runs low" starts at 370/500 this hour with 30 req/min, so it
  turns low within about a minute and is nearly exhausted after a few;
- the OpenRouter account gets a one-shot 429 (Retry-After 20 s) after ~40 s
  and again every ~90 s;
- the main routing.run account always has an active stream, reopened ~10 s
  after each kill, so "Kill all streams" always has something to stop;
- a LiteLLM virtual key spends against its $25 monthly budget, a DeepSeek account
  holds the documented ¥110.00, a Moonshot account $49.59 (money in two currencies).
"""

from __future__ import annotations

from typing import Any

from traywidget.simulator.records import OPENAI_COMPATIBLE, OPENROUTER, ROUTEWAY, ROUTING
from traywidget.simulator.state_balances import DEEPSEEK, LITELLM, MOONSHOT
from traywidget.simulator.world import Simulator

ROUTING_KEY = "rk_" + "d" * 60 + "0001"
ROUTING_LOW_KEY = "rk_" + "d" * 60 + "0002"
ROUTING_LITE_KEY = "rk_" + "d" * 60 + "0003"
OPENROUTER_KEY = "sk-or-v1-" + "d" * 60 + "0001"
OPENROUTER_MGMT_KEY = "sk-or-v1-" + "e" * 60 + "0001"
ROUTEWAY_KEY = "sk-demo" + "d" * 41 + "0001"
ROUTEWAY_MGMT_KEY = "rw-mgmt-demo" + "e" * 36 + "0001"
LITELLM_KEY = "sk-litellm-demo" + "d" * 33 + "0001"
DEEPSEEK_KEY = "sk-deepseek-demo" + "d" * 32 + "0001"
MOONSHOT_KEY = "sk-moonshot-demo" + "d" * 32 + "0001"
COMPATIBLE_KEY = "sk-demo-compatible-" + "d" * 44 + "0001"


def _account(id_: str, provider: str, label: str, api_key: str, management_key: str | None = None) -> dict[str, Any]:
    return {"id": id_, "provider": provider, "label": label, "api_key": api_key, "management_key": management_key}


def build_demo(sim: Simulator) -> list[dict[str, Any]]:
    """Create the demo accounts in sim and start their activity; returns the
    accounts as {id, provider, label, api_key, management_key}."""
    sim.add_routing_key("Premium", key=ROUTING_KEY)
    sim.set_counters(ROUTING_KEY, day=420, hour=120)
    sim.start_traffic(ROUTING_KEY, 12)
    sim.keep_stream(ROUTING_KEY, restart_after_s=10)

    sim.add_routing_key("Weekly", key=ROUTING_LOW_KEY)
    sim.set_counters(ROUTING_LOW_KEY, day=900, hour=370)
    sim.start_traffic(ROUTING_LOW_KEY, 30)

    sim.add_routing_key("Lite", key=ROUTING_LITE_KEY)
    sim.set_counters(ROUTING_LITE_KEY, day=130)
    sim.start_traffic(ROUTING_LITE_KEY, 6)

    sim.add_openrouter_key(label="demo", limit=10.0, limit_reset="monthly", total_credits=25.0,
                           total_usage=11.5, key=OPENROUTER_KEY)
    sim.add_management_key(OPENROUTER_KEY, key=OPENROUTER_MGMT_KEY)
    sim.start_traffic(OPENROUTER_KEY, 20, model="openai/gpt-4o-mini")
    sim.start_traffic(OPENROUTER_KEY, 4, model="meta-llama/llama-3.3-70b-instruct:free")
    sim.every(90, lambda s: s.inject(OPENROUTER_KEY, "status_429", count=1, retry_after=20),
              first_after_s=40)

    sim.add_routeway_key(label="demo", daily_limit=200, minute_limit=5, balance=4.20, key=ROUTEWAY_KEY)
    sim.add_management_key(ROUTEWAY_KEY, key=ROUTEWAY_MGMT_KEY)
    sim.start_traffic(ROUTEWAY_KEY, 3)

    balances = sim.balances
    balances.add_litellm_key(alias="team proxy", spend=18.4, max_budget=25.0, budget_duration="30d",
                             rpm_limit=60, cost=0.05, key=LITELLM_KEY)
    sim.every(15, lambda s: s.balances.litellm_spend(LITELLM_KEY), first_after_s=10)
    balances.add_deepseek_account(key=DEEPSEEK_KEY)
    balances.add_moonshot_account(key=MOONSHOT_KEY)

    # An OpenAI-compatible provider serving chat and Anthropic's /messages on one key: the OpenAI SDK, the
    # Anthropic SDK and curl all work against it through the demo's gateway. Its limits show only in headers.
    sim.add_openai_compatible_key(rpm=60, tpm=150_000, key=COMPATIBLE_KEY)
    return demo_accounts()


def demo_accounts() -> list[dict[str, Any]]:
    """The demo accounts as {id, provider, label, api_key, management_key}, without a simulator (the keys are
    fixed: a command reaching a running demo knows them)."""
    return [
        _account("demo-routing-run", ROUTING, "routing.run · Premium", ROUTING_KEY),
        _account("demo-routing-run-low", ROUTING, "routing.run · runs low", ROUTING_LOW_KEY),
        _account("demo-routing-run-lite", ROUTING, "routing.run · Lite", ROUTING_LITE_KEY),
        _account("demo-openrouter", OPENROUTER, "OpenRouter", OPENROUTER_KEY, OPENROUTER_MGMT_KEY),
        _account("demo-routeway", ROUTEWAY, "Routeway", ROUTEWAY_KEY, ROUTEWAY_MGMT_KEY),
        _account("demo-litellm", LITELLM, "LiteLLM · team proxy", LITELLM_KEY),
        _account("demo-deepseek", DEEPSEEK, "DeepSeek", DEEPSEEK_KEY),
        _account("demo-moonshot", MOONSHOT, "Moonshot (Kimi)", MOONSHOT_KEY),
        _account("demo-compatible", OPENAI_COMPATIBLE, "OpenAI-compatible · chat and messages", COMPATIBLE_KEY),
    ]
