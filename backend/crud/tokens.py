"""API tokens: issue (the secret is returned once), authenticate by keyed hash, list, revoke."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.actors import ROLES, Actor
from backend.crud import audit
from backend.errors import Invalid, NotFound
from backend.models import ApiToken, utcnow

TOKEN_PREFIX = "cxw_"


def hash_token(secret_key: str, token: str) -> str:
    """HMAC-SHA256 of the token under the server secret: high-entropy tokens need no slow hash."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def public(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name, "role": token.role, "prefix": token.prefix,
            "created_by": token.created_by, "created_at": token.created_at, "revoked_at": token.revoked_at}


def check_name(name: str) -> None:
    """A token name is plain text: at most 200 characters, no control or invisible formatting characters
    (NUL, newlines, bidi overrides such as U+202E, zero-width characters) that would disguise it in lists
    and the audit trail."""
    if len(name) > 200:
        raise Invalid(f"token name: {len(name)} characters, at most 200")
    for i, ch in enumerate(name):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise Invalid(f"token name: character U+{ord(ch):04X} at position {i + 1} is a control or invisible "
                          "character; use plain text")


def create(session: Session, secret_key: str, role: str, name: str, actor: Actor) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the secret (which is not stored)."""
    if role not in ROLES:
        raise Invalid(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip():
        raise Invalid("a token needs a name")
    check_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name.strip(), role=role, token_hash=hash_token(secret_key, secret),
                     prefix=secret[:10], created_by=actor.name)
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", "token", token.id, None, public(token))
    return token, secret


def authenticate(session: Session, secret_key: str, secret: str) -> ApiToken | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret_key, secret),
                                                    ApiToken.revoked_at.is_(None)))


def list_tokens(session: Session, limit: int = 50, offset: int = 0) -> tuple[list[ApiToken], int]:
    count = session.scalar(sa.select(sa.func.count()).select_from(ApiToken))
    rows = session.scalars(sa.select(ApiToken).order_by(ApiToken.id).limit(limit).offset(offset)).all()
    return list(rows), count


def revoke(session: Session, token_id: int, actor: Actor) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        before = public(token)
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "token", token.id, before, public(token))
    return token
