"""`simulate`, `autostart`, `doctor` and `purge`: the commands about this machine."""

from __future__ import annotations

from traywidget.cli.accounts import load_config
from traywidget.core.secrets import KeyringSecretStore
from traywidget.model import (
    EXIT_KEYRING,
    EXIT_OK,
    AutostartError,
    SecretStoreError,
    UsageError,
)


def simulate_command(args, out, err) -> int:
    from traywidget.simulator import Simulator, build_demo
    from traywidget.simulator.server import base_url, run_forever

    sim = Simulator()
    # The demo's keys are fixed fake values that only this simulator knows.
    demo_accounts = build_demo(sim) if args.demo else []

    def ready(port: int) -> None:
        print(f"Simulator listening on 127.0.0.1:{port}", file=out)
        for provider in ("routing.run", "openrouter", "routeway"):
            print(f"  {provider:<12} {base_url(port, provider)}", file=out)
        for item in demo_accounts:
            print(f"demo account {item['id']} ({item['provider']}): "
                  f"traywidget accounts add {item['provider']} --id {item['id']} "
                  f"--base-url {base_url(port, item['provider'])}; key {item['api_key']}"
                  + (f"; management key {item['management_key']}" if item.get("management_key") else ""), file=out)
        print("Press Ctrl+C to stop.", file=out)
        out.flush()

    try:
        run_forever(port=args.port, ready=ready, sim=sim)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from None
    return EXIT_OK


def autostart_command(args, out, err) -> int:
    from traywidget.core.autostart import login_item

    item = login_item()
    if args.action == "on":
        print(f"traywidget will start at login ({item.enable()}).", file=out)
    elif args.action == "off":
        print("Start at login is off." if item.disable() else "Start at login was already off.", file=out)
    else:
        print(item.status(), file=out)
    return EXIT_OK


def doctor_command(args, out, err) -> int:
    from traywidget import doctor

    checks = doctor.run_doctor()
    print(doctor.report_json(checks) if args.json else doctor.format_report(checks), file=out)
    return doctor.exit_code(checks)


def purge_command(args, out, err) -> int:
    """Leave nothing behind but (unless --config) the key-less config file."""
    import shutil

    from traywidget.core.autostart import login_item
    from traywidget.core.paths import cache_dir

    store, config = load_config(err)
    ids = [a.id for a in config.accounts] + [
        e["id"] for e in config.unknown_entries if isinstance(e.get("id"), str)
    ]
    places = [f"the keys of {len(ids)} account(s) in the keyring", "start at login", f"the cache {cache_dir()}"]
    if args.config:
        places.append(f"the config {store.path}")
    if not args.yes:
        print("Would delete: " + "; ".join(places) + ". Run again with --yes to do it.", file=out)
        return EXIT_OK
    failures = 0
    try:
        secrets = KeyringSecretStore()
        for account_id in ids:
            for management in (False, True):
                secrets.delete(account_id, management=management)
    except SecretStoreError as exc:
        print(f"traywidget: keys not deleted: {exc}", file=err)
        failures += 1
    try:
        login_item().disable()
    except AutostartError as exc:
        print(f"traywidget: start at login not removed: {exc}", file=err)
        failures += 1
    shutil.rmtree(cache_dir(), ignore_errors=True)
    if args.config:
        store.path.unlink(missing_ok=True)
    print("Deleted: " + "; ".join(places) + "." if not failures else "Partly done: see above.", file=out)
    return EXIT_KEYRING if failures else EXIT_OK
