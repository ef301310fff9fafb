"""A hook the user configured: a command to run, or a URL to POST to, with each alert as JSON.

Kept in config.json under settings.hooks. A URL hook's address is there only as
its origin ("https://hooks.slack.com/…"): a webhook URL is itself a credential
(Slack's and Discord's hold their secret in the path), so the whole URL, and the
optional bearer credential, are in the keyring (desktop/hooks.py names them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hook:
    # A short stable name: the keyring entry of its bearer credential is named after it.
    id: str
    # Exactly one of the two: the command's words (run without a shell), or where it POSTs to, shown as
    # "https://host/…" (the full URL is in the keyring).
    command: tuple[str, ...] = ()
    url: str | None = None
    bearer: bool = False
    # An entry this version cannot read (a newer version's kind of hook, a hand edit gone wrong): its JSON,
    # written back as it was and never run.
    kept: str | None = None

    @property
    def runnable(self) -> bool:
        return self.kept is None

    def to_json(self) -> dict[str, Any]:
        if self.kept is not None:
            return dict(json.loads(self.kept))
        if self.url is not None:
            return {"id": self.id, "url": self.url, "bearer": self.bearer}
        return {"id": self.id, "command": list(self.command)}

    @classmethod
    def from_json(cls, data: Any) -> Hook | None:
        """The hook in `data`; one this version cannot read is kept as it was (never run); None when
        `data` is not even an object."""
        if not isinstance(data, dict):
            return None
        hook_id, command, url = data.get("id"), data.get("command"), data.get("url")
        if isinstance(hook_id, str) and hook_id:
            if isinstance(url, str) and url and command is None:
                return cls(hook_id, url=url, bearer=data.get("bearer") is True)
            if isinstance(command, list) and command and all(isinstance(w, str) for w in command) and url is None:
                return cls(hook_id, command=tuple(command))
        return cls(hook_id if isinstance(hook_id, str) else "", kept=json.dumps(data, ensure_ascii=False))

    @property
    def target(self) -> str:
        """What the user reads in a list: the URL, the command as they would type it, or a kept entry's JSON."""
        if self.kept is not None:
            return self.kept
        if self.url is not None:
            return self.url
        import shlex

        return shlex.join(self.command)
