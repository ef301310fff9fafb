"""`status`, `watch` and `kill`: the commands that run the engine."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from traywidget.cli.accounts import load_config
from traywidget.cli.output import GuardedStream, print_status, watch_line
from traywidget.core.alerts import kill_summary
from traywidget.core.secrets import KeyringSecretStore, SecretStore
from traywidget.i18n import tr
from traywidget.model import (
    EXIT_ACCOUNT_ERROR,
    EXIT_KEYRING,
    EXIT_OK,
    KEYRING_ERROR_CODE,
    Account,
    ErrorInfo,
    KillResult,
    Snapshot,
    UsageError,
    utcnow,
)


@dataclass
class EngineInputs:
    accounts: list[Account]
    secrets: SecretStore
    settings: Any  # traywidget.core.engine.EngineSettings (the engine, and httpx, load only when polling)
    pinned_meter: str | None = None
    demo_gateway_port: int | None = None  # the running tray demo's gateway (`--demo` reaching it)


def _engine_inputs(args, err, stack: ExitStack) -> EngineInputs:
    """The accounts, keys and settings to poll: the config's, or the demo's."""
    from traywidget.core.engine import EngineSettings

    if args.demo:
        from traywidget.demo import reach_demo

        demo = stack.enter_context(reach_demo())
        return EngineInputs(demo.accounts, demo.secrets, EngineSettings(), demo_gateway_port=demo.gateway_port)
    _, config = load_config(err)
    if not config.accounts:
        raise UsageError(tr("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID "
                            "(or try `traywidget status --demo`)"))
    return EngineInputs(list(config.accounts), KeyringSecretStore(),
                        EngineSettings().with_user_settings(config.settings), config.settings.pinned_meter)


def status_command(args, out: GuardedStream, err) -> int:
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        port = configured_port(args, inputs)
        snapshots = asyncio.run(_one_shot(inputs, lambda engine: poll_with_gateway(engine, port, inputs.secrets)))
    if args.json:
        json.dump({"accounts": [s.to_json() for s in snapshots]}, out, indent=2)
        out.write("\n")
    else:
        print_status(snapshots, utcnow(), out)
    return _exit_code([s.error for s in snapshots], any(s.state.is_account_error for s in snapshots))


def kill_command(args, out: GuardedStream, err) -> int:
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        port = configured_port(args, inputs)
        results: list[KillResult] = asyncio.run(
            _one_shot(inputs, lambda engine: kill_with_gateway(engine, port, inputs.secrets)))
    if args.json:
        json.dump({"accounts": [r.to_json() for r in results]}, out, indent=2)
        out.write("\n")
    else:
        summary = kill_summary(results, {a.id: a.label for a in inputs.accounts})
        print(tr("{title}.").format(title=summary.title), file=out)
        if summary.body:
            print(summary.body, file=out)
    return _exit_code([r.error for r in results], any(r.error for r in results))


def _exit_code(errors: list[ErrorInfo | None], account_error: bool) -> int:
    """README's rule: 3 when a key could not be read from the keyring, else 1 when an account is
    in an error state, else 0."""
    if any(error is not None and error.code == KEYRING_ERROR_CODE for error in errors):
        return EXIT_KEYRING
    return EXIT_ACCOUNT_ERROR if account_error else EXIT_OK


async def _one_shot(inputs: EngineInputs, action):
    from traywidget.core.engine import Engine

    engine = Engine(inputs.accounts, inputs.secrets, settings=inputs.settings)
    try:
        return await action(engine)
    finally:
        await engine.stop()


def watch_command(args, out: GuardedStream, err) -> int:
    fmt = "json" if args.json else args.format
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        return asyncio.run(_watch(inputs, watch_printer(fmt, inputs), out))


# A status bar's first glance waits until every account has answered once (a bar that
# showed one account, then another, would flicker), but never longer than this.
FIRST_GLANCE_WAIT_S = 3.0

Printer = Callable[[dict[str, Snapshot], "Snapshot | None"], "str | None"]


def watch_printer(fmt: str, inputs: EngineInputs) -> Printer:
    """(latest snapshot per account, the one that just arrived) -> the line to print, or None when
    nothing changed: per account for `text` and `json`, the whole glance for `waybar`, `line` and `short`.
    Called with None instead of a snapshot when FIRST_GLANCE_WAIT_S has passed."""
    from traywidget.cli import bar

    if fmt in ("waybar", "line", "short"):
        from traywidget.core.headline import HeadlinePolicy

        order = [a.id for a in inputs.accounts]
        policy = HeadlinePolicy()  # holds the badge's meter like the tray does, until another clearly binds
        last: list[str] = []

        def glance(latest: dict[str, Snapshot], snap: Snapshot | None) -> str | None:
            waiting = not last and snap is not None and any(i not in latest for i in order)
            if waiting or (snap is None and (last or not latest)):
                return None
            snapshots = [latest[i] for i in order if i in latest]
            headline = policy.choose(snapshots, inputs.pinned_meter)
            if fmt == "waybar":
                text = bar.waybar_line(snapshots, headline, utcnow())
            elif fmt == "short":
                text = bar.short_line(snapshots, headline)
            else:
                text = bar.plain_line(snapshots, headline)
            if last == [text]:
                return None
            last[:] = [text]
            return text

        return glance
    seen: dict[str, tuple] = {}

    def per_account(_latest: dict[str, Snapshot], snap: Snapshot | None) -> str | None:
        if snap is None:
            return None
        key = snap.content_key()
        if seen.get(snap.account_id) == key:
            return None
        seen[snap.account_id] = key
        if fmt == "json":
            return json.dumps(snap.to_json(), separators=(",", ":"))
        return watch_line(snap)

    return per_account


class SnapshotPrinter:
    """An engine subscriber that prints what `render` makes of each snapshot (`watch`, and any
    command that prints what watch prints)."""

    def __init__(self, render: Printer, out: GuardedStream) -> None:
        self._render = render
        self._out = out
        self._latest: dict[str, Snapshot] = {}

    def __call__(self, snap: Snapshot) -> None:
        self._latest[snap.account_id] = snap
        self._emit(self._render(self._latest, snap))

    def deadline(self) -> None:
        """FIRST_GLANCE_WAIT_S has passed: a glance still waiting for an account shows what it has."""
        self._emit(self._render(self._latest, None))

    def _emit(self, text: str | None) -> None:
        if text is not None:
            self._out.write(text + "\n")
            self._out.flush()


async def _watch(inputs: EngineInputs, render: Printer, out: GuardedStream) -> int:
    """Run the engine and print what `render` makes of each snapshot, until
    SIGINT/SIGTERM, or until the reader of our output goes away."""
    from traywidget.core.engine import Engine

    engine = Engine(inputs.accounts, inputs.secrets, settings=inputs.settings)
    stop = asyncio.Event()
    out.on_gone(stop.set)
    on_snapshot = SnapshotPrinter(render, out)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            pass
    fifo = notice_reader_exit(loop, out)
    engine.subscribe(on_snapshot)
    await engine.start()
    first_glance = loop.call_later(FIRST_GLANCE_WAIT_S, on_snapshot.deadline)
    try:
        await stop.wait()
    finally:
        first_glance.cancel()
        if fifo is not None:
            loop.remove_reader(fifo)
        await engine.stop()
    return EXIT_OK


def notice_reader_exit(loop: asyncio.AbstractEventLoop, out: GuardedStream) -> int | None:
    """Stop as soon as the reader of our pipe exits (`watch | head -1`), not at the next change,
    which may be hours away with requests spent all the while. On Linux the write end of a pipe
    whose reader has gone reports an error condition, which the event loop sees as readable.
    Elsewhere the next write finds out."""
    fd = out.fifo_fd()
    if fd is None or not sys.platform.startswith("linux"):
        return None

    def reader_gone() -> None:
        loop.remove_reader(fd)
        out.reader_left()

    try:
        loop.add_reader(fd, reader_gone)
    except (NotImplementedError, OSError, ValueError):
        return None
    return fd


# --- `status` and `kill` reach a running gateway ---------------------------------------


def configured_port(args, inputs: EngineInputs | None = None) -> int | None:
    """The port a running gateway (the tray's or a headless one) would be on; for the demo, the running tray
    demo's gateway (None when this command runs a demo world of its own)."""
    if args.demo:
        return inputs.demo_gateway_port if inputs is not None else None
    from traywidget.cli.gateway_address import gateway_port

    return gateway_port()


async def poll_with_gateway(engine, port: int | None, secrets) -> list:
    """`status`: one poll of every account, plus what a running gateway's traffic said and
    its open streams (through the engine, so traffic and polls merge by the engine's one rule)."""
    from traywidget.gateway import remote
    from traywidget.gateway.token import read_token

    if port is None:
        return await engine.poll_all()
    polled, running = await asyncio.gather(engine.poll_all(), _ask(remote.status(port, lambda: read_token(secrets))))
    if running is None:
        return polled
    for observation in running.observations:
        engine.observe(observation)
    for snap in polled:
        engine.set_streams(snap.account_id, running.streams.get(snap.account_id, 0))
    return [engine.snapshots[snap.account_id] for snap in polled]


async def kill_with_gateway(engine, port: int | None, secrets) -> list:
    """`kill`: the streams a running gateway holds first, then the providers' kill APIs."""
    from traywidget.gateway import remote
    from traywidget.gateway.kills import kill_everywhere
    from traywidget.gateway.token import read_token

    async def stop_held():
        return None if port is None else await _ask(remote.stop_streams(port, lambda: read_token(secrets)))

    return await kill_everywhere(stop_held, engine.kill_all)


async def _ask(call):
    """A running gateway's answer; None (and a warning) when it refuses this user's token."""
    from traywidget.gateway.remote import GatewayRefused

    try:
        return await call
    except GatewayRefused:
        print(tr("traywidget: warning: the gateway on the configured port refused this user's gateway token; "
                 "its streams are not included."), file=sys.stderr)
        return None
