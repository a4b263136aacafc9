"""How the addressees of a circular are written, and what a forwarding letter says (field-examples §1.3 →
§1.4 → §1.5). Who receives it at each level is the chain's rule: saraban.chain.expectations."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saraban.directory.levels import LOCAL_LEVELS
from saraban.kernel.settings import Settings
from saraban.kernel.wording import wording_parts
from saraban.records.models import Unit
from thai_text import RefNo, format_thai_date


def _level_count(session: Session, level: str, **where: Any) -> int:
    query = select(func.count()).select_from(Unit).where(Unit.level == level)
    for column, value in where.items():
        query = query.where(getattr(Unit, column) == value)
    return session.scalar(query) or 0


def describe_recipients(session: Session, units: Sequence[Unit]) -> str:
    """The addressee line, as a clerk writes it: "ที่ว่าการอำเภอ ทุกอำเภอ ที่ทำการองค์การบริหารส่วนจังหวัด
    กระบี่ และสำนักงานเทศบาลเมืองกระบี่"; whole groups are named as "ทุกจังหวัด", "ทุกอำเภอ", "ทุกแห่ง"."""
    by_level: dict[str, list[Unit]] = {}
    for u in units:
        by_level.setdefault(u.level, []).append(u)
    parts: list[str] = []
    offices = by_level.pop("province_office", [])
    if offices:
        if len(offices) == _level_count(session, "province_office") and len(offices) > 1:
            parts.append("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด ทุกจังหวัด")
        else:
            parts += [u.name for u in offices]
    districts = by_level.pop("district_office", [])
    if districts:
        provinces = {u.province_code for u in districts}
        whole = len(provinces) == 1 and len(districts) == _level_count(
            session, "district_office", province_code=districts[0].province_code)
        parts += ["ที่ว่าการอำเภอ ทุกอำเภอ"] if whole and len(districts) > 1 else [u.name for u in districts]
    parts += [f"ที่ทำการ{u.name}" for u in by_level.pop("pao", [])]
    for level in ("city_municipality", "town_municipality"):
        parts += [f"สำนักงาน{u.name}" for u in by_level.pop(level, [])]
    rest = [u for level in sorted(by_level) for u in by_level[level]]
    if rest:
        parents = {u.parent_id for u in rest}
        parent = session.get(Unit, next(iter(parents))) if len(parents) == 1 else None
        if parent is not None and parent.level == "district_office" and len(rest) > 2:
            parts.append(f"องค์กรปกครองส่วนท้องถิ่นในเขต{parent.printed_sender} ทุกแห่ง")
        else:
            parts += [u.name for u in rest]
    if len(parts) > 1:
        parts[-1] = "และ" + parts[-1]
    return " ".join(parts)


# Who, among a forwarding letter's addressees, tells the local administrations of their area (§1.4:
# "สำหรับอำเภอให้แจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบต่อไป").
PASS_ON_NAMES = {"province_office": "จังหวัด", "district_office": "อำเภอ"}
FORWARD_WORDING = "forward/letter"


def restated_matter(first_paragraph: str, sender: str) -> str:
    """The matter of a received letter as a forwarding letter restates it after "ว่า": its first paragraph
    without its own opening "ด้วย<sender>" (and the sender's ministry written after its name); "" when the
    paragraph does not open with "ด้วย" (a "ตามที่ ..." refers to what came before and is not restated).

    >>> restated_matter("ด้วยกรมส่งเสริมการปกครองท้องถิ่นได้รับแจ้งจากโครงการ ก ว่า ...", "กรมส่งเสริมการปกครองท้องถิ่น")
    'ได้รับแจ้งจากโครงการ ก ว่า ...'
    >>> restated_matter("ด้วยกรมส่งเสริมคุณภาพสิ่งแวดล้อม กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม ได้ดำเนินโครงการ",
    ...                 "กรมส่งเสริมคุณภาพสิ่งแวดล้อม")
    'ได้ดำเนินโครงการ'
    >>> restated_matter("ตามที่จังหวัดได้แจ้ง ...", "จังหวัดกระบี่")
    ''
    """
    text = " ".join(first_paragraph.split())
    if not text.startswith("ด้วย"):
        return ""
    rest = text.removeprefix("ด้วย").lstrip()
    if sender and rest.startswith(sender):
        rest = rest.removeprefix(sender).lstrip()
        if rest.startswith("กระทรวง") and " " in rest:  # "ด้วยกรม... กระทรวง... ได้...": the sender's ministry
            rest = rest.split(" ", 1)[1].lstrip()
    return rest


def owner_block(session: Session, unit: Unit) -> dict[str, str]:
    """The owner block (ส่วนราชการเจ้าของเรื่อง, โทร, e-mail) of a unit's own letter, from the directory: the
    office and, on the next line, its working group (กลุ่มงาน) — its only child of level ``group``, or of
    several the one whose letter code is the office's (the ".6" of กบ ๐๐๒๓.๖) — with the group's phone and
    e-mail, else the office's. A group that writes its own letters is named under its division (กอง)."""
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    if unit.level == "group" and parent is not None and parent.level == "division":
        return owner_of(unit, parent, [])
    return owner_of(unit, parent, session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.level == "group")
                                                  .order_by(Unit.key)).all())


def owner_of(unit: Unit, parent: Unit | None, groups: Sequence[Unit]) -> dict[str, str]:
    """:func:`owner_block` of a unit whose parent and children of level ``group`` (sorted by key) are read
    already (saraban.chain.expectations.next_hop reads them with the rest of a forwarding's directory)."""
    lines, contact = [unit.name], unit
    if unit.level == "group" and parent is not None and parent.level == "division":
        lines = [parent.name, unit.name]
    else:
        own = [g for g in groups if g.letter_code and g.letter_code == unit.letter_code]
        group = own[0] if own else groups[0] if len(groups) == 1 else None
        if group is not None:
            lines.append(group.name)
            contact = group
    owner = {"unit": "\n".join(lines)}
    if phone := contact.phone or unit.phone:
        owner["phone"] = phone
    if email := contact.email or unit.email:
        owner["email"] = email
    return owner


def forward_spec(settings: Settings, upstream: dict[str, Any], *, upstream_sender: str, upstream_ref: RefNo,
                 upstream_date: date, unit: Unit, owner: dict[str, str], to: str, letter_date: date,
                 levels: Collection[str], subject: str | None = None,
                 body: Sequence[str] | None = None) -> dict[str, Any]:
    """The spec of a unit's own circular that carries a received one on (field-examples §1.4), worded by
    the template ``wording/forward/letter.txt.j2``: "ด้วย<unit>ได้รับแจ้งจาก<upstream> ตามหนังสือที่ …
    ลงวันที่ … ว่า <the matter restated>", what the addressees (``levels``: theirs) are asked to do, with the
    same handbook QR codes and enclosures; ``owner``: the unit's owner block (:func:`owner_block`).
    ``subject`` and ``body``: the text as the clerk edited it (the web form starts from this one), used as
    given; the spec's validation judges it."""
    has_qr = bool(upstream.get("qr"))
    first = next(iter(upstream.get("body") or []), "")
    first = first if isinstance(first, str) else ""  # a list, a table or the meeting's place: nothing to restate
    pass_on = [PASS_ON_NAMES[lv] for lv in ("province_office", "district_office") if lv in levels]
    title, text = wording_parts(
        settings, FORWARD_WORDING, me=unit.printed_sender, upstream_sender=upstream_sender,
        upstream_ref=upstream_ref.format("arabic"), upstream_date=format_thai_date(upstream_date, digits="arabic"),
        upstream_subject=upstream["subject"], matter=restated_matter(first, upstream_sender),
        tells_locals=any(lv in LOCAL_LEVELS for lv in levels), pass_on="และ".join(pass_on), has_qr=has_qr)
    return {
        "kind": "stamped",
        "circular": True,
        "date": letter_date.isoformat(),
        "sender": {"name": unit.printed_sender, **({"address": unit.address} if unit.address else {})},
        "to": to,
        "subject": title if subject is None else subject,
        "enclosures": list(upstream.get("enclosures", [])),
        "body": text if body is None else list(body),
        "owner": owner,
        "qr": list(upstream.get("qr", [])),
        "digits": upstream.get("digits", "thai"),
        "urgency": upstream.get("urgency"),
        # A meeting's date, time, place and link go on with it (printed after the first paragraph).
        **({"meeting": upstream["meeting"]} if upstream.get("meeting") else {}),
    }
