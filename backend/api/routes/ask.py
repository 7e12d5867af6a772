"""Questions in plain language, answered by computation (`backend.ask`)."""

from pathlib import Path

from fastapi import APIRouter

from backend.api.deps import Reader, SessionDep, SettingsDep
from backend.ask import AskOptions, ask
from backend.crud import workspaces
from backend.schemas.ask import AskRequest
from metrics.questions.intent import Answer

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=Answer)
def ask_question(body: AskRequest, session: SessionDep, settings: SettingsDep, _: Reader) -> Answer:
    """Answer a question over a workspace's records (or a reconciliation output's findings): the numbers,
    the question as interpreted, the query that ran with its parameters, and every assumption. A question
    outside what is supported is answered ``answered: false`` with the closest supported questions and no
    number; a ``context`` naming what the workspace does not have is 422."""
    options = AskOptions.from_settings(settings)
    if body.workspace_id is not None:
        # a registered workspace is read where it was registered (checked then), as series and what-if do
        source = Path(workspaces.get(session, body.workspace_id).path)
        session.close()
        return ask(source, body.question, body.context, options)
    session.close()
    # a folder the request names: only one the server may read
    return ask(Path(body.reconciliation_dir or ""), body.question, body.context, options, guard=settings.path_guard())
