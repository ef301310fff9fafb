"""The simulated world of routing.run: users on plans, their per-minute/hour/day counters, its usage endpoints.

A part of Simulator (world.py), which holds the lock and the state every part reads."""

from __future__ import annotations

import secrets
from typing import Any

from traywidget.simulator.records import (
    PLANS,
    ROUTING,
    Denial,
    RoutingUser,
)
from traywidget.simulator.world_state import WorldState


class RoutingRunWorld(WorldState):
    def add_routing_key(self, plan: str = "Premium", *, same_user_as: str | None = None,
                        key: str | None = None) -> str:
        """A routing.run key; with same_user_as it shares that key's user and counters."""
        with self._lock:
            if same_user_as is not None:
                user = self._routing_keys[same_user_as]
            else:
                user = RoutingUser(f"user-{next(self._ids)}", PLANS[plan])
            key = self._register(key, ROUTING, lambda: "rk_" + secrets.token_hex(32))
            self._routing_keys[key] = user
            return key

    def set_plan(self, key: str, plan: str) -> None:
        with self._lock:
            self._routing_keys[key].plan = PLANS[plan]

    def set_counters(self, key: str, *, day: int | None = None, hour: int | None = None,
                     minute: int | None = None) -> None:
        """Set a routing.run user's counters directly (to start a test near a limit)."""
        with self._lock:
            user, now = self._routing_keys[key], self.now()
            for counter, value in ((user.day, day), (user.hour, hour), (user.minute, minute)):
                if value is not None:
                    counter.set(now, value)

    def routing_usage(self, key: str) -> dict[str, Any]:
        with self._lock:
            user, now = self._routing_keys[key], self.now()
            plan = user.plan
            day, hour, minute = (int(c.value(now)) for c in (user.day, user.hour, user.minute))
            return {
                "requests_used_today": day,
                "requests_limit_today": plan.per_day,
                "requests_remaining": max(0, plan.per_day - day),
                "requests_used_this_hour": hour,
                "requests_limit_this_hour": plan.per_hour or 0,
                "requests_remaining_this_hour": max(0, plan.per_hour - hour) if plan.per_hour else 0,
                "requests_used_this_minute": minute,
                "requests_limit_per_minute": plan.per_minute,
                "requests_remaining_this_minute": max(0, plan.per_minute - minute),
                "plan_tier": plan.name,
            }

    def routing_hourly(self, key: str) -> dict[str, Any]:
        usage = self.routing_usage(key)
        return {"limit": usage["requests_limit_this_hour"], "used": usage["requests_used_this_hour"],
                "remaining": usage["requests_remaining_this_hour"], "plan_tier": usage["plan_tier"]}

    def _admit_routing(self, key: str, stream: bool, weight: int) -> Denial | None:
        user, now = self._routing_keys[key], self.now()
        plan = user.plan
        checks = (
            ("daily", plan.per_day, user.day),
            ("hourly", plan.per_hour, user.hour),
            ("minute", plan.per_minute, user.minute),
        )
        for kind, limit, counter in checks:
            used = counter.value(now)
            if limit is not None and used + weight > limit:
                return Denial(kind, limit, max(0, int(limit - used)), counter.resets_at(now))
        if stream and self._active_streams(user.id) >= user.max_streams:
            return Denial("concurrent", user.max_streams, 0)
        for _, _, counter in checks:
            counter.add(now, weight)
        return None
