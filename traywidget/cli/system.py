"""`simulate`, `autostart`, `doctor` and `purge`: the commands about this machine."""

from __future__ import annotations

import shlex

from traywidget.cli.accounts import load_config
from traywidget.i18n import tr, trn
from traywidget.model import (
    EXIT_OK,
    AutostartError,
    SecretStoreError,
    UsageError,
)
from traywidget.store.secrets import KeyringSecretStore


class _ReaderGone(Exception):
    """The reader of `simulate`'s output went away before serving began: stop, as on Ctrl+C."""


def demo_account_commands(item: dict, base_url: str) -> list[str]:
    """Shell lines that add one of the simulator's demo accounts, pasted as they are.
    The keys are fixed fake values only the simulator knows; they reach the keyring
    through a pipe from printf (a shell builtin), never through a command line."""
    account_id = shlex.quote(item["id"])
    lines = [
        (f"traywidget accounts add {shlex.quote(item['provider'])} --id {account_id} "
         f"--label {shlex.quote(item['label'])} --base-url {shlex.quote(base_url)}"),
        f"printf '%s\\n' {shlex.quote(item['api_key'])} | traywidget keys set {account_id}",
    ]
    if item.get("management_key"):
        lines.append(f"printf '%s\\n' {shlex.quote(item['management_key'])} | "
                     f"traywidget keys set {account_id} --management")
    return lines


def simulate_command(args, out, err) -> int:
    from traywidget.simulator import PREFIXES, Simulator, base_url, build_demo, run_forever

    sim = Simulator()
    demo_accounts = build_demo(sim) if args.demo else []

    def ready(port: int) -> None:
        print(tr("Simulator listening on 127.0.0.1:{port}").format(port=port), file=out)
        for provider in PREFIXES:
            print(f"  {provider:<17} {base_url(port, provider)}", file=out)
        if demo_accounts:
            print(tr("To use the demo accounts with the real keyring and config, paste these lines into a shell:"),
                  file=out)
            for item in demo_accounts:
                for line in demo_account_commands(item, base_url(port, item["provider"])):
                    print(line, file=out)
        print(tr("Press Ctrl+C to stop."), file=out)
        out.flush()
        if out.gone:  # `simulate | head`: the lines were all that was wanted
            raise _ReaderGone

    try:
        run_forever(port=args.port, ready=ready, sim=sim)
    except _ReaderGone:
        pass
    except OSError as exc:
        raise UsageError(tr("cannot listen on port {port}: {reason}").format(
            port=args.port, reason=exc.strerror or exc)) from None
    return EXIT_OK


def autostart_command(args, out, err) -> int:
    from traywidget.desktop.autostart import login_item

    item = login_item()
    if args.action == "on":
        print(tr("traywidget will start at login ({where}).").format(where=item.enable()), file=out)
    elif args.action == "off":
        print(tr("Start at login is off.") if item.disable() else tr("Start at login was already off."), file=out)
    else:
        print(item.status(), file=out)
    return EXIT_OK


def doctor_command(args, out, err) -> int:
    from traywidget.desktop import doctor

    checks = doctor.run_doctor()
    print(doctor.report_json(checks) if args.json else doctor.format_report(checks), file=out)
    return doctor.exit_code(checks)


def purge_command(args, out, err) -> int:
    """Leave nothing behind but (unless --config) the key-less config file."""
    import shutil

    from traywidget.desktop.autostart import login_item
    from traywidget.store.holds import HOLDS_LOCK_FILE
    from traywidget.store.paths import cache_dir
    from traywidget.store.store_lock import KEYS_CHANGED_FILE, LOCK_FILE

    store, config = load_config(err)
    ids = [a.id for a in config.accounts] + [
        e["id"] for e in config.unknown_entries if isinstance(e.get("id"), str)
    ]
    places = [
        trn("traywidget's keys in the keyring ({n} account, and the gateway token; nothing else of yours)",
            "traywidget's keys in the keyring ({n} accounts, and the gateway token; nothing else of yours)",
            len(ids)).format(n=len(ids)),
        tr("start at login"),
        tr("the cache {path}").format(path=cache_dir()),
    ]
    if args.config:
        places.append(tr("the config {path}").format(path=store.path))
    if not args.yes:
        print(tr("Would delete: {places}. Run again with --yes to do it.").format(places="; ".join(places)), file=out)
        return EXIT_OK
    failures: list[int] = []  # exit codes of what could not be done
    try:
        # The whole keyring entry, whatever config names: keys of accounts no longer listed go too
        # (and entries an older traywidget kept per account, for the accounts it knows).
        KeyringSecretStore().delete_all(ids)
    except SecretStoreError as exc:
        print(tr("traywidget: keys not deleted: {error}").format(error=exc), file=err)
        failures.append(exc.exit_code)
    try:
        login_item().disable()
    except AutostartError as exc:
        print(tr("traywidget: start at login not removed: {error}").format(error=exc), file=err)
        failures.append(exc.exit_code)
    shutil.rmtree(cache_dir(), ignore_errors=True)
    # The locks and the keys' change stamp: nothing of the user's in them, made again when needed. (The holds
    # stay, like the config: each is the user's decision, written down.)
    for name in (KEYS_CHANGED_FILE, LOCK_FILE, HOLDS_LOCK_FILE):
        (store.directory / name).unlink(missing_ok=True)
    if args.config:
        store.path.unlink(missing_ok=True)
    if failures:
        print(tr("Partly done: see above."), file=out)
    else:
        print(tr("Deleted: {places}.").format(places="; ".join(places)), file=out)
    return max(failures, default=EXIT_OK)
