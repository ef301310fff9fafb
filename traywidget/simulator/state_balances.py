"""The simulated LiteLLM proxy, DeepSeek and Moonshot accounts, and the traffic-header dialects
of other APIs; a small world beside state.Simulator's, with its own lock (the Simulator holds one
as `sim.balances`).

- LiteLLM virtual keys: spend against max_budget (None: no cap), budget_duration/budget_reset_at,
  tpm/rpm limits, extra budget windows; a completion costs `cost` USD and answers with
  x-litellm-key-spend / -key-max-budget / -response-cost; over budget it is refused with
  `budget_exceeded` (status 400 or 429, as the account's `budget_status` says).
- DeepSeek accounts: is_available and balance_infos (amounts as strings, as DeepSeek sends them).
- Moonshot accounts: available/voucher/cash balances.
- Dialect keys: an OpenAI-compatible endpoint answering with one provider's rate-limit headers
  (cerebras, digitalocean, groq, fireworks, anthropic-unified) or refusals (gemini-day,
  gemini-minute: the RESOURCE_EXHAUSTED 429 wrapped in an array; cloudflare: a 1010 page).
- Any key, of any provider, can be put behind a Cloudflare-style firewall: configure(key,
  firewall="1010" | "challenge" | "browser-only"); "browser-only" refuses (1010) a User-Agent that is not
  a browser's, as Routeway's is reported to. routes_balances.py answers for the firewall before any route.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from traywidget.simulator.windows import Clock

LITELLM = "litellm"
DEEPSEEK = "deepseek"
MOONSHOT = "moonshot"
DIALECT = "dialect"
DIALECTS = ("cerebras", "digitalocean", "groq", "fireworks", "anthropic-unified", "gemini-day", "gemini-minute",
            "cloudflare")
FIREWALLS = ("1010", "challenge", "browser-only")


@dataclass
class LiteLLMKey:
    alias: str | None = "sim key"
    spend: float = 0.0
    max_budget: float | None = None
    budget_duration: str | None = None
    budget_reset_at: datetime | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    # [{"budget_duration": "1h", "max_budget": 1.0}]; their spend grows with every completion.
    budget_limits: list[dict[str, Any]] = field(default_factory=list)
    window_spend: dict[str, float] = field(default_factory=dict)
    cost: float = 0.002
    budget_status: int = 429  # LiteLLM refuses a spent budget with 400 or 429, by version
    firewall: str | None = None


@dataclass
class DeepSeekAccount:
    is_available: bool = True
    # [(currency, total, granted, topped_up)] as DeepSeek's strings
    balances: list[tuple[str, str, str, str]] = field(default_factory=lambda: [("CNY", "110.00", "10.00", "100.00")])
    firewall: str | None = None


@dataclass
class MoonshotAccount:
    available_balance: float = 49.58894
    voucher_balance: float = 46.58893
    cash_balance: float = 3.00001
    firewall: str | None = None


@dataclass
class DialectKey:
    dialect: str
    firewall: str | None = None


class BalanceWorld:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._records: dict[str, tuple[str, Any]] = {}
        # Firewalls in front of keys of the other providers (routing.run, OpenRouter, Routeway ...).
        self._firewalls: dict[str, str] = {}

    def _add(self, provider: str, record: Any, key: str | None, prefix: str) -> str:
        key = key or prefix + secrets.token_hex(24)
        with self._lock:
            if key in self._records:
                raise ValueError("key already exists")
            self._records[key] = (provider, record)
        return key

    def add_litellm_key(self, *, key: str | None = None, **options: Any) -> str:
        record = LiteLLMKey(**options)
        if record.budget_duration and record.budget_reset_at is None:
            record.budget_reset_at = self.clock() + timedelta(days=30)
        return self._add(LITELLM, record, key, "sk-")

    def add_deepseek_account(self, *, key: str | None = None, **options: Any) -> str:
        return self._add(DEEPSEEK, DeepSeekAccount(**options), key, "sk-")

    def add_moonshot_account(self, *, key: str | None = None, **options: Any) -> str:
        return self._add(MOONSHOT, MoonshotAccount(**options), key, "sk-")

    def add_dialect_key(self, dialect: str, *, key: str | None = None) -> str:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}")
        return self._add(DIALECT, DialectKey(dialect), key, "sk-dialect-")

    def adders(self) -> dict[str, Callable[..., str]]:
        """Simulator.add_account's makers for these providers (a dialect key: dialect="cerebras")."""
        return {LITELLM: self.add_litellm_key, DEEPSEEK: self.add_deepseek_account,
                MOONSHOT: self.add_moonshot_account, DIALECT: lambda **options: self.add_dialect_key(**options)}

    def knows(self, key: str | None, provider: str | None = None) -> bool:
        with self._lock:
            entry = self._records.get(key) if key else None
            return entry is not None and (provider is None or entry[0] == provider)

    def record(self, key: str) -> Any:
        with self._lock:
            return self._records[key][1]

    def configure(self, key: str, **values: Any) -> None:
        """Set fields of a key's record: spend=, max_budget=, is_available=, balances=, available_balance=,
        firewall="1010"|"challenge"|None, budget_status=400 ..."""
        if values.get("firewall") not in (None, *FIREWALLS):
            raise ValueError(f"firewall must be one of {', '.join(FIREWALLS)} or null")
        with self._lock:
            provider, record = self._records[key]
            known = {f.name for f in fields(record)}
            for name, value in values.items():
                if name not in known:
                    raise ValueError(f"cannot configure {name!r} on a {provider} key")
                if name == "balances":
                    value = [tuple(str(part) for part in row) for row in value]
                setattr(record, name, value)

    # --- payloads -----------------------------------------------------------------

    def litellm_key_info(self, key: str) -> dict[str, Any]:
        with self._lock:
            record: LiteLLMKey = self.record(key)
            info: dict[str, Any] = {
                "key_alias": record.alias, "spend": round(record.spend, 6), "max_budget": record.max_budget,
                "budget_duration": record.budget_duration,
                "budget_reset_at": record.budget_reset_at.isoformat() if record.budget_reset_at else None,
                "tpm_limit": record.tpm_limit, "rpm_limit": record.rpm_limit, "models": [],
            }
            if record.budget_limits:
                info["budget_limits"] = [dict(limit) for limit in record.budget_limits]
                info["budget_limits_usage"] = {str(limit["budget_duration"]): {
                    "current_spend": round(record.window_spend.get(str(limit["budget_duration"]), 0.0), 6)}
                    for limit in record.budget_limits}
            return {"key": secrets.token_hex(32), "info": info}

    def litellm_spend(self, key: str) -> tuple[bool, dict[str, str], str]:
        """One completion: (allowed, headers, refusal message). A spent budget refuses and spends nothing."""
        with self._lock:
            record: LiteLLMKey = self.record(key)
            if record.max_budget is not None and record.spend >= record.max_budget:
                return False, {}, (f"Budget has been exceeded! Current cost: {record.spend:g}, "
                                   f"Max budget: {record.max_budget:g}")
            record.spend += record.cost
            for limit in record.budget_limits:
                duration = str(limit["budget_duration"])
                record.window_spend[duration] = record.window_spend.get(duration, 0.0) + record.cost
            headers = {"x-litellm-key-spend": f"{record.spend:.6f}", "x-litellm-response-cost": f"{record.cost:.6f}"}
            if record.max_budget is not None:
                headers["x-litellm-key-max-budget"] = f"{record.max_budget:g}"
            return True, headers, ""

    def deepseek_balance(self, key: str) -> dict[str, Any]:
        with self._lock:
            record: DeepSeekAccount = self.record(key)
            return {"is_available": record.is_available, "balance_infos": [
                {"currency": c, "total_balance": t, "granted_balance": g, "topped_up_balance": u}
                for c, t, g, u in record.balances]}

    def moonshot_balance(self, key: str) -> dict[str, Any]:
        with self._lock:
            record: MoonshotAccount = self.record(key)
            return {"code": 0, "data": {"available_balance": record.available_balance,
                                        "voucher_balance": record.voucher_balance,
                                        "cash_balance": record.cash_balance},
                    "scode": "0x0", "status": True}

    def block(self, key: str, firewall: str | None) -> None:
        """Put any provider's key behind a firewall (None: take it away)."""
        if firewall not in (None, *FIREWALLS):
            raise ValueError(f"firewall must be one of {', '.join(FIREWALLS)} or null")
        with self._lock:
            if key in self._records:
                self.configure(key, firewall=firewall)
            elif firewall is None:
                self._firewalls.pop(key, None)
            else:
                self._firewalls[key] = firewall

    def firewall(self, key: str | None, user_agent: str = "") -> str | None:
        """How the firewall in front of `key` answers this client ("1010", "challenge"), or None: let through."""
        with self._lock:
            entry = self._records.get(key) if key else None
            kind = getattr(entry[1], "firewall", None) if entry else self._firewalls.get(key or "")
        if kind == "browser-only":
            return None if user_agent.startswith("Mozilla/") else "1010"
        return kind

    def dialect(self, key: str) -> str:
        with self._lock:
            return self.record(key).dialect
