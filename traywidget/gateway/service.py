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
from typing import TYPE_CHECKING, Iterable, Mapping

from traywidget.core.engine import Engine
from traywidget.core.loop_thread import LoopThread
from traywidget.core.secrets import SecretStore
from traywidget.gateway.remote import announce_token
from traywidget.gateway.token import ensure_token, rotate_token
from traywidget.model import Account

if TYPE_CHECKING:
    from traywidget.gateway.server import Gateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayState:
    """What the views show: whether it runs, where, and why not when it should but cannot."""

    running: bool = False
    port: int | None = None
    problem: str | None = None


class GatewayService:
    def __init__(self, engine: Engine, secrets: SecretStore, thread: LoopThread,
                 accounts: Iterable[Account] = (), *, hints: Mapping[str, str] | None = None) -> None:
        self._thread = thread
        # The demo's own words for the 404 of an unknown account and the 401 of a wrong token
        # (Gateway's accounts_hint and token_help).
        self._hints = dict(hints or {})
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
            from traywidget.gateway.server import Gateway

            self._gateway = Gateway(accounts, self._secrets, observe=self._engine.observe,
                                    on_streams=self._engine.set_streams, **self._hints)
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

    async def kill_all(self) -> Mapping[str, int] | None:
        """Stop every stream the gateway holds ({account: stopped}); None when it does not run."""
        if not self.state.running:
            return None
        return await self._thread.run(self._gateway.kill_all())

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
