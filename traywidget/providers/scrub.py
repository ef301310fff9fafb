"""Taking secrets out of what a provider says, where its words enter the program.

A provider may echo a key back ("Rate limit reached for key gsk_…"). Its words
then travel far: status lines, `status --json`, the gateway's status endpoint,
notifications (which notification servers keep), logs, snapshots.json and
history. So they are scrubbed once, where they come in — a refusal's body
before it is read, an SSE error event before it is read, every message made
safe to show (decoding.bound_message) — never at each place they go out.

Two kinds of secret are taken out:
- the ones this program knows it sent (the account's keys, the gateway token),
  in whatever form they come back: whole, cut short, with another case, URL-
  or base64-encoded. Any run of KNOWN_RUN characters of a known secret is
  masked, so a recognisable piece never survives;
- anything shaped like some provider's key (the prefixes below, long hex, a
  long token after the word "key"), whoever's it is: the first characters stay
  so a user can still tell which key was meant.

A masked span becomes one "…" — or, for a body passed on under its
Content-Length (`scrub_bytes(keep_length=True)`), one "*" for each character.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import quote

from traywidget.model import HttpResult

# A piece of a known secret this long is masked (shorter runs are too common to be telling).
KNOWN_RUN = 10
MASK = "…"
# In a body, a masked character becomes one ASCII byte: the body keeps its length in bytes.
BODY_MASK = "*"

# Known key shapes: the prefix stays, the rest goes.
_KEY_SHAPES = re.compile(
    r"(?i)(\bbearer\s+|\b(?:sk-or-v1-|sk-ant-(?:api\d\d-)?|sk-proj-|sk-|rk_|rw-|clsk-|gsk_|xai-|twg-))"
    r"[A-Za-z0-9_\-\.]{6,}(?<!\.)"  # a sentence's full stop after the key is no part of it
)
# A long run of hex (32+) is a key or a digest of one; either way not for display.
_LONG_HEX = re.compile(r"(?i)\b([0-9a-f]{4})[0-9a-f]{28,}\b")
# A long base64-ish token right after the word "key" ("key: AbC…", "api_key=…", "key AbC…").
_AFTER_KEY = re.compile(r"(?i)((?<![A-Za-z0-9])key\b[\"']?\s*[:=]?\s*[\"']?)"
                        r"([A-Za-z0-9+/_\-]{4})[A-Za-z0-9+/_\-=]{20,}")


def _forms(secret: str) -> set[str]:
    """The ways a secret may come back besides itself."""
    forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")}
    forms.add(base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="))
    return {form for form in forms if len(form) >= KNOWN_RUN}


def _known_spans(text: str, known: Iterable[str]) -> list[tuple[int, int]]:
    """Where in `text` a run of KNOWN_RUN or more characters of a known secret (any form) stands."""
    folded = text.lower()
    spans: list[tuple[int, int]] = []
    for secret in known:
        if not secret:
            continue
        for form in _forms(secret):
            form = form.lower()
            pieces = {form[i:i + KNOWN_RUN] for i in range(len(form) - KNOWN_RUN + 1)}
            i = 0
            while i <= len(folded) - KNOWN_RUN:
                if folded[i:i + KNOWN_RUN] in pieces:
                    end = i + KNOWN_RUN
                    # Grow the span while it still is a piece of the form.
                    while end < len(folded) and folded[i:end + 1] in form:
                        end += 1
                    spans.append((i, end))
                    i = end
                else:
                    i += 1
    return spans


def _masked(text: str, known: Iterable[str], keep_length: bool) -> str:
    def mask(length: int) -> str:
        return BODY_MASK * length if keep_length else MASK

    # Key shapes first: a known key of a known shape then keeps its telling prefix ("gsk_…").
    for shape in (_KEY_SHAPES, _LONG_HEX):
        text = shape.sub(lambda m: m.group(1) + mask(len(m.group(0)) - len(m.group(1))), text)
    text = _AFTER_KEY.sub(lambda m: m.group(1) + m.group(2) + mask(len(m.group(0)) - len(m.group(1)) - 4), text)
    spans = sorted(_known_spans(text, known))
    if not spans:
        return text
    pieces, at = [], 0
    for start, end in spans:
        start = max(start, at)  # overlapping a span already masked
        if end <= start:
            continue
        pieces += [text[at:start], mask(end - start)]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """`text` with the known secrets (any form, any piece of KNOWN_RUN+ characters) and anything
    shaped like a key masked by "…"."""
    return _masked(text, tuple(known), keep_length=False)


def scrub_bytes(body: bytes, known: Iterable[str] = (), *, keep_length: bool = False) -> bytes:
    """A body with the same masking: what was JSON stays JSON (a mask holds no quote or backslash),
    undecodable bytes pass as they were. With `keep_length` each masked character becomes one "*",
    so the body keeps its length in bytes (one passed on under its Content-Length)."""
    text = body.decode("utf-8", errors="surrogateescape")
    return _masked(text, tuple(known), keep_length).encode("utf-8", errors="surrogateescape")


def scrub_refusal(result: HttpResult, known: Iterable[str]) -> HttpResult:
    """A refusal with its body scrubbed, before a provider reads its words (the engine's polls)."""
    return replace(result, body=scrub_bytes(result.body, known))
