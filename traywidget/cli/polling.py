"""`status`, `watch` and `kill`: the commands that run the engine."""

from __future__ import annotations

import asyncio
import json
import signal
from contextlib import ExitStack
from typing import TextIO

from traywidget.cli.accounts import load_config
from traywidget.cli.output import print_status, watch_line
from traywidget.core.alerts import kill_summary
from traywidget.core.secrets import KeyringSecretStore
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
        snapshots = asyncio.run(_one_shot(accounts, secrets, settings, lambda e: e.poll_all()))
    if args.json:
        json.dump({"accounts": [s.to_json() for s in snapshots]}, out, indent=2)
        out.write("\n")
    else:
        print_status(snapshots, out)
    return EXIT_ACCOUNT_ERROR if any(s.state.is_account_error for s in snapshots) else EXIT_OK


def kill_command(args, out, err) -> int:
    with ExitStack() as stack:
        accounts, secrets, settings = _engine_inputs(args, err, stack)
        results: list[KillResult] = asyncio.run(_one_shot(accounts, secrets, settings, lambda e: e.kill_all()))
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


async def _watch_loop(accounts, secrets, settings, as_json: bool, out: TextIO) -> int:
    from traywidget.core.engine import Engine

    engine = Engine(accounts, secrets, settings=settings)
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

    engine.subscribe(on_snapshot)
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
