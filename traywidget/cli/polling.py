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
from traywidget.gateway.control_api import KillOrder
from traywidget.i18n import tr, trn
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
from traywidget.model.hook import Hook
from traywidget.present.alerts import Alert, kill_summary
from traywidget.present.severity import exit_code, severity_of
from traywidget.present.status_document import account_document, status_document
from traywidget.store.config import MAX_HOLD_MINUTES
from traywidget.store.secrets import KeyringSecretStore, SecretStore


@dataclass
class EngineInputs:
    accounts: list[Account]
    secrets: SecretStore
    settings: Any  # traywidget.engine.engine.EngineSettings (the engine, and httpx, load only when polling)
    pinned_meter: str | None = None
    demo_gateway_port: int | None = None  # the running tray demo's gateway (`--demo` reaching it)
    hooks: tuple[Hook, ...] = ()  # the user's alert hooks (none in the demo)


def _engine_inputs(args, err, stack: ExitStack) -> EngineInputs:
    """The accounts, keys and settings to poll: the config's, or the demo's."""
    from traywidget.engine.engine import EngineSettings

    if args.demo:
        from traywidget.demo import reach_demo

        demo = stack.enter_context(reach_demo())
        return EngineInputs(demo.accounts, demo.secrets, EngineSettings(), demo_gateway_port=demo.gateway_port)
    _, config = load_config(err)
    if not config.accounts:
        raise UsageError(tr("no accounts configured. Add one with: traywidget accounts add PROVIDER --id ID "
                            "(or try `traywidget status --demo`)"))
    return EngineInputs(list(config.accounts), KeyringSecretStore(),
                        EngineSettings().with_user_settings(config.settings), config.settings.pinned_meter,
                        hooks=config.settings.hooks)


def status_command(args, out: GuardedStream, err) -> int:
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        port = configured_port(args, inputs)
        snapshots = asyncio.run(_one_shot(inputs, lambda engine: poll_with_gateway(engine, port, inputs.secrets)))
    if args.json or args.compact:
        document = status_document(snapshots, rails={a.id: a.rails for a in inputs.accounts})
        if args.compact:
            out.write(json.dumps(document, separators=(",", ":")) + "\n")  # one line, for a status bar
        else:
            json.dump(document, out, indent=2)
            out.write("\n")
    else:
        print_status(snapshots, utcnow(), out)
    return status_exit_code(snapshots)


def status_exit_code(snapshots: list[Snapshot]) -> int:
    """What `status` returns for these accounts (docs/json.md's severity table)."""
    return _exit_code([s.error for s in snapshots], exit_code(severity_of(s) for s in snapshots) != EXIT_OK)


def kill_command(args, out: GuardedStream, err) -> int:
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        accounts = _chosen_accounts(args, inputs)
        order = KillOrder(accounts, *_hold_choice(args))
        port = configured_port(args, inputs)
        outcome: KillOutcome = asyncio.run(
            _one_shot(inputs, lambda engine: kill_with_gateway(engine, port, inputs.secrets, order)))
    results = outcome.results
    from traywidget.providers import display_name, get_provider

    summary = kill_summary(results, {a.id: a.label for a in inputs.accounts}, outcome.through_gateway,
                           {a.id: get_provider(a.provider).supports_kill for a in inputs.accounts},
                           {a.id: display_name(a.provider) for a in inputs.accounts})
    if args.json:
        json.dump({"accounts": [{**r.to_json(), "held_until": outcome.held.get(r.account_id)} for r in results]},
                  out, indent=2)
        out.write("\n")
    else:
        print(tr("{title}.").format(title=summary.title), file=out)
        if summary.body:
            print(summary.body, file=out)
        if outcome.held:
            print(hold_line(order.minutes), file=out)
            if any(get_provider(a.provider).supports_kill for a in inputs.accounts if a.id in outcome.held):
                print(tr("A hold refuses only requests through the gateway; streams opened directly to a "
                         "provider with a kill API (routing.run) were stopped by that API, new ones are not held."),
                      file=out)
    out.flush()
    _tell_hooks(inputs, summary, err)
    return _exit_code([r.error for r in results], any(r.error for r in results))


def _tell_hooks(inputs: EngineInputs, summary: Alert, err) -> None:
    """What the kill stopped goes to the alert hooks as the tray's "Kill all streams" sends it. This command
    composed the answer (a running tray or headless gateway only stopped the streams it was asked to), so it
    is sent from here, once; after the answer is printed, and for at most ENDING_WAIT_S."""
    if not inputs.hooks:
        return
    from traywidget.desktop.hooks import ENDING_WAIT_S, Delivery, HookRunner
    from traywidget.present.hook_events import hook_event

    async def deliver() -> list[Delivery] | None:
        from traywidget.store.offthread import DaemonExecutor

        loop = asyncio.get_running_loop()
        loop.set_default_executor(DaemonExecutor())  # a keyring read stuck behind a prompt must not keep us open
        runner = HookRunner(loop, inputs.secrets, inputs.hooks)
        event = hook_event(summary, None, utcnow())
        try:
            return await asyncio.wait_for(asyncio.gather(*(runner.deliver(hook, event) for hook in runner.hooks)),
                                          ENDING_WAIT_S)
        except TimeoutError:
            return None
        finally:
            await runner.close()

    deliveries = asyncio.run(deliver())
    if deliveries is None:
        problems = [tr("the alert hooks did not finish within {seconds:g} s; they were stopped").format(
            seconds=ENDING_WAIT_S)]
    else:
        problems = [tr("alert hook {target} failed ({problem})").format(target=d.hook.target, problem=d.problem)
                    for d in deliveries if not d.ok]
    for problem in problems:
        print(tr("traywidget: warning: {warning}").format(warning=problem), file=err)


def _chosen_accounts(args, inputs: EngineInputs) -> list[str] | None:
    account_id = getattr(args, "account_id", None)
    if account_id is None:
        return None
    if account_id not in {a.id for a in inputs.accounts}:
        raise UsageError(tr("no account with id {id!r} (see `traywidget accounts list`)").format(id=account_id))
    return [account_id]


def _hold_choice(args) -> tuple[bool, float | None]:
    """(hold, minutes): --hold MINUTES, --hold-until-resume, --no-hold, else the Settings' default."""
    if getattr(args, "hold_until_resume", False):
        return True, None
    minutes = getattr(args, "hold", None)
    if minutes is not None:
        if not 0 < minutes <= MAX_HOLD_MINUTES:
            raise UsageError(tr("--hold takes minutes from 1 to {most} (or use --hold-until-resume)").format(
                most=MAX_HOLD_MINUTES))
        return True, float(minutes)
    if getattr(args, "no_hold", False) or args.demo:
        return False, None
    from traywidget.store.config import ConfigStore

    return ConfigStore().load().settings.kill_hold_minutes


def hold_line(minutes: float | None) -> str:
    """What the CLI says after a kill that holds."""
    if minutes is None:
        return tr("New requests through the gateway are held until you resume: traywidget resume")
    return trn("New requests through the gateway are held for {n} minute (traywidget resume ends it sooner).",
               "New requests through the gateway are held for {n} minutes (traywidget resume ends it sooner).",
               int(minutes)).format(n=int(minutes))


def resume_command(args, out: GuardedStream, err) -> int:
    """`traywidget resume [--account ID] [--json]`: end holds; the next request goes through."""
    from traywidget.gateway import remote
    from traywidget.gateway.token import read_token
    from traywidget.store.holds import HoldBook

    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        accounts = None
        if args.account_id is not None:
            if args.account_id not in {a.id for a in inputs.accounts}:
                raise UsageError(tr("no account with id {id!r} (see `traywidget accounts list`)").format(
                    id=args.account_id))
            accounts = [args.account_id]
        port = configured_port(args, inputs)
        secrets = inputs.secrets
        resumed = None if port is None else asyncio.run(
            _ask(remote.resume(port, lambda: read_token(secrets), accounts)))
    if resumed is None and args.demo:
        raise UsageError(tr("no tray demo with a gateway is running: start one with `traywidget --demo`"))
    if resumed is None:  # no gateway runs: the holds file is the truth
        resumed = HoldBook().resume(accounts)
    if args.json:
        json.dump({"resumed": resumed}, out, indent=2)
        out.write("\n")
    elif resumed:
        print(tr("Requests go through again: {accounts}.").format(accounts=", ".join(resumed)), file=out)
    else:
        print(tr("No account was held."), file=out)
    return EXIT_OK


def _exit_code(errors: list[ErrorInfo | None], account_error: bool) -> int:
    """docs/json.md's rule: 3 when a key could not be read from the keyring, else 1 when an account is
    failing or waits for the user (present.severity.exit_code), else 0."""
    if any(error is not None and error.code == KEYRING_ERROR_CODE for error in errors):
        return EXIT_KEYRING
    return EXIT_ACCOUNT_ERROR if account_error else EXIT_OK


async def _one_shot(inputs: EngineInputs, action):
    from traywidget.engine.engine import Engine

    engine = Engine(inputs.accounts, inputs.secrets, settings=inputs.settings)
    try:
        return await action(engine)
    finally:
        await engine.stop()


def watch_command(args, out: GuardedStream, err) -> int:
    fmt = "json" if args.json else args.format
    with ExitStack() as stack:
        inputs = _engine_inputs(args, err, stack)
        return asyncio.run(_watch(inputs, watch_printer(fmt, inputs), out, follow_gateway=not args.demo))


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
        from traywidget.present.headline import HeadlinePolicy

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
            return json.dumps(account_document(snap), separators=(",", ":"))
        return watch_line(snap, utcnow())

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


async def _watch(inputs: EngineInputs, render: Printer, out: GuardedStream, follow_gateway: bool = True) -> int:
    """Run the engine and print what `render` makes of each snapshot, until
    SIGINT/SIGTERM, or until the reader of our output goes away."""
    from traywidget.engine.engine import Engine

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
    follower = asyncio.create_task(follow_holds_and_spend(engine)) if follow_gateway else None
    try:
        await stop.wait()
    finally:
        if follower is not None:
            follower.cancel()
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
    from traywidget.gateway.addresses import gateway_port

    return gateway_port()


async def poll_with_gateway(engine, port: int | None, secrets) -> list:
    """`status`: one poll of every account, plus what a running gateway's traffic said and
    its open streams (through the engine, so traffic and polls merge by the engine's one rule),
    and the holds and today's gateway usage from their files (the truth for every process)."""
    from traywidget.gateway import remote
    from traywidget.gateway.token import read_token

    if port is None:
        return await engine.poll_all()
    _read_holds_and_spend(engine)
    polled, running = await asyncio.gather(engine.poll_all(), _ask(remote.status(port, lambda: read_token(secrets))))
    if running is None:
        return polled
    for observation in running.observations:
        engine.observe(observation)
    for snap in polled:
        engine.set_streams(snap.account_id, running.streams.get(snap.account_id, 0))
    return [engine.snapshots[snap.account_id] for snap in polled]


def _read_holds_and_spend(engine) -> None:
    from traywidget.store.holds import HoldBook
    from traywidget.store.spend import SpendBook

    holds, spend = HoldBook().all_active(), SpendBook()
    for account in engine.accounts:
        engine.set_hold(account.id, holds.get(account.id))
        engine.set_gateway_usage(account.id, spend.today(account.id))


# `watch` looks at the holds and today's gateway usage (written by whichever gateway runs) this often.
GATEWAY_FILES_CHECK_S = 2.0


async def follow_holds_and_spend(engine) -> None:
    """`watch`: holds and today's gateway usage, as the running gateway (tray or headless) writes them."""
    from traywidget.store.holds import HoldBook
    from traywidget.store.spend import SpendBook

    holds, spend = HoldBook(), SpendBook()
    while True:
        holds.refresh()
        spend.refresh()
        active = holds.all_active()
        for account in engine.accounts:
            engine.set_hold(account.id, active.get(account.id))
            engine.set_gateway_usage(account.id, spend.today(account.id))
        await asyncio.sleep(GATEWAY_FILES_CHECK_S)


@dataclass
class KillOutcome:
    results: list[KillResult]
    through_gateway: dict[str, int]  # streams stopped by the gateway, per account
    held: dict[str, str]  # held_until per held account


async def kill_with_gateway(engine, port: int | None, secrets, order: KillOrder | None = None) -> KillOutcome:
    """`kill`: the streams through a running gateway first (held first, when the order says so),
    then the providers' kill APIs. With no gateway running, a hold is written for the next one."""
    from traywidget.gateway import remote
    from traywidget.gateway.kills import kill_everywhere
    from traywidget.model import HOLD_KILL
    from traywidget.store.holds import HoldBook

    order = order or KillOrder()
    through: dict[str, int] = {}

    async def stop_held():
        from traywidget.gateway.token import read_token

        stopped = None if port is None else await _ask(
            remote.stop_streams(port, lambda: read_token(secrets), order))
        if stopped is None and order.hold:
            accounts = order.accounts if order.accounts is not None else [a.id for a in engine.accounts]
            HoldBook().hold(accounts, HOLD_KILL, order.minutes)
        through.update(stopped or {})
        return stopped

    results = await kill_everywhere(stop_held, lambda: engine.kill_all(order.accounts))
    held = {}
    if order.hold and port is not None:
        held = {a: h.held_until_json() for a, h in HoldBook().all_active().items()
                if order.accounts is None or a in order.accounts}
    return KillOutcome(results, through, held)


async def _ask(call):
    """A running gateway's answer; None (and a warning) when it refuses this user's token, or
    when what answers on the port does not prove it is this user's gateway (it is sent nothing)."""
    from traywidget.gateway.remote import GatewayNotProven, GatewayRefused

    try:
        return await call
    except GatewayNotProven:
        print(tr("traywidget: warning: the program on the gateway's port answers like a traywidget gateway but did "
                 "not prove it holds your gateway token; nothing was sent to it, and no streams of it are "
                 "included. If it is an old gateway of yours, restart it."), file=sys.stderr)
        return None
    except GatewayRefused:
        print(tr("traywidget: warning: the gateway on the configured port refused this user's gateway token; "
                 "its streams are not included."), file=sys.stderr)
        return None
