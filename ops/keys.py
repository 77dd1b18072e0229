"""API keys from the command line: `python -m ops.keys create <owner> | list | revoke <key-id>`
(and `webhook-secret <owner> [--rotate]`, the owner's webhook signing secret).

`create` prints the new key on its last line (it is shown once; only its hash is stored).
Uses DATABASE_URL from the settings; the database must be migrated already.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import OperationalError

from core.settings import get_settings
from core.store.db import get_engine, session_scope
from core.store.keys import create_key, list_keys, revoke_key
from core.store.webhook_deliveries import webhook_secret
from core.webhook_signing import new_secret

MIGRATE = "python -m core.store.migrate"


class CliError(Exception):
    pass


def _check_schema(url: str) -> None:
    try:
        present = inspect(get_engine(url)).has_table("api_keys")
    except OperationalError as error:
        where = make_url(url).render_as_string(hide_password=True)
        raise CliError(f"cannot reach the database {where}: {error.orig}") from None
    if not present:
        raise CliError(f"the database has no tables yet; run `{MIGRATE}` first")


def _create(url: str, owner: str) -> None:
    with session_scope(url) as session:
        row, clear = create_key(session=session, owner_name=owner)
        key_id = row.id
    print(f"created key {key_id} for owner {owner!r}; it is shown only now:")
    print(clear)


def _list(url: str) -> None:
    with session_scope(url) as session:
        rows = list_keys(session=session)
        print(f"{'key id':36}  {'owner':20}  {'prefix':12}  {'created':19}  revoked")
        for key, owner in rows:
            revoked = f"{key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else "-"
            print(
                f"{key.id!s:36}  {owner.name:20}  {key.prefix:12}  "
                f"{key.created_at:%Y-%m-%d %H:%M:%S}  {revoked}"
            )


def _revoke(url: str, key_id: str) -> None:
    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise CliError(f"{key_id!r} is not a key id; `list` shows them") from None
    with session_scope(url) as session:
        if not revoke_key(session=session, key_id=parsed):
            raise CliError(f"no active key {parsed}")
    print(f"revoked key {parsed}")


def _webhook_secret(url: str, owner: str, *, rotate: bool) -> None:
    """Standard Webhooks form: receivers verify `webhook-signature` with it (issue 8)."""
    if not 0 < len(owner) <= 100:
        raise CliError("the owner's name must have 1 to 100 characters")
    with session_scope(url) as session:
        secret = webhook_secret(
            session=session, owner_name=owner, new_secret=new_secret(), rotate=rotate
        )
    print(f"webhook signing secret of owner {owner!r}{' (new)' if rotate else ''}:")
    print(secret)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="a new key for an owner (created if new)")
    create.add_argument("owner", help="the owner's name, at most 100 characters")
    commands.add_parser("list", help="every key, revoked ones included")
    revoke = commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", help="the key's id, as `list` shows it")
    secret = commands.add_parser(
        "webhook-secret",
        help="the owner's webhook signing secret (whsec_..., made if new), on the last line",
    )
    secret.add_argument("owner", help="the owner's name")
    secret.add_argument(
        "--rotate", action="store_true", help="replace it: deliveries from now on use the new one"
    )
    args = parser.parse_args(argv)
    url = get_settings().database_url
    try:
        _check_schema(url)
        if args.command == "create":
            if not 0 < len(args.owner) <= 100:
                raise CliError("the owner's name must have 1 to 100 characters")
            _create(url, args.owner)
        elif args.command == "list":
            _list(url)
        elif args.command == "webhook-secret":
            _webhook_secret(url, args.owner, rotate=args.rotate)
        else:
            _revoke(url, args.key_id)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
