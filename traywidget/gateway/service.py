"""The tray app's gateway: one Gateway on the engine's loop thread, driven from the GUI thread.

The gateway lives where the engine lives, so what it learns reaches the
engine (`observe`, `set_streams`) on the engine's own loop, and the bytes of
many streams are copied on that thread, never on the GUI's. Its coroutines
run on that loop: the GUI asks for them through its bridge (ui/bridge.py) to
turn it on, off or to another port, stop its streams, or read its token; it
reads `state` and `url_for` directly (an immutable value, replaced whole).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from traywidget.engine.engine import Engine
from traywidget.engine.status import engine_status_document
from traywidget.gateway import addresses
from traywidget.gateway.token import ensure_token, rotate_token
from traywidget.model import HOLD_KILL, Account
from traywidget.store.secrets import SecretStore

if TYPE_CHECKING:
    from traywidget.gateway.server import Gateway
    from traywidget.store.holds import HoldBook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayState:
    """What the views show: whether it runs, where, and why not when it should but cannot."""

    running: bool = False
    port: int | None = None
    problem: str | None = None
    # What the user must know about a gateway that did start (its [::1] half taken by another program):
    # told once, when it starts.
    notices: tuple[str, ...] = ()


class GatewayHints(TypedDict, total=False):
    """The demo's own words for the 404 of an unknown account and the 401 of a wrong token."""

    accounts_hint: str
    token_help: str


class GatewayService:
    def __init__(self, engine: Engine, secrets: SecretStore, *, hints: GatewayHints | None = None,
                 private_dir: Path | None = None) -> None:
        # The demo's own words for the 404 of an unknown account and the 401 of a wrong token
        # (Gateway's accounts_hint and token_help).
        self._hints: GatewayHints = hints.copy() if hints is not None else {}
        # The demo keeps its holds and its traffic in a folder of its own and is not announced among the
        # user's gateways (`--demo` commands find it by its own address file): it never touches the user's.
        self._private_dir = private_dir
        self._accounts: list[Account] = []
        self._secrets = secrets
        self._engine = engine
        # Made when first turned on: the gateway's server (aiohttp, ~12 MiB) is not loaded for a user
        # who never turns it on.
        self._gateway: Gateway | None = None
        self.state = GatewayState()

    # -- coroutines for the engine's loop ------------------------------------------
    async def apply(self, enabled: bool, port: int, accounts: Iterable[Account],
                    metrics: bool = False) -> GatewayState:
        """Run (or not) on `port` with these accounts, serving /metrics or not; a changed port restarts it."""
        self.state = await self._apply(enabled, port, list(accounts), metrics)
        return self.state

    async def _apply(self, enabled: bool, port: int, accounts: list[Account], metrics: bool = False) -> GatewayState:
        self._accounts = accounts
        if self._gateway is None:
            if not enabled:
                return GatewayState()
            from traywidget.gateway.server import Gateway
            from traywidget.store.spend import USAGE_FILE, SpendBook

            spend = SpendBook(self._private_dir / USAGE_FILE if self._private_dir is not None else None)
            self._gateway = Gateway(accounts, self._secrets, observe=self._engine.observe,
                                    on_streams=self._engine.set_streams, holds=self._holds(), spend=spend,
                                    on_hold=self._engine.set_hold, on_usage=self._engine.set_gateway_usage,
                                    **self._hints)
            self._engine.subscribe(self._gateway.polled)  # both on the engine's loop
        gateway = self._gateway
        gateway.set_accounts(accounts)
        engine = self._engine
        gateway.metrics_document = (lambda: engine_status_document(engine)) if metrics else None
        if gateway.running and (not enabled or (port and gateway.port != port)):
            await gateway.stop()
            self._withdraw()
            self._report_no_gateway(accounts)
        if not enabled:
            return GatewayState()
        notices: tuple[str, ...] = ()
        if not gateway.running:
            try:
                await gateway.start(port)
            except Exception as exc:
                log.warning("local gateway not started: %s", exc)
                return GatewayState(problem=str(exc))
            if gateway.port is not None and self._private_dir is None:
                addresses.announce(gateway.port, headless=False)  # a rotation from the command line reaches it there
            notices = tuple(gateway.notices)
            for notice in notices:
                log.warning("local gateway: %s", notice)
        for account in accounts:  # "0 streams" where a gateway runs, as opposed to "unknown"
            self._engine.set_streams(account.id, gateway.stream_counts().get(account.id, 0))
        return GatewayState(running=True, port=gateway.port, notices=notices)

    def _report_no_gateway(self, accounts: list[Account]) -> None:
        for account in accounts:
            self._engine.set_streams(account.id, None)

    async def stop(self) -> None:
        if self._gateway is not None:
            await self._gateway.stop()
            self._withdraw()
        self.state = GatewayState()

    def _withdraw(self) -> None:
        if self._private_dir is None:
            addresses.withdraw()

    def _holds(self) -> HoldBook:
        from traywidget.store.holds import HOLDS_FILE, HoldBook

        return HoldBook(self._private_dir / HOLDS_FILE if self._private_dir is not None else None)

    async def kill_all(self, hold: bool = False, minutes: float | None = None) -> Mapping[str, int] | None:
        """Stop every stream through the gateway ({account: stopped}); None when it does not run.
        With `hold`, every account's new requests are refused first, for `minutes` (None: until resumed)."""
        if not self.state.running or self._gateway is None:
            if hold:  # written down for the next gateway
                ids = [a.id for a in self._accounts]
                await asyncio.to_thread(lambda: self._holds().hold(ids, HOLD_KILL, minutes))
            return None
        if hold:
            self._gateway.hold(None, minutes)
        return await self._gateway.kill_all()

    async def resume(self) -> list[str]:
        """End every hold: the next request of each account goes through."""
        if self.state.running and self._gateway is not None:
            return self._gateway.resume()
        return await asyncio.to_thread(lambda: self._holds().resume())

    async def token(self) -> str:
        """The token tools present (made on first use). Reads the keyring (in a worker thread)."""
        return await asyncio.to_thread(ensure_token, self._secrets)

    async def rotate_token(self) -> str:
        """A new token; the running gateway refuses the old one from now on."""
        token = await asyncio.to_thread(rotate_token, self._secrets)
        if self._gateway is not None and self._gateway.running:
            await self._gateway.reload_token()  # this process's gateway: no need to go through its port
        return token

    # -- what the views read -------------------------------------------------------------
    def url_for(self, account_id: str) -> str | None:
        return self._gateway.url_for(account_id) if self.state.running and self._gateway is not None else None


