"""API tokens: issue (secret shown once), list, revoke."""

from fastapi import APIRouter, Request, status

from backend.api.deps import Engineer, Id, PageDep, SessionDep, SettingsDep
from backend.crud import tokens
from backend.schemas.common import Page
from backend.schemas.token import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=Page[TokenPublic])
def list_tokens(session: SessionDep, _: Engineer, page: PageDep) -> dict:
    """API tokens (never their secrets)."""
    rows, count = tokens.list_tokens(session, page.limit, page.offset)
    return {"data": [tokens.public(t) for t in rows], "count": count}


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, settings: SettingsDep, actor: Engineer) -> dict:
    """Issue a token; the secret is in this response only (audited)."""
    token, secret = tokens.create(session, settings.secret_key, body.role, body.name, actor)
    session.commit()
    return {**tokens.public(token), "token": secret}


@router.delete("/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: Id, request: Request, session: SessionDep, actor: Engineer) -> dict:
    """Revoke a token (it stays listed, with ``revoked_at``)."""
    token = tokens.revoke(session, token_id, actor)
    session.commit()
    request.app.state.token_cache.clear()
    return tokens.public(token)
