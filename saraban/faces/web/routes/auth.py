"""Log in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from saraban.faces.web.deps import DbDep, OptionalUserDep, render
from saraban.faces.web.security import client_address, safe_path

router = APIRouter()


@router.get("/login")
def login_page(request: Request, user: OptionalUserDep, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_path(next), status_code=303)
    return render(request, "login.html", next=safe_path(next), username="", message=None)


@router.post("/login")
def login(request: Request, db: DbDep, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    from saraban.accounts.users import LoginRefused, authenticate

    try:
        user = authenticate(db, username, password, address=client_address(request))
    except LoginRefused as e:
        status = 429 if e.throttled else 401
        return render(request, "login.html", status_code=status, next=safe_path(next), username=username,
                      message=str(e))
    csrf = request.session.get("csrf")
    request.session.clear()
    request.session.update({"uid": user.id, "sv": user.session_version})
    if csrf:
        request.session["csrf"] = csrf
    return RedirectResponse(safe_path(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep, user: OptionalUserDep) -> Response:
    """Log out: the session ends on the server too (the account's session version moves on, so a copy of
    the cookie opens nothing any more; the person's sessions on other devices end with it)."""
    from sqlalchemy import update

    from saraban.kernel.clock import now
    from saraban.records.events import record_event
    from saraban.records.models import User

    if user is not None:
        with db.transaction() as s:
            s.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
            record_event(s, "account.logout", actor=user.username, at=now(), unit_id=user.unit_id,
                         office_id=user.unit_id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
