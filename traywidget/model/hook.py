"""A hook the user configured: a command to run, or a URL to POST to, with each alert as JSON.

Kept in config.json under settings.hooks. A URL hook's address is there only as
its origin ("https://hooks.slack.com/…"): a webhook URL is itself a credential
(Slack's and Discord's hold their secret in the path), so the whole URL, and the
optional bearer credential, are in the keyring (core/hooks.py names them).
"""

from __future__ import annotations

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

    def to_json(self) -> dict[str, Any]:
        if self.url is not None:
            return {"id": self.id, "url": self.url, "bearer": self.bearer}
        return {"id": self.id, "command": list(self.command)}

    @classmethod
    def from_json(cls, data: Any) -> Hook | None:
        """The hook in `data`, or None when it is not one this version understands."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            return None
        command, url = data.get("command"), data.get("url")
        if isinstance(url, str) and url and command is None:
            return cls(data["id"], url=url, bearer=data.get("bearer") is True)
        if isinstance(command, list) and command and all(isinstance(w, str) for w in command) and url is None:
            return cls(data["id"], command=tuple(command))
        return None

    @property
    def target(self) -> str:
        """What the user reads in a list: the URL, or the command as they would type it."""
        if self.url is not None:
            return self.url
        import shlex

        return shlex.join(self.command)
