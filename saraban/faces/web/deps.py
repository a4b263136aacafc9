"""What every route asks for: the settings, the database, the person logged in, and a page to render.

A route never decides who may act: it loads the thing, then asks :func:`authorise` (the core's one rule,
saraban.accounts.authority) with the office the thing belongs to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from saraban.accounts.authority import Actor, NotAllowed
from saraban.accounts.authority import authorise as core_authorise
from saraban.kernel.settings import Settings
from saraban.records.db import Database
from saraban.records.models import Unit, User


class LoginRequired(Exception):
    """No (valid) session: a page sends the browser to the login page, an act answers 401."""


# The dependencies that only read the app's state are coroutines: FastAPI runs a plain function in the
# thread pool, a hop that costs more than what they do.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


def optional_user(request: Request) -> User | None:
    """The account of the signed session, while it is enabled and its sessions have not been ended."""
    from saraban.accounts.users import session_user

    uid, version = request.session.get("uid"), request.session.get("sv")
    if not isinstance(uid, int) or not isinstance(version, int):
        return None
    user = session_user(request.app.state.db, uid, version)
    if user is None:
        request.session.clear()
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise LoginRequired()
    return user


async def current_actor(user: Annotated[User, Depends(current_user)]) -> Actor:
    from saraban.accounts.users import actor_of

    return actor_of(user)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
UserDep = Annotated[User, Depends(current_user)]
ActorDep = Annotated[Actor, Depends(current_actor)]
OptionalUserDep = Annotated["User | None", Depends(optional_user)]


async def form_data(request: Request) -> FormData:
    """The posted form (read once; the CSRF check has read it already)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]
# A page number of a list (1 and below: the first); beyond any list there can be: refused before the database.
PageNumber = Annotated[int, Query(le=1_000_000)]


def authorise(actor: Actor, act: str, office_id: int | None, *, assigned: bool = False) -> None:
    """The core's rule (raises NotAllowed: 404 for another office's thing, 403 for a role that may not)."""
    core_authorise(actor, act, office_id, assigned=assigned)


def office_of(db: Database, actor: Actor) -> Unit:
    with db.reading() as s:
        unit = s.get(Unit, actor.unit_id)
    if unit is None:  # the account's office was removed from the directory
        raise NotAllowed("ไม่พบหน่วยงานของบัญชีนี้ / the account's office is not in the directory", not_found=True)
    return unit


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page of the web face's templates, with the person, their office and the CSRF token."""
    from saraban.faces.web.pages import templates
    from saraban.faces.web.security import csrf_token

    user = getattr(request.state, "user", None)
    office = None
    if user is not None:
        with request.app.state.db.reading() as s:
            office = s.get(Unit, user.unit_id)
    context.setdefault("user", user)
    context.setdefault("office", office)
    context["csrf"] = csrf_token(request)
    return templates.TemplateResponse(request, template, context, status_code=status_code)
