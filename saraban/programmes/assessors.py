"""Who assesses a programme: assessors (role ``assessor``) of the owner's office, appointed to programmes one by
one; an assessor sees and scores only the programmes they are appointed to (saraban.accounts.authority)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from saraban.kernel.clock import at_or_now
from saraban.programmes.applications import get_programme
from saraban.programmes.definitions import ProgrammeError
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Programme, ProgrammeAssessor, Unit, User


def _assessor(session: Session, username: str, programme: Programme) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise ProgrammeError(f"ไม่พบผู้ใช้ {username} / no user '{username}'")
    if user.role != "assessor" or user.unit_id != programme.owner_unit_id:
        owner = session.get(Unit, programme.owner_unit_id)
        raise ProgrammeError(f"{username} ไม่ใช่ผู้ประเมินของ{owner.name} / '{username}' is not an assessor "
                             f"(role assessor) of the programme's owner, {owner.key}")
    return user


def appoint_assessor(db: Database, programme_key: str, username: str, *, actor: str = "saraban",
                     at: datetime | None = None) -> bool:
    """Appoint an assessor of the owner's office to the programme; False when already appointed."""
    at = at_or_now(at)
    with db.transaction() as s:
        programme = get_programme(s, programme_key)
        user = _assessor(s, username, programme)
        if is_appointed(s, programme.id, user.id):
            return False
        s.add(ProgrammeAssessor(programme_id=programme.id, user_id=user.id, appointed_by=actor, at=at))
        record_event(s, "programme.assessor_appointed", actor=actor, at=at, unit_id=programme.owner_unit_id,
                     office_id=programme.owner_unit_id, data={"programme": programme.key, "user": user.username})
        return True


def remove_assessor(db: Database, programme_key: str, username: str, *, actor: str = "saraban",
                    at: datetime | None = None) -> bool:
    """End an appointment; False when there was none."""
    at = at_or_now(at)
    with db.transaction() as s:
        programme = get_programme(s, programme_key)
        user = s.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            return False
        gone = s.execute(delete(ProgrammeAssessor).where(ProgrammeAssessor.programme_id == programme.id,
                                                         ProgrammeAssessor.user_id == user.id)).rowcount
        if gone:
            record_event(s, "programme.assessor_removed", actor=actor, at=at, unit_id=programme.owner_unit_id,
                         office_id=programme.owner_unit_id, data={"programme": programme.key, "user": user.username})
        return bool(gone)


def is_appointed(session: Session, programme_id: int, user_id: int) -> bool:
    return session.scalar(select(ProgrammeAssessor.id).where(ProgrammeAssessor.programme_id == programme_id,
                                                             ProgrammeAssessor.user_id == user_id)) is not None


def appointed_programme_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(ProgrammeAssessor.programme_id).where(ProgrammeAssessor.user_id == user_id)))


def assessors_of(session: Session, programme_id: int) -> list[User]:
    return list(session.scalars(select(User).join(ProgrammeAssessor, ProgrammeAssessor.user_id == User.id)
                                .where(ProgrammeAssessor.programme_id == programme_id).order_by(User.username)))
