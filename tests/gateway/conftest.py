"""Fixtures: a Gateway on the test's loop over real sockets, in front of the
simulator (its own thread) or the small test upstream (tests/gateway/upstream.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from tests.gateway.upstream import Upstream
from traywidget.gateway.server import Gateway
from traywidget.model import Account, TrafficObservation
from traywidget.store.secrets import MemorySecretStore


@dataclass
class Running:
    gateway: Gateway
    store: MemorySecretStore
    observations: list[TrafficObservation] = field(default_factory=list)
    counts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def token(self) -> str:
        assert self.gateway.token
        return self.gateway.token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, account_id: str, path: str = "") -> str:
        return self.gateway.url_for(account_id) + path

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"


@pytest.fixture
async def start_gateway():
    """start_gateway(accounts, {account_id: key}) -> Running; stopped after the test."""
    started: list[Running] = []

    async def start(accounts: list[Account], keys: dict[str, str]) -> Running:
        store = MemorySecretStore()
        for account_id, key in keys.items():
            store.set(account_id, key)
        observations: list[TrafficObservation] = []
        counts: list[tuple[str, int]] = []
        gateway = Gateway(accounts, store, observe=observations.append,
                          on_streams=lambda account_id, n: counts.append((account_id, n)))
        running = Running(gateway, store, observations, counts)
        await gateway.start(0)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.gateway.stop()


@pytest.fixture
async def upstream():
    server = await Upstream().start()
    yield server
    await server.stop()


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as http:
        yield http


def sim_accounts(server) -> tuple[list[Account], dict[str, str]]:
    """One fresh account per provider on the simulator: ids rr, or, rw."""
    sim = server.sim
    keys = {"rr": sim.add_routing_key("Premium"), "or": sim.add_openrouter_key(), "rw": sim.add_routeway_key()}
    accounts = [Account("rr", "routing.run", "Main", server.url("routing.run")),
                Account("or", "openrouter", "OR", server.url("openrouter")),
                Account("rw", "routeway", "RW", server.url("routeway"))]
    return accounts, keys


def upstream_account(upstream: Upstream, account_id: str = "up", provider: str = "openai-compatible") -> Account:
    return Account(account_id, provider, account_id, upstream.base(account_id))


async def eventually(predicate, timeout: float = 5.0, what: str = "condition"):
    """Wait (on the loop, without blocking it) until predicate() is truthy; returns its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def on_sim(start_gateway, sim):
    """A gateway in front of the simulator's three providers and an openai-compatible account ("oc")."""
    accounts, keys = sim_accounts(sim)
    keys["oc"] = sim.sim.add_openai_compatible_key()
    accounts.append(Account("oc", "openai-compatible", "OC", sim.url("openai-compatible")))
    running = await start_gateway(accounts, keys)
    running.keys = keys
    return running
