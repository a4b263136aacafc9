"""The start page: the office, the person, and what waits for them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from saraban.faces.web.deps import ActorDep, DbDep, render
from saraban.records.models import Delivery

router = APIRouter()


@router.get("/")
def home(request: Request, actor: ActorDep, db: DbDep) -> Response:
    with db.reading() as s:
        waiting = s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.unit_id == actor.unit_id, Delivery.received_at.is_(None))) or 0
    return render(request, "home.html", waiting=waiting)
