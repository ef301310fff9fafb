"""`accounts add|list|remove` and `keys set|delete`: the config file and the keyring."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import replace

from traywidget.cli.output import Writer, print_table
from traywidget.i18n import tr
from traywidget.model import (
    EXIT_KEYRING,
    EXIT_OK,
    Account,
    ConfigError,
    InvalidValue,
    SecretStoreError,
    UsageError,
)
from traywidget.store.account_fields import (
    base_url_advice,
    validate_account_id,
    validate_base_url,
    validate_daily_cap,
    validate_interval,
    validate_reserve,
    validate_reserve_window,
    validate_user_agent,
)
from traywidget.store.config import Config, ConfigStore
from traywidget.store.key_input import check_key
from traywidget.store.secrets import KeyringSecretStore


def load_config(err: Writer) -> tuple[ConfigStore, Config]:
    """The config, with its warnings printed. A file that could not be read has been kept
    aside by the loader: the command stops there (exit 2) rather than act on no accounts
    as if there were none; the next command starts from an empty config."""
    store = ConfigStore()
    config = store.load()
    if config.set_aside is not None:
        raise ConfigError(" ".join(config.warnings))
    for warning in config.warnings:
        print(tr("traywidget: warning: {warning}").format(warning=warning), file=err)
    return store, config


def accounts_command(args, out, err) -> int:
    from traywidget.providers import get_provider

    store, config = load_config(err)
    if args.accounts_command == "list":
        if args.json:
            json.dump({"accounts": [a.to_json() for a in config.accounts]}, out, indent=2)
            out.write("\n")
        elif not config.accounts:
            print(tr("No accounts yet. Add one with: traywidget accounts add PROVIDER --id ID"), file=out)
        else:
            rows = [(tr("ID"), tr("PROVIDER"), tr("LABEL"), tr("BASE URL"))]
            rows += [(a.id, a.provider, a.label, a.base_url) for a in config.accounts]
            print_table(rows, out)
        return EXIT_OK
    if args.accounts_command == "add":
        account_id = validate_account_id(args.account_id)
        if config.account(account_id):
            raise UsageError(tr("an account with id {id!r} exists already").format(id=account_id))
        provider = get_provider(args.provider)
        account = Account(
            id=account_id,
            provider=provider.id,
            label=(args.label or "").strip() or account_id,
            base_url=validate_base_url(args.base_url or provider.default_base_url),
            fast_interval_s=validate_interval(args.fast_interval),
            full_interval_s=validate_interval(args.full_interval),
            user_agent=validate_user_agent(getattr(args, "user_agent", None)),
        )
        # As in the account dialog: a likely wrong base URL is a warning, said before any key is stored;
        # another provider's host is refused unless --force (the key would be sent to that provider).
        advice = base_url_advice(account.provider, account.base_url)
        if advice is not None and advice.other_provider and not args.force:
            raise UsageError(tr("{advice} Nothing was added. Leave out --base-url for {provider}'s own, or add "
                                "--force to keep this one.").format(advice=advice.message,
                                                                   provider=provider.display_name))

        def add(current: Config) -> Config:
            # Checked again on the config as it is now: another process may have added it meanwhile.
            if current.account(account_id):
                raise UsageError(tr("an account with id {id!r} exists already").format(id=account_id))
            return current.with_account(account)

        store.update(add)
        print(tr("Added {id} ({provider}, {url}).").format(
            id=account.id, provider=provider.display_name, url=account.base_url), file=out)
        if advice is not None:
            print(tr("traywidget: warning: {advice}").format(advice=advice.message), file=err)
            if advice.fixed_url:
                print(tr("traywidget: to use {url} instead: traywidget accounts remove {id} && traywidget accounts "
                         "add {provider} --id {id} --base-url {url}").format(
                    url=advice.fixed_url, id=account.id, provider=account.provider), file=err)
        print(tr("Now store its key: traywidget keys set {id}").format(id=account.id), file=out)
        return EXIT_OK
    if args.accounts_command == "set":
        return _set_rails(args, store, config, out)
    # remove
    def remove(current: Config) -> Config:
        if not current.account(args.account_id):
            raise UsageError(tr("no account with id {id!r}").format(id=args.account_id))
        return current.without_account(args.account_id)

    store.update(remove)
    print(tr("Removed {id}.").format(id=args.account_id), file=out)
    try:
        secrets = KeyringSecretStore()
        removed = [secrets.delete(args.account_id, management=m) for m in (False, True)]
        if any(removed):
            print(tr("Its keys were deleted from the keyring."), file=out)
    except SecretStoreError as exc:
        print(tr("traywidget: the account is removed, but its keys could not be deleted: {error}").format(
            error=exc), file=err)
        return EXIT_KEYRING
    return EXIT_OK


def _set_rails(args, store: ConfigStore, config: Config, out: Writer) -> int:
    """`accounts set ID --reserve N [--reserve-window W] --daily-cap AMOUNT` ("off" removes one)."""
    account = config.account(args.account_id)
    if account is None:
        raise UsageError(tr("no account with id {id!r}").format(id=args.account_id))
    if args.reserve is None and args.reserve_window is None and args.daily_cap is None:
        raise UsageError(tr("say what to set: --reserve N, --reserve-window minute|hour|day, --daily-cap AMOUNT"))
    rails = account.rails
    try:
        if args.reserve is not None:
            reserve = None if args.reserve == "off" else validate_reserve(_number(args.reserve), account.id)
            rails = replace(rails, reserve=reserve)
        if args.reserve_window is not None:
            rails = replace(rails, reserve_window=validate_reserve_window(args.reserve_window, account.id))
        if args.daily_cap is not None:
            cap = None if args.daily_cap == "off" else validate_daily_cap(args.daily_cap, account.id)
            rails = replace(rails, daily_cap=cap)
    except InvalidValue as exc:
        raise UsageError(str(exc)) from None
    store.save(config.with_account(replace(account, rails=rails)))
    reserve_text = (tr("reserve {n} requests per {window}").format(n=rails.reserve, window=rails.reserve_window)
                    if rails.reserve is not None else tr("no reserve"))
    cap_text = (tr("daily cap {amount}").format(amount=f"{rails.daily_cap:g}") if rails.daily_cap is not None
                else tr("no daily cap"))
    print(tr("{id}: {reserve}, {cap}.").format(id=account.id, reserve=reserve_text, cap=cap_text), file=out)
    return EXIT_OK


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def keys_command(args, out, err) -> int:
    _, config = load_config(err)
    if not config.account(args.account_id):
        raise UsageError(tr("no account with id {id!r}; add it first with `traywidget accounts add`.").format(
            id=args.account_id))
    secrets = KeyringSecretStore()
    account_id = args.account_id
    if args.keys_command == "delete":
        deleted = secrets.delete(account_id, management=args.management)
        if args.management:
            text = tr("Deleted the management key of {id}.") if deleted else tr("{id} had no management key stored.")
        else:
            text = tr("Deleted the API key of {id}.") if deleted else tr("{id} had no API key stored.")
        print(text.format(id=account_id), file=out)
        return EXIT_OK
    prompt = tr("management key for {id}: ") if args.management else tr("API key for {id}: ")
    secret = read_secret(prompt.format(id=account_id))
    if not secret:
        missing = (tr("no management key given on standard input; nothing was saved") if args.management
                   else tr("no API key given on standard input; nothing was saved"))
        raise UsageError(missing)
    secret = check_key(secret)
    secrets.set(account_id, secret, management=args.management)
    saved = (tr("Saved the management key of {id} in the keyring ({backend}).") if args.management
             else tr("Saved the API key of {id} in the keyring ({backend})."))
    print(saved.format(id=account_id, backend=secrets.backend_label()), file=out)
    return EXIT_OK


def read_secret(prompt: str) -> str:
    """From a hidden prompt on a terminal, else the first line of standard input.
    Never from argv: command lines are visible to every user of the machine."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return getpass.getpass(prompt).strip()
    return sys.stdin.readline().strip()
