"""Owners and their API keys. Keys are shown once, stored as sha256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.tables import ApiKey, Owner
from core.store.types import utcnow

KEY_TAG = "crs_"  # makes a leaked key easy to recognise in logs and secret scanners
PREFIX_LEN = 12  # characters stored in clear, enough to find the row


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def get_or_create_owner(*, session: Session, name: str) -> Owner:
    owner = session.scalar(select(Owner).where(Owner.name == name))
    if owner is None:
        owner = Owner(name=name)
        session.add(owner)
        session.flush()
    return owner


def create_key(*, session: Session, owner_name: str) -> tuple[ApiKey, str]:
    """Create a key for the owner (creating the owner too); returns the row and the clear key."""
    owner = get_or_create_owner(session=session, name=owner_name)
    clear = KEY_TAG + secrets.token_urlsafe(32)
    row = ApiKey(owner_id=owner.id, prefix=clear[:PREFIX_LEN], key_hash=_digest(clear))
    session.add(row)
    session.flush()
    return row, clear


def authenticate(*, session: Session, key: str) -> Owner | None:
    """The owner of a valid, unrevoked key, or None."""
    digest = _digest(key)
    rows = session.scalars(
        select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LEN], ApiKey.revoked_at.is_(None))
    ).all()
    for row in rows:
        if hmac.compare_digest(row.key_hash, digest):
            return session.get(Owner, row.owner_id)
    return None


def list_keys(*, session: Session) -> list[tuple[ApiKey, Owner]]:
    rows = session.execute(
        select(ApiKey, Owner).join(Owner, ApiKey.owner_id == Owner.id).order_by(ApiKey.created_at)
    ).all()
    return [(key, owner) for key, owner in rows]


def revoke_key(*, session: Session, key_id: uuid.UUID) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True
