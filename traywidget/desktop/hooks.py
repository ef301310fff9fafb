"""Alert hooks: every alert that passed the gate (present/alerts.py) goes to the user's commands and URLs.

    runner = HookRunner(loop, secrets)          # on a running asyncio loop (the engine's thread in the app)
    runner.set_hooks(config.settings.hooks)
    runner.send(event)                          # from any thread; returns at once

Nothing here ever delays the caller: `send` only hands the event to the runner's
loop, where each delivery is a task of its own, at most MAX_RUNNING at once; events
beyond MAX_WAITING wait nowhere (dropped, said once in the log). A command runs with
the event as JSON on its stdin, without a shell, for at most COMMAND_TIMEOUT_S; a URL
gets the JSON POSTed, with URL_TIMEOUT_S per try and URL_TRIES tries (https, or plain
http to a loopback address only; the bearer credential, if any, read from the keyring
at delivery). A hook that fails is logged once, and once more when it works again.

A URL hook's whole URL and its bearer credential live in the keyring (a Slack or Discord
webhook URL is a secret in itself); config.json shows only where it posts ("https://host/…").
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets as random_tokens
import shlex
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from traywidget.i18n import tr
from traywidget.model import InvalidValue, SecretStoreError
from traywidget.model.hook import Hook
from traywidget.store.account_fields import is_loopback_host, looks_like_key
from traywidget.store.secrets import SecretStore

if TYPE_CHECKING:  # httpx loads when a URL hook is first used
    import httpx

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0
URL_TIMEOUT_S = 5.0
URL_TRIES = 3
RETRY_PAUSE_S = 1.0
MAX_RUNNING = 4
MAX_WAITING = 64
# How long a process that is ending (a stopping gateway, `traywidget kill` after it printed its answer) waits
# for deliveries under way: a slow hook never keeps it from ending.
ENDING_WAIT_S = 2.0


def hook_secret_name(hook_id: str) -> str:
    """The keyring name of a URL hook's bearer credential."""
    return f"hook:{hook_id}:bearer"


def hook_url_name(hook_id: str) -> str:
    """The keyring name of a URL hook's whole URL."""
    return f"hook:{hook_id}:url"


def hook_secrets(hook: Hook) -> list[str]:
    """Every keyring name a hook may hold (deleted with it)."""
    return [hook_url_name(hook.id), hook_secret_name(hook.id)] if hook.url is not None else []


def new_hook_id() -> str:
    return "h" + random_tokens.token_hex(4)


def command_hook(command: str) -> Hook:
    """A hook that runs `command` (split as a shell would, but run without one)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise InvalidValue(tr("The command cannot be read: {error}.").format(error=exc)) from None
    if not words:
        raise InvalidValue(tr("The command is empty."))
    if any(looks_like_key(word) for word in words):
        raise InvalidValue(tr("The command holds something that looks like a key or token: it was not kept. "
                              "A hook receives no key; keep credentials out of its command line."))
    return Hook(new_hook_id(), command=tuple(words))


def url_hook(url: str, bearer: bool = False) -> tuple[Hook, str]:
    """(the hook, the whole URL to keep in the keyring) for a hook that POSTs to `url`: https, or
    http to a loopback address (the JSON must not cross a network in clear text)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(tr("Not a web address: {text}. Expected e.g. https://hooks.slack.com/services/…").format(
            text=repr(text)))
    if parts.username or parts.password:
        raise InvalidValue(tr("The URL must not contain a user name or password: use --bearer-from-stdin."))
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidValue(tr("Plain http is refused for {host}: alerts are sent over https only "
                              "(http is allowed for loopback addresses only).").format(host=parts.hostname))
    shown = f"{parts.scheme}://{parts.netloc}" + ("/…" if parts.path.strip("/") or parts.query else "")
    return Hook(new_hook_id(), url=shown, bearer=bearer), text


@dataclass(frozen=True)
class Delivery:
    """How one delivery went: ok, or a short reason (never the hook's credential)."""

    hook: Hook
    ok: bool
    problem: str | None = None


class HookRunner:
    def __init__(self, loop: asyncio.AbstractEventLoop, secrets: SecretStore, hooks: Iterable[Hook] = (),
                 may_send: Callable[[], bool] = lambda: True) -> None:
        self._loop = loop
        self._secrets = secrets
        self._hooks: tuple[Hook, ...] = ()
        self.set_hooks(hooks)
        # Whether this process is the one that decides (the tray defers to a running headless gateway).
        self._may_send = may_send
        self._running = asyncio.Semaphore(MAX_RUNNING)
        self._tasks: set[asyncio.Task] = set()
        self._failing: set[str] = set()
        self._dropped_said = False
        self._client: httpx.AsyncClient | None = None

    @property
    def hooks(self) -> tuple[Hook, ...]:
        return self._hooks

    def set_hooks(self, hooks: Iterable[Hook]) -> None:
        self._hooks = tuple(hook for hook in hooks if hook.runnable)

    def send(self, event: dict[str, Any]) -> None:
        """Deliver `event` to every hook, later, on the runner's loop. Call from any thread."""
        if not self._hooks:
            return
        if self._loop.is_closed():
            return
        try:
            if _on_loop(self._loop):
                self._start(event)
            else:
                self._loop.call_soon_threadsafe(self._start, event)
        except RuntimeError:  # the loop closed between the check and the call: the app is quitting
            pass

    def send_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.send(event)

    def _start(self, event: dict[str, Any]) -> None:
        try:
            if not self._may_send():
                return
        except Exception:
            log.exception("cannot tell which traywidget sends the hooks; sending from here")
        for hook in self._hooks:
            if len(self._tasks) >= MAX_WAITING:
                if not self._dropped_said:
                    self._dropped_said = True
                    log.warning("Alert hooks are falling behind: %d deliveries waiting; later events are dropped "
                                "until they catch up", len(self._tasks))
                return
            task = self._loop.create_task(self._guarded(hook, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guarded(self, hook: Hook, event: dict[str, Any]) -> None:
        async with self._running:
            result = await self.deliver(hook, event)
        if not self._tasks - {asyncio.current_task()}:
            self._dropped_said = False
        self._report(result)

    async def drain(self) -> None:
        """Wait until every delivery under way has ended (tests; quitting)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver(self, hook: Hook, event: dict[str, Any]) -> Delivery:
        """Deliver one event to one hook now; how it went."""
        body = json.dumps(event, ensure_ascii=False).encode()
        try:
            if hook.url is not None:
                return await self._post(hook, body)
            return await self._run(hook, body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return Delivery(hook, False, type(exc).__name__)

    async def _run(self, hook: Hook, body: bytes) -> Delivery:
        # Started and waited for in threads: starting a process blocks until it has exec'd (tens of ms on a
        # busy machine), which must not stall the loop the engine runs on.
        try:
            process = await asyncio.to_thread(
                subprocess.Popen, list(hook.command), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            return Delivery(hook, False, tr("cannot run it: {reason}").format(reason=exc.strerror or exc))
        ended = asyncio.ensure_future(asyncio.to_thread(_feed_and_wait, process, body))
        try:
            code = await asyncio.wait_for(asyncio.shield(ended), COMMAND_TIMEOUT_S)
        except TimeoutError:
            _kill(process)
            await ended
            return Delivery(hook, False, tr("still running after {seconds:g} s: stopped").format(
                seconds=COMMAND_TIMEOUT_S))
        except BaseException:
            _kill(process)  # the app is quitting: the thread waiting for it ends with it
            raise
        if code != 0:
            return Delivery(hook, False, tr("exit status {code}").format(code=code))
        return Delivery(hook, True)

    async def _post(self, hook: Hook, body: bytes) -> Delivery:
        import httpx

        headers = {"Content-Type": "application/json"}
        try:
            stored = await asyncio.to_thread(self._secrets.read_all)
        except SecretStoreError as exc:
            return Delivery(hook, False, str(exc))
        url = stored.get(hook_url_name(hook.id))
        if not url:
            return Delivery(hook, False, tr("its URL is not in the keyring"))
        if hook.bearer:
            credential = stored.get(hook_secret_name(hook.id))
            if not credential:
                return Delivery(hook, False, tr("its bearer credential is not in the keyring"))
            headers["Authorization"] = f"Bearer {credential}"
        problem = ""
        client = await self._http()
        for attempt in range(URL_TRIES):
            if attempt:
                await asyncio.sleep(RETRY_PAUSE_S * attempt)
            try:
                reply = await client.post(url, content=body, headers=headers, timeout=URL_TIMEOUT_S)
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if reply.is_success:
                return Delivery(hook, True)
            problem = tr("HTTP {status}").format(status=reply.status_code)
            if reply.status_code != 429 and reply.status_code < 500:
                break  # the receiver said no: asking again says the same
        return Delivery(hook, False, problem)

    async def _http(self) -> httpx.AsyncClient:
        """One client for every URL hook, made in a thread the first time (loading the CA bundle takes tens
        of ms, which must not stall the loop). The system's proxy settings apply, never to loopback."""
        if self._client is None:
            import httpx

            loopback = dict.fromkeys(("all://127.0.0.1", "all://localhost", "all://[::1]"))
            self._client = await asyncio.to_thread(
                httpx.AsyncClient, follow_redirects=False, trust_env=True, mounts=loopback,
                headers={"User-Agent": "traywidget-hooks"})
        return self._client

    async def close(self) -> None:
        """Close the HTTP client (after `drain`, when quitting)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _report(self, result: Delivery) -> None:
        hook_id = result.hook.id
        if result.ok:
            if hook_id in self._failing:
                self._failing.discard(hook_id)
                log.warning("Alert hook %s works again", result.hook.target)
            return
        if hook_id not in self._failing:
            self._failing.add(hook_id)
            log.warning("Alert hook %s failed (%s); said once until it works again", result.hook.target,
                        result.problem)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _feed_and_wait(process: subprocess.Popen, body: bytes) -> int:
    """Give the command its event on stdin and wait for it to end (in a thread); its exit status."""
    try:
        process.communicate(body)
    except (BrokenPipeError, ValueError):  # it did not read its input, or was stopped: its status says
        process.wait()
    return process.returncode


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass
