"""The tracking link of a copy (``/t/<token>``, the QR code printed on it): the page anyone scanning it sees.

It shows that the letter is genuine and to whom this copy went, nothing confidential; a clerk of that
office, logged in, gets the ลงรับ button right there. A token that is not ours (tampered, made up, signed
with another key, unknown) gets a plain refusal, checked before the database is asked.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from saraban.faces.web.deps import DbDep, OptionalUserDep, SettingsDep, render

router = APIRouter()

REFUSED = "ไม่พบหนังสือตามรหัสนี้ / this code is not one of ours"


@router.get("/t/{token}")
def tracking_page(request: Request, token: str, db: DbDep, settings: SettingsDep, user: OptionalUserDep) -> Response:
    from saraban.accounts.authority import may
    from saraban.accounts.users import actor_of
    from saraban.chain.tracking import note_opened, secret_key, tracked_copy

    copy = tracked_copy(db, token, secret_key(settings))
    if copy is None:
        return render(request, "tracking/refused.html", status_code=404, message=REFUSED)
    actor = actor_of(user) if user is not None else None
    # The addressed office's own people: its first opening is recorded (once); its clerks may ลงรับ here.
    own = actor is not None and may(actor, "read_assigned", copy.unit_id, assigned=_assigned(db, actor, copy))
    if own and copy.opened_at is None:
        note_opened(db, copy.delivery_id, actor=actor.username)
    may_receive = actor is not None and may(actor, "receive", copy.unit_id) and not copy.cancelled
    return render(request, "tracking/copy.html", copy=copy, token=token, own=own, may_receive=may_receive,
                  **_application_link(db, copy, token, actor))


def _application_link(db, copy, token: str, actor) -> dict:
    """A programme's invitation copy leads its unit's people to the application (a person not logged in: to
    the login first, then to it); anyone else sees the public facts only."""
    from urllib.parse import quote, urlencode

    from saraban.accounts.authority import may
    from saraban.programmes.applicant import invited_programme

    if copy.cancelled or (actor is not None and not may(actor, "apply", copy.unit_id)):
        return {}
    with db.reading() as s:
        programme = invited_programme(s, copy.letter_id)
        if programme is None:
            return {}
        url = f"/apply/{programme.key}?{urlencode({'t': token})}"
        name = programme.name
    return {"apply_url": url if actor is not None else f"/login?next={quote(url)}", "programme_name": name}


def _assigned(db, actor, copy) -> bool:
    """Staff count as the office's own people for a copy only when it is assigned to them."""
    if actor.role != "staff":
        return True
    from saraban.accounts.assignments import is_assigned

    with db.reading() as s:
        return is_assigned(s, copy.delivery_id, actor.user_id)
