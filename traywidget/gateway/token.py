"""The gateway token: the one secret the user's tools hold instead of provider keys.

Random (256 bits), kept in the OS keyring beside the keys (named
`gateway:token` in traywidget's one keyring entry), created on first use and
rotatable. Only `_load` and `_save` know where it lives.
"""

from __future__ import annotations

import hmac
import secrets

from traywidget.store.secrets import GATEWAY_TOKEN, SecretStore

TOKEN_PREFIX = "twg-"


def _load(store: SecretStore) -> str | None:
    return store.get_secret(GATEWAY_TOKEN)


def _save(store: SecretStore, token: str) -> None:
    store.set_secret(GATEWAY_TOKEN, token)


def new_token() -> str:
    """A fresh token: a recognisable prefix (secret scanners, the user's eye) and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def read_token(store: SecretStore) -> str | None:
    """The saved token, or None when none was made yet. Blocking (a keyring read)."""
    return _load(store) or None


def ensure_token(store: SecretStore) -> str:
    """The saved token, made and saved on first use. Blocking (keyring)."""
    token = read_token(store)
    if token is None:
        token = new_token()
        _save(store, token)
    return token


def rotate_token(store: SecretStore) -> str:
    """Replace the token; tools holding the old one are refused from now on. Blocking (keyring)."""
    token = new_token()
    _save(store, token)
    return token


def token_matches(presented: str | None, token: str | None) -> bool:
    """Constant-time comparison: the time taken says nothing about how much matched."""
    if not presented or not token:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), token.encode("utf-8"))
