"""The office's accounts, for its administrator (ผู้ดูแลระบบ): list, add, disable, reset a password.

The same core as ``saraban user`` (saraban.accounts.users); an administrator manages only the accounts of
their own office (another office's account: 404). A new or reset password is shown once, on the answer
to the request that made it, and never again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from saraban.accounts.authority import Actor
from saraban.faces.web.deps import ActorDep, DbDep, authorise, office_of, render
from saraban.records.db import Database
from saraban.records.models import User

router = APIRouter()


def _page(request: Request, db: Database, actor: Actor, status_code: int = 200, **context) -> Response:
    from saraban.accounts.users import office_users
    from saraban.kernel.clock import now

    authorise(actor, "manage_users", actor.unit_id)
    with db.reading() as s:
        users = office_users(s, actor.unit_id)
    context.setdefault("form", {"username": "", "display_name": "", "role": "clerk", "email": ""})
    return render(request, "users/list.html", status_code=status_code, users=users, now=now(), **context)


def _office_user(db: Database, actor: Actor, user_id: int) -> User:
    """The account, when it is of the actor's office and the actor manages its accounts (else 404/403)."""
    with db.reading() as s:
        user = s.get(User, user_id)
    authorise(actor, "manage_users", user.unit_id if user else None)
    return user


@router.get("/users")
def users_page(request: Request, actor: ActorDep, db: DbDep) -> Response:
    return _page(request, db, actor)


@router.post("/users")
def add_user_form(request: Request, actor: ActorDep, db: DbDep, username: Annotated[str, Form()] = "",
                  display_name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
                  email: Annotated[str, Form()] = "") -> Response:
    from saraban.accounts.users import AccountError, NewUser, add_user

    authorise(actor, "manage_users", actor.unit_id)
    office = office_of(db, actor)
    form = {"username": username, "display_name": display_name, "role": role, "email": email}
    try:
        user, password = add_user(db, NewUser(username=username, display_name=display_name, unit=office.key,
                                              role=role, email=email.strip() or None), actor=actor.username)
    except AccountError as e:
        return _page(request, db, actor, status_code=422, error=str(e), form=form)
    return _page(request, db, actor, done=f"เพิ่มผู้ใช้ {user.username} แล้ว / added {user.username}",
                 password_for=user.username, password=password)


@router.post("/users/{user_id}/disable")
def disable(user_id: int, actor: ActorDep, db: DbDep) -> Response:
    from saraban.accounts.users import disable_user

    user = _office_user(db, actor, user_id)
    if user.id == actor.user_id:
        from fastapi import HTTPException

        raise HTTPException(409, "ปิดบัญชีของตนเองไม่ได้ / you cannot disable your own account")
    disable_user(db, user.username, actor=actor.username)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/reset-password")
def reset(request: Request, user_id: int, actor: ActorDep, db: DbDep) -> Response:
    from saraban.accounts.users import reset_password

    user = _office_user(db, actor, user_id)
    password = reset_password(db, user.username, actor=actor.username)
    return _page(request, db, actor, done=f"ตั้งรหัสผ่านใหม่ของ {user.username} แล้ว / new password for {user.username}",
                 password_for=user.username, password=password)
