"""`python -m gateway.keys`: issue, revoke and list the gateway's API keys.

    python -m gateway.keys create --owner alice [--admin] [--role ROLE ...]
    python -m gateway.keys revoke <key_id>
    python -m gateway.keys list

The store is the SQLite file in GATEWAY_KEYS_DB (default ./.data/gateway/keys.db) or
`--db`. `create` prints the key — the only time it is ever shown — alone on stdout, so
`KEY=$(python -m gateway.keys create --owner ci)` captures it; the key id and owner go
to stderr. Rotation: create a new key for the owner, hand it over, revoke the old id.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from gateway.auth.api_keys import KeyStore

DEFAULT_DB = Path(".data/gateway/keys.db")


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description="API keys")
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("GATEWAY_KEYS_DB", str(DEFAULT_DB))),
        help="key store (default: $GATEWAY_KEYS_DB or ./.data/gateway/keys.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="issue a key; prints it once")
    create.add_argument("--owner", required=True, help="who the key belongs to (logged)")
    create.add_argument("--admin", action="store_true", help="grant the admin role")
    create.add_argument("--role", action="append", default=[], help="another role (repeatable)")
    revoke = commands.add_parser("revoke", help="revoke a key by id (effective at once)")
    revoke.add_argument("key_id")
    commands.add_parser("list", help="key ids, owners, roles and dates (never secrets)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = KeyStore(args.db)
    if args.command == "create":
        roles = frozenset(args.role) | ({"admin"} if args.admin else set())
        issued = store.create(args.owner, roles=roles)
        print(issued.key)
        print(
            f"created key {issued.record.key_id} for {issued.record.owner} "
            f"(roles: {', '.join(sorted(roles)) or 'none'}); store it now, it is not kept",
            file=sys.stderr,
        )
        return 0
    if args.command == "revoke":
        if store.revoke(args.key_id):
            print(f"revoked key {args.key_id}", file=sys.stderr)
            return 0
        print(f"no live key {args.key_id}", file=sys.stderr)
        return 1
    for record in store.list():
        roles = ",".join(sorted(record.roles)) or "-"
        print(
            f"{record.key_id}\t{record.owner}\t{roles}\t"
            f"created {_when(record.created_at)}\trevoked {_when(record.revoked_at)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
