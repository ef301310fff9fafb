"""scrub: the one function provider text passes through where it enters the program."""

from __future__ import annotations

import base64

import pytest

from traywidget.model import HttpResult
from traywidget.providers.decoding import bound_message
from traywidget.providers.scrub import scrub, scrub_bytes, scrub_refusal

KEY = "gsk_" + "Q7w8E9r0" * 6


@pytest.mark.parametrize(("text", "masked"), [
    ("Rate limit reached for key gsk_abcdefghijkl", "Rate limit reached for key gsk_…"),
    ("Refused for key gsk_abc.defghijkl. Try again.", "Refused for key gsk_…. Try again."),
    ("key xai-AbCdEfGhIjKl0123 refused", "key xai-… refused"),
    ("sk-ant-api03-abcdefgh123 is invalid", "sk-ant-api03-… is invalid"),
    ("digest " + "0123456789abcdef" * 4, "digest 0123…"),
    ("api_key=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "api_key=ABCD…"),
    ("Authorization: Bearer twg-abcdefgh_ijk", "Authorization: Bearer …"),
    ("Invalid key provided for model gpt-4o-mini-2024-07-18", "Invalid key provided for model gpt-4o-mini-2024-07-18"),
    ("request id 1234abcd", "request id 1234abcd"),
])
def test_key_shapes_are_masked_whoever_owns_them(text, masked):
    assert scrub(text) == masked


@pytest.mark.parametrize(("form", "masked"), [
    (KEY, "gsk_…"), (KEY.upper(), "GSK_…"), (KEY[5:27], "…"), (KEY[-12:], "…"),
    (base64.b64encode(KEY.encode()).decode().rstrip("="), "…"),
])
def test_a_known_key_is_masked_in_any_form_and_piece(form, masked):
    assert scrub(f"for key <{form}> slow down", [KEY]) == f"for key <{masked}> slow down"


def test_a_short_common_run_is_not_taken_for_the_key():
    assert scrub("Q7w8E9r0 is a model name", [KEY]) == "Q7w8E9r0 is a model name"


def test_bytes_keep_their_length_and_stay_json():
    body = b'{"error": {"message": "Rate limit reached for key ' + KEY.encode() + b'"}}'
    scrubbed = scrub_bytes(body, [KEY], keep_length=True)
    assert len(scrubbed) == len(body)
    assert scrubbed == b'{"error": {"message": "Rate limit reached for key gsk_' + b"*" * (len(KEY) - 4) + b'"}}'
    assert scrub_bytes(b"\xff\xfe " + KEY.encode(), [KEY]) == "\udcff\udcfe gsk_…".encode("utf-8", "surrogateescape")


def test_refusal_and_bound_message():
    result = scrub_refusal(HttpResult(429, {"X": "1"}, KEY.encode()), [KEY, ""])
    assert result.body == "gsk_…".encode() and result.status == 429 and result.headers == {"X": "1"}
    assert bound_message("slow down, xai-ZZZZZZZZZZZZ") == "slow down, xai-…"
