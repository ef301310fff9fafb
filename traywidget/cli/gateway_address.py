"""Which port the commands try for a running gateway.

`traywidget gateway --port N` (or port 0: any free port) listens where the config does not say;
every running gateway leaves its port in the cache directory (gateway/addresses.py), so that
`gateway env`, `status`, `kill` and `gateway token --rotate` reach it there. With none
announced, the config's port holds.
"""

from __future__ import annotations

from traywidget.core.config import ConfigStore
from traywidget.gateway import addresses


def gateway_port() -> int:
    """The port of a running gateway if one announced itself, else the config's."""
    announced = addresses.announced()
    return announced[0] if announced else ConfigStore().load().settings.gateway_port


def gateway_ports() -> list[int]:
    """Every running gateway's port, and the config's (a gateway may run there unannounced)."""
    ports = addresses.announced()
    configured = ConfigStore().load().settings.gateway_port
    return ports + ([configured] if configured and configured not in ports else [])
