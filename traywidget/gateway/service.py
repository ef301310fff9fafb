"""The tray app's gateway: one Gateway on the engine's loop thread, driven from the GUI thread.

The gateway lives where the engine lives, so what it learns reaches the
engine (`observe`, `set_streams`) on the engine's own loop, and the bytes of
many streams are copied on that thread, never on the GUI's. The GUI thread
only turns it on, off or to another port, asks it to stop its streams, and
reads its address and token.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, TypeVar

from traywidget.core.engine import Engine
from traywidget.core.loop_thread import LoopThread
from traywidget.core.secrets import SecretStore
from traywidget.gateway.remote import announce_token
from traywidget.gateway.token import ensure_token, rotate_token
from traywidget.model import Account

if TYPE_CHECKING:
    from traywidget.gateway.server import Gateway

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class GatewayState:
    """What the views show: whether it runs, where, and why not when it should but cannot."""

    running: bool = False
    port: int | None = None
    problem: str | None = None


class GatewayService:
    def __init__(self, engine: Engine, secrets: SecretStore, thread: LoopThread,
                 accounts: Iterable[Account] = ()) -> None:
        self._thread = thread
        self._secrets = secrets
        self._engine = engine
        # Made when first turned on: the gateway's server (aiohttp, ~12 MiB) is not loaded for a user
        # who never turns it on.
        self._gateway: Gateway | None = None
        self.state = GatewayState()

    # -- commands from the GUI thread ---------------------------------------------
    async def apply(self, enabled: bool, port: int, accounts: Iterable[Account]) -> GatewayState:
        """Run (or not) on `port` with these accounts; a changed port restarts it."""
        self.state = await self._thread.run(self._apply(enabled, port, list(accounts)))
        return self.state

    async def _apply(self, enabled: bool, port: int, accounts: list[Account]) -> GatewayState:
        if self._gateway is None:
            if not enabled:
                return GatewayState()
            from traywidget.core.holds import HoldBook
            from traywidget.core.spend import SpendBook
            from traywidget.gateway.server import Gateway

            self._gateway = Gateway(accounts, self._secrets, observe=self._engine.observe,
                                    on_streams=self._engine.set_streams, holds=HoldBook(), spend=SpendBook(),
                                    on_hold=self._engine.set_hold, on_usage=self._engine.set_gateway_usage)
        gateway = self._gateway
        gateway.set_accounts(accounts)
        if gateway.running and (not enabled or (port and gateway.port != port)):
            await gateway.stop()
            self._report_no_gateway(accounts)
        if not enabled:
            return GatewayState()
        if not gateway.running:
            try:
                await gateway.start(port)
            except Exception as exc:  # noqa: BLE001 - a taken port or a keyring problem: told, never fatal
                log.warning("local gateway not started: %s", exc)
                return GatewayState(problem=str(exc))
        for account in accounts:  # "0 streams" where a gateway runs, as opposed to "unknown"
            self._engine.set_streams(account.id, gateway.stream_counts().get(account.id, 0))
        return GatewayState(running=True, port=gateway.port)

    def _report_no_gateway(self, accounts: list[Account]) -> None:
        for account in accounts:
            self._engine.set_streams(account.id, None)

    async def stop(self) -> None:
        if self._gateway is not None:
            await self._thread.run(self._gateway.stop())
        self.state = GatewayState()

    async def kill_all(self, hold: bool = False, minutes: float | None = None) -> Mapping[str, int] | None:
        """Stop every stream through the gateway ({account: stopped}); None when it does not run.
        With `hold`, every account's new requests are refused first, for `minutes` (None: until resumed)."""
        if not self.state.running or self._gateway is None:
            if hold:
                await self._thread.run(asyncio.to_thread(_hold_everywhere, minutes))
            return None
        return await self._thread.run(self._kill_and_hold(self._gateway, hold, minutes))

    @staticmethod
    async def _kill_and_hold(gateway: Gateway, hold: bool, minutes: float | None) -> Mapping[str, int]:
        if hold:
            gateway.hold(None, minutes)
        return await gateway.kill_all()

    async def resume(self) -> list[str]:
        """End every hold: the next request of each account goes through."""
        if self.state.running and self._gateway is not None:
            return await self._thread.run(_call_now(self._gateway.resume))
        from traywidget.core.holds import HoldBook

        return await self._thread.run(asyncio.to_thread(lambda: HoldBook().resume()))

    async def token(self) -> str:
        """The token tools present (made on first use). Reads the keyring."""
        return await self._thread.run(asyncio.to_thread(ensure_token, self._secrets))

    async def rotate_token(self) -> str:
        """A new token; the running gateway refuses the old one from now on."""
        return await self._thread.run(self._rotate())

    async def _rotate(self) -> str:
        token = await asyncio.to_thread(rotate_token, self._secrets)
        if self.state.running and self.state.port:
            await announce_token(self.state.port, token)  # presenting it makes the gateway read it again
        return token

    # -- what the views read -------------------------------------------------------------
    def url_for(self, account_id: str) -> str | None:
        return self._gateway.url_for(account_id) if self.state.running and self._gateway is not None else None


def _hold_everywhere(minutes: float | None) -> None:
    """No gateway runs: the hold is written down for the next one (every configured account)."""
    from traywidget.core.config import ConfigStore
    from traywidget.core.holds import HoldBook
    from traywidget.model import HOLD_KILL

    HoldBook().hold([a.id for a in ConfigStore().load().accounts], HOLD_KILL, minutes)


async def _call_now(function: Callable[[], T]) -> T:
    """A plain call, run as a coroutine on the engine's loop (where the gateway lives)."""
    return function()
