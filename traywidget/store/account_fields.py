"""The fields of an account as a person or a file gives them: each checked, or told what is wrong with it.

The account dialog, `traywidget accounts add|set`, the gateway and the config file's loader all take an
account's id, base URL, port, cadences, User-Agent and guard rails through these; a base URL that is
probably not the provider's (another provider's host, a missing /v1, a key pasted into it) is advice here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from traywidget.i18n import tr, tr_noop
from traywidget.model import RESERVE_WINDOWS, Account, InvalidValue, Rails
from traywidget.present.formatting import format_duration

ACCOUNT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_INTERVAL_S = 10.0
MAX_INTERVAL_S = 24 * 3600.0


def validate_port(port: int) -> int:
    """A TCP port for the gateway (0: any free port, for a one-off run)."""
    if type(port) is not int or not 0 <= port <= 65535:
        raise InvalidValue(tr("A port is a number from 1 to 65535 (or 0 for any free port)."))
    return port


_Default = TypeVar("_Default")


def stored_interval(value: Any, default: _Default) -> float | _Default:
    """A cadence as the config file stores it: within the bounds, or `default`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        return float(value)
    return default


def validate_interval(seconds: float | None) -> float | None:
    """A cadence override in seconds (None = the default cadence)."""
    if seconds is None:
        return None
    if not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise InvalidValue(tr("An interval is between {low} and {high}.").format(
            low=format_duration(MIN_INTERVAL_S), high=format_duration(MAX_INTERVAL_S)))
    return float(seconds)


def validate_account_id(account_id: object) -> str:
    if not isinstance(account_id, str) or not ACCOUNT_ID_PATTERN.match(account_id):
        raise InvalidValue(
            tr("An account id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")
        )
    return account_id


def is_loopback_host(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(url: object) -> str:
    """Normalise a base URL as users copy it (with /v1) or explain what is wrong.

    Plain http is accepted only for loopback hosts (the simulator, a local
    proxy): a key must never cross a network in clear text.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidValue(tr("The base URL is empty."))
    text = url.strip()
    if looks_like_key(text):
        raise InvalidValue(tr(KEY_IN_URL_MESSAGE))  # never echoed: the "URL" is a secret
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidValue(tr("Not a web address: {text}. Expected e.g. https://api.routing.run/v1").format(
            text=repr(text)))
    if parts.username or parts.password:
        raise InvalidValue(tr("The base URL must not contain a user name or password."))
    if parts.query or parts.fragment:
        raise InvalidValue(tr("The base URL must not contain '?' or '#' parts."))
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidValue(tr(
            "Plain http is refused for {host}: keys are only sent over https "
            "(http is allowed for loopback addresses only)."
        ).format(host=parts.hostname))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


KEY_IN_URL_MESSAGE = tr_noop(
    "That looks like an API key, not a base URL: it was not kept or shown. Paste the key into the API key field."
)


_PREFIXED_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:rk_[0-9A-Fa-f]{16,}|sk-or-v1-[0-9A-Za-z]{16,}|(?:sk|clsk|rw)-[0-9A-Za-z_-]{16,})"
)


_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")


_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def looks_like_key(text: str) -> bool:
    """Whether `text` holds something key-like: rk_…, sk-…, sk-or-v1-…, clsk-…, rw-…, a long random token."""
    if _PREFIXED_KEY.search(text):
        return True
    for piece in re.split(r"[\s/:?#@=&.]+", text):
        if _TOKEN.fullmatch(piece) and not _UUID.fullmatch(piece) and _mixes_letters_and_digits(piece):
            return True
    return False


def _mixes_letters_and_digits(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


@dataclass(frozen=True)
class BaseUrlAdvice:
    """What looks wrong about a base URL, and the URL that fixes it (None when there is no obvious one)."""

    message: str
    fixed_url: str | None
    # Set when the host is another known provider's: the key would go to that provider. The CLI refuses
    # such a URL unless --force, the account dialog asks first.
    other_provider: str | None = None


def base_url_advice(provider_id: str, url: str) -> BaseUrlAdvice | None:
    """A warning for a valid base URL that is probably not `provider_id`'s, or None when it looks right.

    Loopback addresses (the simulator, a local proxy) and providers without
    known hosts get no advice. Invalid URLs are validate_base_url's to explain.
    """
    from traywidget.providers import PROVIDER_IDS, display_name, get_provider

    hosts = get_provider(provider_id).known_hosts if provider_id in PROVIDER_IDS else ()
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if not hosts or parts is None or not parts.hostname or is_loopback_host(parts.hostname):
        return None
    default = urlsplit(get_provider(provider_id).default_base_url)
    host, path = parts.hostname.lower(), parts.path.rstrip("/")
    name = display_name(provider_id)
    other = next((other for other in PROVIDER_IDS if other != provider_id and host in get_provider(other).known_hosts),
                 None)
    if other is not None:
        message = tr("{host} is the API host of {other}, not of {provider}: your {provider} key would be sent "
                     "to {other}.").format(host=host, other=display_name(other), provider=name)
        return BaseUrlAdvice(message, urlunsplit(default), other)
    if host not in hosts:
        message = tr("{host} is not an API host of {provider} (expected {hosts}); your key would be sent to it.")
        message = message.format(host=host, provider=name, hosts=", ".join(hosts))
        return BaseUrlAdvice(message, urlunsplit(default))
    if path != default.path:
        fixed = urlunsplit(("https", parts.netloc, default.path, "", ""))
        message = tr("{provider} base URLs end in {path} (expected {url}).").format(
            provider=name, path=default.path, url=fixed)
        return BaseUrlAdvice(message, fixed)
    return None


def parse_account(entry: Any, known_providers: tuple[str, ...]) -> Account:
    """An Account from a config entry; InvalidValue says what is wrong with it."""
    if not isinstance(entry, dict):
        raise InvalidValue(tr("an account entry is not an object"))
    account_id = validate_account_id(entry.get("id"))
    provider = entry.get("provider")
    if provider not in known_providers:
        raise InvalidValue(tr("account {id}: unknown provider {provider}").format(
            id=repr(account_id), provider=repr(provider)))
    label = entry.get("label")
    fast = entry.get("fast_interval_s")
    full = entry.get("full_interval_s")
    return Account(
        id=account_id,
        provider=provider,
        label=label if isinstance(label, str) and label.strip() else account_id,
        base_url=validate_base_url(entry.get("base_url")),
        fast_interval_s=stored_interval(fast, None) if fast is not None else None,
        full_interval_s=stored_interval(full, None) if full is not None else None,
        user_agent=validate_user_agent(entry.get("user_agent")),
        rails=parse_rails(entry, account_id),
    )


# A User-Agent is one header line: printable ASCII, no line breaks (a header injection), bounded.
_USER_AGENT = re.compile(r"[\x20-\x7e]{1,256}")


def parse_rails(entry: dict[str, Any], account_id: str) -> Rails:
    """An account's guard rails from its config entry; InvalidValue says what is wrong."""
    reserve, window, cap = entry.get("reserve"), entry.get("reserve_window", "hour"), entry.get("daily_cap")
    return Rails(
        reserve=None if reserve is None else validate_reserve(reserve, account_id),
        reserve_window=validate_reserve_window(window, account_id),
        daily_cap=None if cap is None else validate_daily_cap(cap, account_id),
    )


def validate_reserve(value: Any, account_id: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= 10**9:
        raise InvalidValue(tr("account {id}: the reserve must be a whole number of requests from 1 up "
                              "(got {value!r})").format(id=account_id, value=value))
    return int(value)


def validate_reserve_window(value: Any, account_id: str) -> str:
    if value not in RESERVE_WINDOWS:
        raise InvalidValue(tr("account {id}: the reserve's window must be one of {windows} (got {value!r})").format(
            id=account_id, windows=", ".join(RESERVE_WINDOWS), value=value))
    return str(value)


def validate_daily_cap(value: Any, account_id: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip().lstrip("$"))
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10**9:
        raise InvalidValue(tr("account {id}: the daily cap must be an amount above 0, like 5 or 2.50 "
                              "(got {value!r})").format(id=account_id, value=value))
    return float(value)


def validate_user_agent(value: Any) -> str | None:
    """An account's User-Agent for polls (None or empty: traywidget's own), or InvalidValue."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _USER_AGENT.fullmatch(value.strip()):
        raise InvalidValue(tr("A User-Agent is one line of 1-256 printable ASCII characters."))
    return value.strip()
