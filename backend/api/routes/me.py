"""Who the token belongs to and what its role may do."""

from fastapi import APIRouter

from backend.api.deps import CurrentUser
from backend.schemas.token import Me

router = APIRouter(tags=["me"])

PERMISSIONS = {
    "engineer": ["read", "write", "approve", "run_detection", "post_incidents", "post_signals", "admin"],
    "pm": ["read"],
    "job": ["run_detection", "post_incidents", "post_signals"],
}


@router.get("/me", response_model=Me)
def read_me(actor: CurrentUser) -> dict:
    """The caller's token: name, role and what the role may do."""
    return {"name": actor.name, "role": actor.role, "token_id": actor.token_id, "permissions": PERMISSIONS[actor.role]}
