"""How the addressees of a circular are written, and what a forwarding letter says (field-examples §1.3 →
§1.4 → §1.5). Who receives it at each level is the chain's rule: saraban.chain.expectations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saraban.records.models import Unit
from thai_text import RefNo, format_thai_date


def _level_count(session: Session, level: str, **where: Any) -> int:
    query = select(Unit.id).where(Unit.level == level)
    for column, value in where.items():
        query = query.where(getattr(Unit, column) == value)
    return len(session.scalars(query).all())


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


def forward_spec(upstream: dict[str, Any], *, upstream_sender: str, upstream_ref: RefNo,
                 upstream_date: date, unit: Unit, to: str, letter_date: date,
                 asks_to_inform: bool, subject: str | None = None,
                 body: Sequence[str] | None = None) -> dict[str, Any]:
    """The spec of a unit's own circular that carries a received one on (field-examples §1.4):
    "ด้วย<unit>ได้รับแจ้งจาก<upstream> ..." citing the upstream number and date, with the same handbook
    QR codes and enclosures. ``subject`` and ``body``: the text as the clerk edited it (the web form
    starts from this one), used as given; the spec's validation judges it."""
    me = unit.printed_sender
    cited = (f"ตามหนังสือ{upstream_sender} ที่ {upstream_ref.format('arabic')} "
             f"ลงวันที่ {format_thai_date(upstream_date, digits='arabic')}")
    gist = upstream["subject"]
    has_qr = bool(upstream.get("qr"))
    details = "รายละเอียดปรากฏตาม QR Code ท้ายหนังสือฉบับนี้" if has_qr else "รายละเอียดปรากฏตามสิ่งที่ส่งมาพร้อมนี้"
    ask = ("จึงขอให้แจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบ และประชาสัมพันธ์ให้ทราบโดยทั่วกัน"
           if asks_to_inform else "จึงขอให้ทราบและพิจารณาดำเนินการในส่วนที่เกี่ยวข้อง")
    owner = {"unit": unit.name}
    if unit.phone:
        owner["phone"] = unit.phone
    if unit.email:
        owner["email"] = unit.email
    return {
        "kind": "stamped",
        "circular": True,
        "date": letter_date.isoformat(),
        "sender": {"name": me, **({"address": unit.address} if unit.address else {})},
        "to": to,
        "subject": gist if subject is None else subject,
        "enclosures": list(upstream.get("enclosures", [])),
        "body": [
            f"ด้วย{me}ได้รับแจ้งจาก{upstream_sender} {cited} เรื่อง {gist}",
            f"{me}พิจารณาแล้ว {ask} {details}",
        ] if body is None else list(body),
        "owner": owner,
        "qr": list(upstream.get("qr", [])),
        "digits": upstream.get("digits", "thai"),
        "urgency": upstream.get("urgency"),
    }
