"""Laptops sleep and change networks: after a resume the engine refreshes at
once instead of waiting out timers that went stale during the sleep; a
network change (engine.wake()) polls promptly; a host that does not resolve
is "offline", not an error, for one account or all of them."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

import pytest

from traywidget.engine.engine import Engine, EngineSettings
from traywidget.engine.schedule import Cadence
from traywidget.model import Account, State, utcnow
from traywidget.store.secrets import MemorySecretStore

from .helpers import PROVIDERS, SHORT, add_member, wait_until

FAR = Cadence(fast_s=3600, full_s=3600)  # the next scheduled poll is an hour away


class WallClock:
    """The engine's wall clock, with a jump to simulate a suspend/resume.
    The monotonic clock stops while a machine sleeps; the wall clock does not."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.offset)


@pytest.mark.slow
async def test_resume_from_sleep_refreshes_promptly(sim, report):
    wall = WallClock()
    secrets = MemorySecretStore()
    members = [add_member(sim, p, f"sleep-{SHORT[p]}", secrets) for p in PROVIDERS]
    watchdog_s = 0.2
    engine = Engine([m.account for m in members], secrets, now=wall.now, monotonic=time.monotonic,
                    settings=EngineSettings(cadence=FAR, watchdog_s=watchdog_s, resume_jump_s=30, timeout_s=2))

    def polls() -> int:
        return sum(len(sim.sim.requests(key=m.usage_key)) for m in members)

    published: list[float] = []  # monotonic time of every snapshot (published once a poll is complete)
    engine.subscribe(lambda snap: published.append(time.monotonic()))

    async def all_polled_since(moment: float, timeout: float) -> bool:
        return await wait_until(lambda: sum(t > moment for t in published) >= len(members), timeout)

    await engine.start()
    try:
        assert await all_polled_since(0, 5)
        before = polls()
        await asyncio.sleep(watchdog_s * 5)  # no jump: nothing is due for an hour, nothing is sent
        assert polls() == before, "polled although nothing was due"
        wall.offset += 3 * 3600  # the lid was closed for three hours
        jumped = time.monotonic()
        assert await all_polled_since(jumped, watchdog_s * 3 + 2), "no refresh after a 3 h jump"
        took = max(published) - jumped
        wall.offset -= 120  # NTP corrects the clock backwards by two minutes: also a jump
        corrected = time.monotonic()
        assert await all_polled_since(corrected, watchdog_s * 3 + 2), "no refresh after a -120 s jump"
        small = polls()
        wall.offset += 5  # a small correction is not a resume
        await asyncio.sleep(watchdog_s * 4)
        assert polls() == small, "a 5 s correction was taken for a resume"
    finally:
        await engine.stop()
    assert all(s.state is State.OK for s in engine.snapshots.values())
    report(f"sleep/resume: a 3 h wall-clock jump led to a fresh poll of all {len(members)} accounts after "
           f"{took:.2f} s (watchdog {watchdog_s} s; next scheduled poll was 1 h away); a -120 s jump too, "
           f"a +5 s one not")


async def test_network_change_wake_polls_promptly(sim, report):
    secrets = MemorySecretStore()
    members = [add_member(sim, p, f"wake-{SHORT[p]}", secrets) for p in PROVIDERS]
    engine = Engine([m.account for m in members], secrets,
                    settings=EngineSettings(cadence=FAR, watchdog_s=60, timeout_s=2))
    await engine.start()
    try:
        assert await wait_until(lambda: len(engine.snapshots) == 3, 5)
        before = sim.sim.count()
        woke = time.monotonic()
        engine.wake()
        assert await wait_until(lambda: sim.sim.count() >= before + 3, 2)
        took = time.monotonic() - woke
    finally:
        await engine.stop()
    report(f"network change: engine.wake() polled all 3 accounts after {took * 1000:.0f} ms "
           f"(next scheduled poll was 1 h away)")


def _offline_accounts(n: int, secrets: MemorySecretStore) -> list[Account]:
    accounts = []
    for i in range(n):
        p = PROVIDERS[i % 3]
        account_id = f"off-{SHORT[p]}{i}"
        accounts.append(Account(account_id, p, account_id, f"https://nonexistent{i}.invalid/v1"))
        secrets.set(account_id, "sk-test-0123456789")
        secrets.set(account_id, "mgmt-0123456789", management=True)
    return accounts


async def test_unresolvable_host_is_offline_not_error(sim, report):
    secrets = MemorySecretStore()
    healthy = [add_member(sim, p, f"on-{SHORT[p]}", secrets) for p in PROVIDERS]
    offline = _offline_accounts(3, secrets)
    engine = Engine([*offline, *(m.account for m in healthy)], secrets, settings=EngineSettings(timeout_s=5))
    snaps = {s.account_id: s for s in await engine.poll_all()}
    await engine.stop()
    for account in offline:
        snap = snaps[account.id]
        assert snap.state is State.OFFLINE, (account.id, snap.state, snap.error)
        assert snap.error.message == f"Offline: cannot resolve {account.base_url.split('/')[2]}", snap.error
    assert all(snaps[m.account.id].state is State.OK for m in healthy)
    report("offline: 3 accounts on unresolvable hosts show offline ('Offline: cannot resolve …'); "
           "3 others in the same poll stay ok")


@pytest.mark.slow
async def test_all_offline_shows_offline_everywhere_without_log_spam(caplog, report):
    caplog.set_level(logging.INFO)
    secrets = MemorySecretStore()
    accounts = _offline_accounts(6, secrets)
    cadence = Cadence(fast_s=0.05, full_s=0.1, backoff_base_s=0.05, backoff_max_s=0.2)
    engine = Engine(accounts, secrets, settings=EngineSettings(cadence=cadence, timeout_s=2, watchdog_s=60))
    seen = []
    engine.subscribe(seen.append)
    await engine.start()
    try:
        await asyncio.sleep(1.5)
    finally:
        await engine.stop()
    assert {s.account_id for s in seen} == {a.id for a in accounts}
    assert {s.state for s in seen} == {State.OFFLINE}, {s.state for s in seen}
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage() for r in noisy][:5]
    # Offline backs off like any error: a few attempts each, not one per cadence tick.
    per_account = len(seen) / len(accounts)
    assert per_account <= 1.5 / 0.05 / 2, per_account
    report(f"offline: all {len(accounts)} accounts offline → {len(seen)} snapshots, every one 'offline', "
           f"{per_account:.1f} attempts per account in 1.5 s (backoff), 0 warnings logged")
