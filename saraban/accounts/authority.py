"""Who may do what: the one function every face asks (``authorise``), and the scope of a person's reading.

A person acts only for their own office. Asking about another office's thing answers *not found* (the
web says 404 and never confirms that the thing exists); asking for an act one's role does not have
answers *forbidden* (403). A disabled account may do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from saraban.accounts.roles import ACTS, APPOINTED_ACTS, ROLES


class NotAllowed(PermissionError):
    """``not_found``: the thing is another office's (or does not exist); else the role may not do the act."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class Actor:
    """The person acting, as the faces know them after login."""

    user_id: int
    username: str
    unit_id: int
    role: str
    disabled: bool = False


def may(actor: Actor, act: str, office_id: int | None, *, assigned: bool = False) -> bool:
    """Whether ``actor`` may do ``act`` for the office ``office_id`` (``assigned``: the delivery is assigned to
    them, which is what lets staff read it; for an assessor, they are appointed to the programme)."""
    if act not in ACTS:
        raise ValueError(f"unknown act {act!r}")
    if actor.disabled or office_id is None or actor.unit_id != office_id:
        return False
    if act == "read_assigned" and actor.role == "staff":
        return assigned
    if act in APPOINTED_ACTS and actor.role == "assessor":
        return assigned
    return actor.role in ACTS[act]


def authorise(actor: Actor, act: str, office_id: int | None, *, assigned: bool = False) -> None:
    """Raise :class:`NotAllowed` unless ``actor`` may do ``act`` for ``office_id`` (see :func:`may`)."""
    if may(actor, act, office_id, assigned=assigned):
        return
    unseen = act == "read_assigned" or (act in APPOINTED_ACTS and actor.role == "assessor")
    if actor.disabled or office_id is None or actor.unit_id != office_id or (unseen and not assigned):
        raise NotAllowed("ไม่พบ / not found", not_found=True)
    role = ROLES.get(actor.role, actor.role)
    raise NotAllowed(f"บทบาท {role} ทำรายการนี้ไม่ได้ / the role {actor.role} may not do this ({act})")
