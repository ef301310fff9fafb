"""check_key: what a pasted key may look like before it is saved or tested."""

from __future__ import annotations

import pytest

from traywidget.model import InvalidValue, SecretStoreError
from traywidget.store.key_input import (
    EMPTY_KEY,
    KEY_IS_URL,
    KEY_NOT_ASCII,
    KEY_WITH_CONTROL,
    KEY_WITH_SPACE,
    check_key,
)
from traywidget.store.secrets import MemorySecretStore

KEY = "sk-or-v1-" + "ab12" * 16


@pytest.mark.parametrize("typed", [KEY, f"  {KEY}\n", f"{KEY}\r\n", f"Bearer {KEY}", f"bearer  {KEY}",
                                   f"\tBEARER {KEY} \n"])
def test_the_key_is_kept_without_the_text_around_it(typed):
    assert check_key(typed) == KEY


@pytest.mark.parametrize("typed,message", [
    ("", EMPTY_KEY), ("  \n", EMPTY_KEY), ("Bearer ", EMPTY_KEY), ("Bearer   \t", EMPTY_KEY),
    (f"{KEY[:20]}\r{KEY[20:]}", KEY_WITH_CONTROL), (f"{KEY[:20]}\n{KEY[20:]}", KEY_WITH_CONTROL),
    (f"{KEY}\x00", KEY_WITH_CONTROL), (f"{KEY[:20]}\x1b[31m{KEY[20:]}", KEY_WITH_CONTROL),
    (f"{KEY[:20]}\t{KEY[20:]}", KEY_WITH_CONTROL), (f"\u202e{KEY}", KEY_WITH_CONTROL),
    (f"{KEY}\u200b", KEY_WITH_CONTROL), (f"{KEY[:20]}\u2028{KEY[20:]}", KEY_WITH_CONTROL),
    (f"{KEY[:20]} {KEY[20:]}", KEY_WITH_SPACE), (f"Bearer {KEY[:20]} {KEY[20:]}", KEY_WITH_SPACE),
    (f"{KEY[:20]}\u00a0{KEY[20:]}", KEY_WITH_SPACE), ("Bearer  Bearer x", KEY_WITH_SPACE),
    ("https://openrouter.ai/settings/keys", KEY_IS_URL), (f"https://api.routing.run/v1?key={KEY}", KEY_IS_URL),
    ("www.routing.run", KEY_IS_URL), (f"Bearer http://{KEY}", KEY_IS_URL),
    (f"{KEY[:20]}\u2014{KEY[20:]}", KEY_NOT_ASCII), (f"\u201c{KEY}\u201d", KEY_NOT_ASCII),
])
def test_what_cannot_be_a_key_is_refused_without_echoing_it(typed, message):
    with pytest.raises(InvalidValue) as refused:
        check_key(typed)
    assert str(refused.value) == message
    assert KEY not in str(refused.value)


def test_the_store_refuses_them_too_and_keeps_what_it_had():
    store = MemorySecretStore({"main:api": KEY})
    for typed in (f"{KEY}\x00", "https://example.com", f"{KEY[:9]} {KEY[9:]}"):
        with pytest.raises(InvalidValue):
            store.set("main", typed)
    with pytest.raises(SecretStoreError, match="empty"):
        store.set("main", " ")
    store.set("main", f"Bearer {KEY[::-1]}", management=True)
    assert store.read_all() == {"main:api": KEY, "main:management": KEY[::-1]}
