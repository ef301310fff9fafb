"""The fault matrix: every way a usage endpoint misbehaves × every provider,
through the engine (running continuously), the CLI (`status --json` in a
subprocess over a real Secret Service) and the tray view.

For each fault and provider: no crash, no traceback, the faulty account shows
a clear state with the provider's own message, the other accounts polled in
the same run keep their no-fault numbers, no meter makes the badge lie, and
the account recovers on its own once the fault clears.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import pytest

from tests.desktop_session import free_port
from tests.e2e.cli import cli_env, run_cli
from traywidget.engine.engine import Cadence, Engine, EngineSettings
from traywidget.model import Snapshot, State
from traywidget.simulator import SimulatorServer
from traywidget.store.config import Config, ConfigStore
from traywidget.store.secrets import MemorySecretStore

from .helpers import (
    PROVIDERS,
    SHORT,
    Case,
    Member,
    add_member,
    badge_lies,
    cases,
    closed_port_url,
    meter_values,
    wait_until,
)

TIMEOUT_S = 2.0  # generous: the matrix polls ~66 accounts at once, and a loaded CI machine is slow
# Tiny cadences so faults, backoff and recovery all happen within seconds. The
# Retry-After cap keeps "429 without Retry-After" (a 60 s window reset) testable.
CADENCE = Cadence(fast_s=0.05, full_s=0.1, quiet_max_factor=1.0, near_s=0.05, backoff_base_s=0.05,
                  backoff_max_s=0.3, retry_after_cap_s=2.0)


def build_world(server, matrix: list[Case], secrets: MemorySecretStore):
    """Healthy accounts (one per provider) and one faulty account per case × provider."""
    healthy = {p: add_member(server, p, f"ok-{SHORT[p]}", secrets) for p in PROVIDERS}
    faulty: dict[tuple[str, str], Member] = {}
    refused_port = free_port()
    for i, case in enumerate(matrix):
        for p in PROVIDERS:
            url = closed_port_url(refused_port, p) if case.fault == "refused" else None
            faulty[(case.name, p)] = add_member(server, p, f"f{i:02d}-{SHORT[p]}", secrets, base_url=url)
    for member in [*healthy.values(), *faulty.values()]:
        if member.management_key:  # polling at 20/s is this test's choice, not a limit to hit
            server.sim.configure(member.management_key, mgmt_limits=False)
    return healthy, faulty, refused_port


def inject(server, matrix: list[Case], faulty: dict[tuple[str, str], Member]) -> None:
    for case in matrix:
        if case.fault == "refused":
            continue
        for p in PROVIDERS:
            server.sim.inject(faulty[(case.name, p)].usage_key, case.fault, **case.params)


def check_fault_snapshot(case: Case, provider: str, snap: Snapshot | None, baseline: tuple) -> list[str]:
    where = f"{case.name} × {provider}"
    if snap is None:
        return [f"{where}: no snapshot"]
    problems = []
    if snap.state is not case.state:
        problems.append(f"{where}: state {snap.state.value}, expected {case.state.value} "
                        f"({snap.error.message if snap.error else ''})")
    if case.state is State.OK:
        if meter_values(snap) != baseline:
            problems.append(f"{where}: meters {meter_values(snap)} != baseline {baseline}")
    else:
        message = snap.error.message if snap.error else None
        if not case.message_ok(provider, message):
            problems.append(f"{where}: message {message!r}, expected {case.messages.get(provider)!r}")
        window = case.retry.get(provider)
        if window is not None:
            got = snap.error.retry_after_s if snap.error else None
            if got is None or not window[0] <= got <= window[1]:
                problems.append(f"{where}: retry_after_s {got}, expected within {window}")
    return problems


@pytest.mark.slow
async def test_engine_fault_matrix(sim, report, caplog):
    caplog.set_level(logging.WARNING)
    matrix = cases(TIMEOUT_S)
    secrets = MemorySecretStore()
    healthy, faulty, refused_port = build_world(sim, matrix, secrets)
    accounts = [m.account for m in [*healthy.values(), *faulty.values()]]
    settings = EngineSettings(cadence=CADENCE, timeout_s=TIMEOUT_S, watchdog_s=60)

    base_engine = Engine(accounts, secrets, settings=settings)
    with SimulatorServer(sim.sim, port=refused_port):  # the refused accounts' numbers, before the port closes
        baseline = {s.account_id: meter_values(s) for s in await base_engine.poll_all()}
    await base_engine.stop()
    assert all(baseline.values()), "the baseline poll lacks meters"

    inject(sim, matrix, faulty)
    engine = Engine(accounts, secrets, settings=settings)
    seen: list[Snapshot] = []
    engine.subscribe(seen.append)
    first: dict[str, Snapshot] = {}
    engine.subscribe(lambda snap: first.setdefault(snap.account_id, snap))
    revived: SimulatorServer | None = None
    problems: list[str] = []
    try:
        await engine.start()
        everyone = {a.id for a in accounts}
        assert await wait_until(lambda: set(first) >= everyone, TIMEOUT_S * 6), set(everyone) - set(first)
        await asyncio.sleep(TIMEOUT_S * 1.5)  # let the faults repeat a few times
        fault_phase = list(seen)

        failed: set[tuple[str, str]] = set()
        for case in matrix:
            for p in PROVIDERS:
                member = faulty[(case.name, p)]
                found = check_fault_snapshot(case, p, first.get(member.account.id), baseline[member.account.id])
                if found:
                    failed.add((case.name, p))
                    problems += found
        for p, member in healthy.items():
            mine = [s for s in fault_phase if s.account_id == member.account.id]
            bad = [s for s in mine if s.state is not State.OK or meter_values(s) != baseline[member.account.id]]
            if not mine or bad:
                problems.append(f"healthy {p} account disturbed: {len(bad)} of {len(mine)} snapshots not as baseline")
        lies = [lie for s in fault_phase for lie in badge_lies(s)]
        problems += [f"badge lie: {lie}" for lie in lies[:10]]

        # Clear every fault (and open the refused port) and expect recovery without any action.
        sim.sim.clear()
        revived = SimulatorServer(sim.sim, port=refused_port).start()
        # Recovered = OK with the baseline's meters again (a loaded machine may need a few more polls).
        await wait_until(lambda: all(s.state is State.OK and meter_values(s) == baseline[s.account_id]
                                     for s in engine.snapshots.values()), 20.0)
        for case in matrix:
            for p in PROVIDERS:
                account_id = faulty[(case.name, p)].account.id
                snap = engine.snapshots[account_id]
                if snap.state is not State.OK or meter_values(snap) != baseline[account_id]:
                    failed.add((case.name, p))
                    problems.append(f"{case.name} × {p}: did not recover ({snap.state.value}: "
                                    f"{snap.error.message if snap.error else ''})")
        running = {t.get_name() for t in asyncio.all_tasks() if not t.done()}
        dead = [a.id for a in engine.accounts if f"poll-{a.id}" not in running]
        problems += [f"poll loop of {a} ended" for a in dead]
        lies = [lie for s in seen for lie in badge_lies(s)]
        problems += [f"badge lie: {lie}" for lie in lies[:10]]
    finally:
        await engine.stop()
        if revived is not None:
            revived.stop()
    crashes = [r for r in caplog.records if r.exc_info or "Unexpected error" in r.getMessage()]
    problems += [f"logged crash: {r.getMessage()}" for r in crashes]
    total = len(matrix) * len(PROVIDERS)
    report(f"engine fault matrix: {total - len(failed)} faults survived of {total} "
           f"({len(matrix)} faults × {len(PROVIDERS)} providers; {len(seen)} snapshots checked, "
           f"{sim.sim.count()} requests served)")
    assert not problems, "\n".join(problems)


def _store_keys(env: dict[str, str], keys: dict[str, str]) -> None:
    """Write many keys into the Secret Service in one write (the CLI's `keys set` is one per run)."""
    script = (
        "import json, sys\n"
        "from traywidget.store.secrets import KeyringSecretStore\n"
        "KeyringSecretStore().update(json.load(sys.stdin))\n"
    )
    subprocess.run([sys.executable, "-c", script], input=json.dumps(keys), text=True, env=env, check=True,
                   timeout=60)


@pytest.mark.slow
def test_cli_fault_matrix(keyring_home, tmp_path, sim, report):
    _, keyring_env = keyring_home
    env = cli_env(keyring_env, tmp_path)
    timeout_s = EngineSettings().timeout_s  # the CLI's own request timeout
    matrix = cases(timeout_s)
    secrets = MemorySecretStore()
    healthy, faulty, refused_port = build_world(sim, matrix, secrets)
    members = [*healthy.values(), *faulty.values()]
    ConfigStore(tmp_path / "config").save(Config(accounts=tuple(m.account for m in members)))
    keys = {}
    for m in members:
        keys[f"{m.account.id}:api"] = m.api_key
        if m.management_key:
            keys[f"{m.account.id}:management"] = m.management_key
    _store_keys(keyring_env, keys)

    def status() -> tuple[dict[str, Snapshot], str, int]:
        result = run_cli(env, "status", "--json", timeout=120)
        assert "Traceback" not in result.err, result.err
        snaps = {d["id"]: Snapshot.from_json(d) for d in json.loads(result.out)["accounts"]}
        return snaps, result.err, result.code

    with SimulatorServer(sim.sim, port=refused_port):
        baseline_snaps, err, code = status()
    assert code == 0, err
    baseline = {k: meter_values(v) for k, v in baseline_snaps.items()}

    inject(sim, matrix, faulty)
    snaps, err, code = status()
    assert code == 1
    problems: list[str] = []
    failed: set[tuple[str, str]] = set()
    for case in matrix:
        if case.slow:  # the CLI's timeout is the default one: "did not answer within 15 s"
            case = Case(case.name, case.fault, case.params, case.state,
                        dict.fromkeys(PROVIDERS, "127.0.0.1 did not answer …"))
        for p in PROVIDERS:
            account_id = faulty[(case.name, p)].account.id
            found = check_fault_snapshot(case, p, snaps.get(account_id), baseline[account_id])
            if found:
                failed.add((case.name, p))
                problems += found
    for p, member in healthy.items():
        snap = snaps[member.account.id]
        if snap.state is not State.OK or meter_values(snap) != baseline[member.account.id]:
            problems.append(f"healthy {p} account disturbed in the CLI run: {snap.state.value}")
    problems += [f"badge lie: {lie}" for s in snaps.values() for lie in badge_lies(s)]

    sim.sim.clear()
    with SimulatorServer(sim.sim, port=refused_port):
        recovered, err, code = status()
    for case in matrix:
        for p in PROVIDERS:
            account_id = faulty[(case.name, p)].account.id
            if recovered[account_id].state is not State.OK:
                failed.add((case.name, p))
                problems.append(f"{case.name} × {p}: CLI did not recover: {recovered[account_id].state.value}")
    assert code == 0, err
    total = len(matrix) * len(PROVIDERS)
    report(f"CLI fault matrix: {total - len(failed)} faults survived of {total} "
           f"(one `status --json` run with {len(members)} accounts, then a recovery run; no traceback)")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_tray_shows_the_fault_matrix(sim, report, qapp):
    """The snapshots of the matrix, fed to the tray view: icon renders, menu opens, nothing lies."""
    from traywidget.ui.tray import TrayView

    matrix = [c for c in cases(0.5) if not c.slow]
    secrets = MemorySecretStore()
    healthy, faulty, _ = build_world(sim, matrix, secrets)
    members = [*healthy.values(), *faulty.values()]
    inject(sim, matrix, faulty)
    engine = Engine([m.account for m in members], secrets, settings=EngineSettings(timeout_s=0.5))

    async def poll() -> list[Snapshot]:
        try:
            return await engine.poll_all()
        finally:
            await engine.stop()

    snaps = asyncio.run(poll())
    tray = TrayView()
    tray.set_accounts([m.account.id for m in members])
    rendered = 0
    for snap in snaps:
        tray.update_snapshot(snap)
        spec = tray.badge()  # applies the redraw
        image = tray.primary_icon().icon().pixmap(32, 32).toImage()
        assert not image.isNull()
        rendered += 1
        assert "nan" not in spec.text.lower() and "-" not in spec.text and "inf" not in spec.text.lower(), spec
    menu = tray.contextMenu()
    menu.aboutToShow.emit()
    # The account lines, and the details in each account's submenu.
    texts = [a.text() for a in menu.actions()]
    texts += [line.text() for a in menu.actions() if a.menu() is not None for line in a.menu().actions()]
    for snap in snaps:
        # Loosely coupled to the menu's wording (the UI evolves): a header naming the
        # account, and the provider's own message on some line below it.
        assert any(t.startswith(snap.label + " ") for t in texts), (snap.account_id, texts[:5])
        if snap.state not in (State.OK, State.LOW) and snap.error:
            assert any(snap.error.message[:60] in t for t in texts), (snap.account_id, snap.error.message)
    assert not any("nan" in t.lower() for t in texts), [t for t in texts if "nan" in t.lower()]
    report(f"tray: {rendered} fault snapshots rendered into the icon, menu of {len(texts)} entries opened")
