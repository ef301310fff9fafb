"""`traywidget hooks add|list|remove|test`: the commands and URLs that receive every alert as JSON.

    traywidget hooks add --command 'notify-send traywidget'        run with the event JSON on stdin
    traywidget hooks add --url https://ntfy.sh/my-topic [--bearer-from-stdin]
    traywidget hooks list [--json]
    traywidget hooks remove N                                      N as `hooks list` numbers them
    traywidget hooks test                                          send a sample event to every hook now

A URL hook's whole URL and bearer credential go to the keyring; config.json keeps only its origin.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from traywidget.cli.accounts import load_config, read_secret
from traywidget.cli.output import Writer, print_table
from traywidget.i18n import tr
from traywidget.model import EXIT_ACCOUNT_ERROR, EXIT_OK, UsageError, utcnow
from traywidget.model.hook import Hook
from traywidget.store.secrets import KeyringSecretStore


def hooks_command(args, out: Writer, err: Writer) -> int:
    store, config = load_config(err)
    hooks = list(config.settings.hooks)
    if args.hooks_command == "list":
        if args.json:
            json.dump({"hooks": [hook.to_json() for hook in hooks]}, out, indent=2)
            out.write("\n")
        elif not hooks:
            print(tr("No hooks yet. Add one with: traywidget hooks add --command CMD | --url URL"), file=out)
        else:
            rows = [(tr("N"), tr("KIND"), tr("TARGET"))]
            rows += [(str(n), _kind(h), h.target + (tr(" (bearer)") if h.bearer else ""))
                     for n, h in enumerate(hooks, 1)]
            print_table(rows, out)
        return EXIT_OK
    if args.hooks_command == "add":
        return _add(args, store, config, out)
    if args.hooks_command == "remove":
        from traywidget.desktop.hooks import hook_secrets

        if not 1 <= args.number <= len(hooks):
            raise UsageError(tr("no hook number {n} (see `traywidget hooks list`)").format(n=args.number))
        gone = hooks.pop(args.number - 1)
        store.save(replace(config, settings=replace(config.settings, hooks=tuple(hooks))))
        if hook_secrets(gone):
            KeyringSecretStore().update(dict.fromkeys(hook_secrets(gone)))
        print(tr("Removed hook {n}: {target}.").format(n=args.number, target=gone.target), file=out)
        return EXIT_OK
    return _test(hooks, out)


def _kind(hook: Hook) -> str:
    if not hook.runnable:
        return tr("unknown (kept, not run)")
    return tr("url") if hook.url is not None else tr("command")


def _add(args, store, config, out: Writer) -> int:
    from traywidget.desktop.hooks import command_hook, hook_secret_name, hook_url_name, url_hook

    secrets = KeyringSecretStore()
    if args.hook_command is not None:
        if args.bearer_from_stdin:
            raise UsageError(tr("--bearer-from-stdin goes with --url: a command receives no credential"))
        hook = command_hook(args.hook_command)
    else:
        hook, url = url_hook(args.hook_url, bearer=args.bearer_from_stdin)
        stored = {hook_url_name(hook.id): url}
        if args.bearer_from_stdin:
            bearer = read_secret(tr("bearer credential for {url}: ").format(url=hook.target))
            if not bearer:
                raise UsageError(tr("no bearer credential given on standard input; nothing was saved"))
            stored[hook_secret_name(hook.id)] = bearer
        secrets.update(stored)  # first: a hook in the config without its URL in the keyring would fail
    hooks = config.settings.hooks + (hook,)
    store.save(replace(config, settings=replace(config.settings, hooks=hooks)))
    print(tr("Added hook {n}: {target}. Try it: traywidget hooks test").format(n=len(hooks), target=hook.target),
          file=out)
    return EXIT_OK


def _test(hooks, out: Writer) -> int:
    from traywidget.desktop.hooks import HookRunner
    from traywidget.present.hook_events import sample_event

    hooks = [hook for hook in hooks if hook.runnable]
    if not hooks:
        print(tr("No hooks yet. Add one with: traywidget hooks add --command CMD | --url URL"), file=out)
        return EXIT_OK

    async def send_all():
        runner = HookRunner(asyncio.get_running_loop(), KeyringSecretStore(), hooks)
        event = sample_event(utcnow())
        try:
            return await asyncio.gather(*(runner.deliver(hook, event) for hook in hooks))
        finally:
            await runner.close()

    results = asyncio.run(send_all())
    for n, result in enumerate(results, 1):
        if result.ok:
            print(tr("{n}. {target}: delivered").format(n=n, target=result.hook.target), file=out)
        else:
            print(tr("{n}. {target}: failed ({problem})").format(n=n, target=result.hook.target,
                                                                 problem=result.problem), file=out)
    return EXIT_OK if all(r.ok for r in results) else EXIT_ACCOUNT_ERROR
