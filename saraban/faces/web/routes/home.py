"""The start page: the office, the person, and what waits for them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from saraban.faces.web.deps import ActorDep, DbDep, render

router = APIRouter()


@router.get("/")
def home(request: Request, actor: ActorDep, db: DbDep) -> Response:
    from saraban.chain.inbox import waiting

    with db.reading() as s:
        count = waiting(s, actor.unit_id)
    return render(request, "home.html", waiting=count)
