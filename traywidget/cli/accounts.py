"""`accounts add|list|remove` and `keys set|delete`: the config file and the keyring."""

from __future__ import annotations

import getpass
import json
import sys
from typing import TextIO

from traywidget.cli.output import print_table
from traywidget.core.config import (
    Config,
    ConfigStore,
    validate_account_id,
    validate_base_url,
    validate_interval,
)
from traywidget.core.secrets import KeyringSecretStore
from traywidget.model import (
    EXIT_KEYRING,
    EXIT_OK,
    Account,
    SecretStoreError,
    UsageError,
)


def load_config(err: TextIO) -> tuple[ConfigStore, Config]:
    store = ConfigStore()
    config = store.load()
    for warning in config.warnings:
        print(f"traywidget: warning: {warning}", file=err)
    return store, config


def accounts_command(args, out, err) -> int:
    from traywidget.providers import get_provider

    store, config = load_config(err)
    if args.accounts_command == "list":
        if args.json:
            json.dump({"accounts": [a.to_json() for a in config.accounts]}, out, indent=2)
            out.write("\n")
        elif not config.accounts:
            print("No accounts yet. Add one with: traywidget accounts add PROVIDER --id ID", file=out)
        else:
            rows = [("ID", "PROVIDER", "LABEL", "BASE URL")]
            rows += [(a.id, a.provider, a.label, a.base_url) for a in config.accounts]
            print_table(rows, out)
        return EXIT_OK
    if args.accounts_command == "add":
        account_id = validate_account_id(args.account_id)
        if config.account(account_id):
            raise UsageError(f"an account with id {account_id!r} exists already")
        provider = get_provider(args.provider)
        account = Account(
            id=account_id,
            provider=provider.id,
            label=(args.label or "").strip() or account_id,
            base_url=validate_base_url(args.base_url or provider.default_base_url),
            fast_interval_s=validate_interval(args.fast_interval),
            full_interval_s=validate_interval(args.full_interval),
        )
        store.save(config.with_account(account))
        print(f"Added {account.id} ({provider.display_name}, {account.base_url}).", file=out)
        print(f"Now store its key: traywidget keys set {account.id}", file=out)
        return EXIT_OK
    # remove
    if not config.account(args.account_id):
        raise UsageError(f"no account with id {args.account_id!r}")
    store.save(config.without_account(args.account_id))
    print(f"Removed {args.account_id}.", file=out)
    try:
        secrets = KeyringSecretStore()
        removed = [secrets.delete(args.account_id, management=m) for m in (False, True)]
        if any(removed):
            print("Its keys were deleted from the keyring.", file=out)
    except SecretStoreError as exc:
        print(f"traywidget: the account is removed, but its keys could not be deleted: {exc}", file=err)
        return EXIT_KEYRING
    return EXIT_OK


def keys_command(args, out, err) -> int:
    _, config = load_config(err)
    if not config.account(args.account_id):
        raise UsageError(f"no account with id {args.account_id!r}; add it first with `traywidget accounts add`")
    secrets = KeyringSecretStore()
    kind = "management key" if args.management else "API key"
    if args.keys_command == "delete":
        if secrets.delete(args.account_id, management=args.management):
            print(f"Deleted the {kind} of {args.account_id}.", file=out)
        else:
            print(f"{args.account_id} had no {kind} stored.", file=out)
        return EXIT_OK
    secret = read_secret(f"{kind} for {args.account_id}: ")
    if not secret:
        raise UsageError(f"no {kind} given on standard input; nothing was saved")
    secrets.set(args.account_id, secret, management=args.management)
    print(f"Saved the {kind} of {args.account_id} in the keyring ({secrets.backend_name()}).", file=out)
    return EXIT_OK


def read_secret(prompt: str) -> str:
    """From a hidden prompt on a terminal, else the first line of standard input.
    Never from argv: command lines are visible to every user of the machine."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return getpass.getpass(prompt).strip()
    return sys.stdin.readline().strip()
