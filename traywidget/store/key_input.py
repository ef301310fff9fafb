"""The one check of a key a person typed or pasted, before it is saved or tested.

Keys are copied from dashboards, shell snippets and chat messages: `Bearer sk-…`, a trailing
line break, a second line, a key split by a space, the dashboard's URL instead of the key.
A key with a control character breaks every request (HTTP headers cannot carry \\r, \\n or
NUL; aiohttp then answers a bare 500), and one with a space or a URL is never a key. So: the
text around it is trimmed, a leading `Bearer ` is dropped, and anything else that cannot be
a key is refused with what to do — never echoing the text, which may well be a secret.
Used by `traywidget keys set`, the account editor, and the key store itself (the last line).
"""

from __future__ import annotations

import re
import unicodedata

from traywidget.i18n import tr, tr_noop
from traywidget.model import InvalidValue

_BEARER = re.compile(r"\Abearer(?:\s+|\Z)", re.IGNORECASE)
_URL = re.compile(r"\A(?:[a-z][a-z0-9+.-]*://|www\.)", re.IGNORECASE)

EMPTY_KEY = tr_noop("The key is empty: nothing was saved.")
KEY_WITH_CONTROL = tr_noop(
    "The key contains a control character (a line break, a tab, NUL or an invisible formatting mark): "
    "nothing was saved. Copy the key again from the provider's dashboard."
)
KEY_WITH_SPACE = tr_noop(
    "The key contains a space: nothing was saved. A key is one word; copy it again from the provider's dashboard."
)
KEY_IS_URL = tr_noop(
    "That is a web address, not a key: nothing was saved. Paste the key from the provider's dashboard."
)
KEY_NOT_ASCII = tr_noop(
    "The key contains a character that is not plain ASCII (a typographic quote or dash, say): nothing was "
    "saved. Copy the key again from the provider's dashboard."
)


def check_key(text: str) -> str:
    """The key in `text` (trimmed, without a leading `Bearer `); InvalidValue says what is wrong."""
    key = text.strip() if isinstance(text, str) else ""
    key = _BEARER.sub("", key, count=1).strip()
    if not key:
        raise InvalidValue(tr(EMPTY_KEY))
    if _URL.match(key) or "://" in key:
        raise InvalidValue(tr(KEY_IS_URL))
    for char in key:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):  # controls, bidi and zero-width marks
            raise InvalidValue(tr(KEY_WITH_CONTROL))
    if any(char.isspace() for char in key):
        raise InvalidValue(tr(KEY_WITH_SPACE))
    if not key.isascii():
        raise InvalidValue(tr(KEY_NOT_ASCII))
    return key
