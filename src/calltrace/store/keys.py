"""API keys: made here, stored hashed, looked up by hash.

A key is ``ct_`` and 43 URL-safe characters of ``secrets.token_urlsafe(32)``: 256 random
bits. Only its SHA-256 is stored. A fast unsalted hash is enough *for random keys*: a
salt and a slow hash (bcrypt, argon2) exist to stop dictionary and brute-force guessing
of low-entropy passwords, and no one can enumerate 2^256 candidates, while a slow hash
would cost milliseconds on every request. The first 10 characters (``prefix``) are kept
in clear so a key can be recognised in ``calltrace keys list`` and revoked by it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import sqlalchemy as sa

from calltrace.store import schema
from calltrace.store.acm import audit

#: Roles, least to most powerful: each role may do what the ones before it may.
ROLES = ("viewer", "analyst", "admin")
PREFIX_LEN = 10


def new_key() -> str:
    """A fresh random key."""
    return "ct_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key.

    >>> hash_key("ct_example")[:16]
    'dbb8bc583dbbcc5d'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    conn: sa.Connection, *, name: str, role: str, at: float, actor: str = "cli"
) -> tuple[str, dict[str, Any]]:
    """Store a new key (with its audit record); return the key (shown once) and its row."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = new_key()
    row = {
        "name": name,
        "role": role,
        "key_hash": hash_key(key),
        "prefix": key[:PREFIX_LEN],
        "created_at": at,
        "revoked_at": None,
    }
    inserted = conn.execute(schema.api_keys.insert().values(**row)).inserted_primary_key
    row["id"] = None if inserted is None else inserted[0]
    audit(conn, at=at, actor=actor, action="key.create", target=f"key:{row['id']}",
          detail={"name": name, "role": role, "prefix": row["prefix"]})  # fmt: skip
    return key, row


def list_keys(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every key (hash left out), oldest first."""
    keys = schema.api_keys
    columns = [c for c in keys.columns if c.name != "key_hash"]
    return [dict(r) for r in conn.execute(sa.select(*columns).order_by(keys.c.id)).mappings()]


def revoke_key(conn: sa.Connection, ident: str, *, at: float, actor: str = "cli") -> int:
    """Revoke the live keys whose id, name or prefix is ``ident``; return how many."""
    keys = schema.api_keys
    match = sa.or_(keys.c.name == ident, keys.c.prefix == ident)
    if ident.isdigit():
        match = sa.or_(match, keys.c.id == int(ident))
    query = sa.select(keys.c.id).where(match, keys.c.revoked_at.is_(None))
    ids = list(conn.execute(query).scalars())
    if ids:
        conn.execute(keys.update().where(keys.c.id.in_(ids)).values(revoked_at=at))
        for key_id in ids:
            audit(conn, at=at, actor=actor, action="key.revoke", target=f"key:{key_id}",
                  detail={"ident": ident})  # fmt: skip
    return len(ids)


def find_key(conn: sa.Connection, key_hash: str) -> dict[str, Any] | None:
    """The live (not revoked) key with this hash, or None."""
    keys = schema.api_keys
    row = (
        conn.execute(
            sa.select(keys.c.id, keys.c.name, keys.c.role, keys.c.prefix).where(
                keys.c.key_hash == key_hash, keys.c.revoked_at.is_(None)
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
