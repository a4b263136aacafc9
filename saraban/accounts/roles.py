"""The roles of an office's people and the acts each may do (the one table of authority).

- สารบรรณ (``clerk``): receives, forwards, writes and issues the office's letters;
- หัวหน้า/ผู้บริหาร (``head``): sees everything of the office, approves what is issued (and may act as a clerk);
- เจ้าหน้าที่ (``staff``): reads the letters assigned to them;
- ผู้ดูแลระบบ (``admin``): the office's accounts and its directory entry (contact, printed names, letter code);
- ผู้ประเมิน (``assessor``): of a programme owner's office, scores the applications of the programmes they are
  appointed to (and sees those programmes only).

A local administration's clerks and heads apply to programmes for their own unit; a programme owner's clerks
and heads watch its dashboard; its heads announce the results.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "clerk": "สารบรรณ",
    "head": "หัวหน้า/ผู้บริหาร",
    "staff": "เจ้าหน้าที่",
    "admin": "ผู้ดูแลระบบ",
    "assessor": "ผู้ประเมิน",
}
# Thai names a clerk may type for a role (saraban user add --role สารบรรณ).
ROLE_ALIASES: dict[str, str] = {**{k: k for k in ROLES}, "สารบรรณ": "clerk", "หัวหน้า": "head", "ผู้บริหาร": "head",
                                "หัวหน้า/ผู้บริหาร": "head", "เจ้าหน้าที่": "staff", "ผู้ดูแลระบบ": "admin",
                                "ผู้ประเมิน": "assessor"}

# act → the roles that may do it, within their own office only (saraban.accounts.authority).
ACTS: dict[str, frozenset[str]] = {
    "read": frozenset({"clerk", "head"}),  # the office's inbox, sent letters, registers, follow pages, drafts
    "read_assigned": frozenset({"clerk", "head", "staff"}),  # one delivery: staff only when assigned to them
    "receive": frozenset({"clerk", "head"}),
    "forward": frozenset({"clerk", "head"}),
    "write": frozenset({"clerk", "head"}),  # drafts: write, change, preview
    "approve": frozenset({"head"}),
    "issue": frozenset({"clerk", "head"}),  # number an approved draft and send it
    "assign": frozenset({"clerk", "head"}),
    "remind": frozenset({"clerk", "head"}),
    "manage_users": frozenset({"admin"}),
    "manage_office": frozenset({"admin"}),  # the office's own directory entry: contact, printed names, letter code
    "apply": frozenset({"clerk", "head"}),  # the unit's application to a programme, its evidence, its letters
    "watch": frozenset({"clerk", "head", "assessor"}),  # a programme's dashboard and reports (the owner's office)
    "assess": frozenset({"assessor"}),  # score an application of a programme one is appointed to
    "announce": frozenset({"head"}),  # issue the programme's results: the announcement and the result letters
}
# Acts an assessor may do only for the programmes they are appointed to (``assigned`` in authority.may).
APPOINTED_ACTS = frozenset({"watch", "assess"})


class UnknownRole(ValueError):
    pass


def resolve_role(text: str) -> str:
    """``clerk`` for ``clerk`` or ``สารบรรณ``; an unknown role raises :class:`UnknownRole` naming the choices."""
    role = ROLE_ALIASES.get(text.strip())
    if role is None:
        choices = ", ".join(f"{k} ({v})" for k, v in ROLES.items())
        raise UnknownRole(f"ไม่รู้จักบทบาท '{text}' ใช้ได้: {choices} / unknown role '{text}'; one of: {choices}")
    return role
