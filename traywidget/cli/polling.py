"""`status`, `watch` and `kill`: the commands that run the engine."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from contextlib import ExitStack
from typing import Callable, TextIO

from traywidget.cli.accounts import load_config
from traywidget.cli.output import print_status, watch_line
from traywidget.core.alerts import kill_summary
from traywidget.core.config import ConfigStore
from traywidget.core.secrets import KeyringSecretStore
from traywidget.i18n import tr
from traywidget.model import (
    EXIT_ACCOUNT_ERROR,
    EXIT_OK,
    KillResult,
    Snapshot,
    UsageError,
)


def _engine_inputs(args, err, stack: ExitStack):
    """(accounts, secret store, engine settings) from the config, or from the demo."""
    from traywidget.core.engine import EngineSettings

    if getattr(args, "demo", False):
        from traywidget.demo import start_demo

        demo = stack.enter_context(start_demo())
        return demo.accounts, demo.secrets, EngineSettings()
    _, config = load_config(err)
    if not config.accounts:
        raise UsageError("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID "
                       "(or try `traywidget status --demo`)")
    return list(config.accounts), KeyringSecretStore(), EngineSettings().with_user_settings(config.settings)


def status_command(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        port = configured_port(args)
        snapshots = asyncio.run(_one_shot(accounts, secrets, settings, lambda e: poll_with_gateway(e, port, secrets)))
    if args.json:
        json.dump({"accounts": [s.to_json() for s in snapshots]}, out, indent=2)
        out.write("\n")
    else:
        print_status(snapshots, out)
    return EXIT_ACCOUNT_ERROR if any(s.state.is_account_error for s in snapshots) else EXIT_OK


def kill_command(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        port = configured_port(args)
        results: list[KillResult] = asyncio.run(
            _one_shot(accounts, secrets, settings, lambda e: kill_with_gateway(e, port, secrets)))
    if args.json:
        json.dump({"accounts": [r.to_json() for r in results]}, out, indent=2)
        out.write("\n")
    else:
        summary = kill_summary(results, {a.id: a.label for a in accounts})
        print(f"{summary.title}.", file=out)
        print(summary.body, file=out)
    return EXIT_ACCOUNT_ERROR if any(r.error for r in results) else EXIT_OK


async def _one_shot(accounts, secrets, settings, action):
    from traywidget.core.engine import Engine

    engine = Engine(accounts, secrets, settings=settings)
    try:
        return await action(engine)
    finally:
        await engine.stop()


def watch_command(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        return asyncio.run(_watch_loop(accounts, secrets, settings, args.json, out))


def change_printer(as_json: bool, out: TextIO) -> Callable[[Snapshot], None]:
    """What `watch` (and `gateway`) do with each snapshot: print a line when an account changed."""
    last: dict[str, tuple] = {}

    def on_snapshot(snap: Snapshot) -> None:
        key = snap.content_key()
        if last.get(snap.account_id) == key:
            return
        last[snap.account_id] = key
        if as_json:
            out.write(json.dumps(snap.to_json(), separators=(",", ":")) + "\n")
        else:
            out.write(watch_line(snap) + "\n")
        out.flush()

    return on_snapshot


async def _watch_loop(accounts, secrets, settings, as_json: bool, out: TextIO) -> int:
    from traywidget.core.engine import Engine

    engine = Engine(accounts, secrets, settings=settings)
    engine.subscribe(change_printer(as_json, out))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            pass
    await engine.start()
    try:
        await stop.wait()
    finally:
        await engine.stop()
    return EXIT_OK


# --- `status` and `kill` reach a running gateway ---------------------------------------


def configured_port(args) -> int | None:
    """The port a running gateway would be on; None for the demo (which runs none)."""
    if args.demo:
        return None
    return ConfigStore().load().settings.gateway_port


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
