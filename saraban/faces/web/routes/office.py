"""The office's own entry in the directory (ทำเนียบ), kept by its administrator: the contact printed on
letters and listed to those who follow them, the printed names, the letter code (รหัสหนังสือ).
The same checks and the same event (``unit.changed``, before → after) as ``saraban directory set``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from saraban.faces.web.deps import ActorDep, DbDep, authorise, office_of, render

router = APIRouter()

FIELDS = {  # field: Thai label
    "sender_name": "ชื่อส่วนราชการที่พิมพ์ในหนังสือ (ผู้ส่ง)",
    "short_name": "ชื่อย่อ",
    "letter_code": "รหัสหนังสือ (เช่น กบ 0023.6)",
    "phone": "โทรศัพท์",
    "email": "อีเมล",
    "address": "ที่อยู่",
}


@router.get("/office")
def office_page(request: Request, actor: ActorDep, db: DbDep) -> Response:
    authorise(actor, "manage_office", actor.unit_id)
    office = office_of(db, actor)
    form = {k: getattr(office, k) or "" for k in FIELDS}
    return render(request, "office/edit.html", fields=FIELDS, form=form, error=None, done=None)


@router.post("/office")
async def change_office(request: Request, actor: ActorDep, db: DbDep) -> Response:
    from saraban.directory.imports import update_unit
    from saraban.directory.levels import DirectoryError

    authorise(actor, "manage_office", actor.unit_id)
    office = office_of(db, actor)
    posted = await request.form()
    current = {k: getattr(office, k) or "" for k in FIELDS}
    form = current | {k: str(posted[k]).strip() for k in FIELDS if k in posted}  # a field not sent is kept
    changes = {k: v for k, v in form.items() if v != current[k]}
    if changes:
        try:
            with db.transaction() as s:
                update_unit(s, office.key, actor=actor.username, **changes)
        except DirectoryError as e:
            return render(request, "office/edit.html", status_code=422, fields=FIELDS, form=form, error=str(e),
                          done=None)
    return RedirectResponse("/office?saved=1" if changes else "/office", status_code=303)
