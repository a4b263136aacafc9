"""`saraban log`: who did what — the event trail, filtered by unit, letter, actor, kind and dates.
The core is imported inside the command (see common.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saraban.faces.cli.common import UNIT_HELP, fail, open_data

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from saraban.records.models import Event

KIND_NAMES = {
    "letter.issued": "ออกหนังสือ", "delivery.received": "ลงรับ", "delivery.forwarded": "ส่งต่อ",
    "register.cancelled": "ยกเลิก", "letter.received_from_outside": "ลงรับหนังสือจากภายนอก",
    "unit.changed": "แก้ทำเนียบ", "unit.created": "เพิ่มหน่วยงาน", "directory.loaded": "โหลดทำเนียบ",
    "directory.imported": "นำเข้าทำเนียบ", "programme.created": "บันทึกโครงการ", "programme.updated": "แก้โครงการ",
    "programme.invited": "เชิญเข้าร่วมโครงการ", "application.submitted": "สมัคร", "application.updated": "แก้ใบสมัคร",
    "application.acknowledged": "ตอบรับการสมัคร", "reminder.made": "ทวงถาม", "reminder.mailed": "ส่งอีเมลทวงถาม",
    "reminder.no_address": "ทวงถาม (ไม่มีอีเมล)", "mail.sent": "ส่งอีเมล", "mail.failed": "ส่งอีเมลไม่สำเร็จ",
    "mail.refused": "อีเมลถูกปฏิเสธ", "letter.mailed": "ส่งหนังสือทางอีเมล",
}
VIA_NAMES = {"cli": "คำสั่ง", "flow": "งานอัตโนมัติ", "web": "เว็บ", "core": "ระบบ", None: "-"}


def _moment(text: str, option: str, *, end: bool) -> datetime:
    """A date (B.E. as in a letter, or ISO) as the start of that day in Thai time (``end``: the start of the
    next day, so that --until includes the day); an ISO date and time as that moment (naive: Thai time)."""
    from datetime import time, timedelta

    from saraban.kernel.clock import BANGKOK, as_thai
    from thai_text import ThaiDateError, parse_thai_date

    try:
        day = parse_thai_date(text)
    except ThaiDateError as e:
        try:
            return as_thai(datetime.fromisoformat(text.strip()))
        except ValueError:
            fail(f"{option}: {e}")
    start = datetime.combine(day, time(), tzinfo=BANGKOK)
    return start + timedelta(days=1) if end else start


HIDDEN_DATA = ("message_id", "purpose", "previous", "contact", "scores", "attempts")  # in --json only


def _detail(event: Event) -> str:
    """A change as ``field: before → after``; otherwise the event's data, briefly."""
    if event.after is not None or event.before is not None:
        before, after = event.before or {}, event.after or {}
        return "; ".join(f"{k}: {before.get(k)!r} → {after[k]!r}" if k in before else f"{k}: {after[k]!r}"
                         for k in after)
    return ", ".join(f"{k}={v}" for k, v in (event.data or {}).items()
                     if k not in HIDDEN_DATA and v not in (None, "", [], {}))


def _rows(session: Session, events: list[Event]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from saraban.kernel.clock import iso, moment_text
    from saraban.records.models import Letter, Unit

    unit_ids = {i for e in events for i in (e.unit_id, e.office_id) if i}
    keys = dict(session.execute(select(Unit.id, Unit.key).where(Unit.id.in_(unit_ids))).all())
    letter_ids = {e.letter_id for e in events if e.letter_id}
    refs = dict(session.execute(select(Letter.id, Letter.ref_text).where(Letter.id.in_(letter_ids))).all())
    return [{"id": e.id, "at": iso(e.at), "when": moment_text(e.at), "actor": e.actor, "kind": e.kind,
             "office": keys.get(e.office_id), "unit": keys.get(e.unit_id), "letter": e.letter_id,
             "ref": refs.get(e.letter_id), "via": e.via, "address": e.address, "before": e.before,
             "after": e.after, "data": e.data, "detail": _detail(e)} for e in events]


def _table(rows: list[dict[str, Any]]) -> str:
    from thai_text import to_thai_digits

    head = ("เวลา", "ผู้กระทำ", "ในนามของ", "การกระทำ", "หน่วยงาน", "หนังสือ ที่", "ผ่าน", "รายละเอียด")
    body = [(r["when"], r["actor"], r["office"] or "-", KIND_NAMES.get(r["kind"], r["kind"]),
             r["unit"] if r["unit"] and r["unit"] != r["office"] else ("(เดียวกัน)" if r["unit"] else "-"),
             to_thai_digits(r["ref"]) if r["ref"] else "-", VIA_NAMES.get(r["via"], r["via"]), r["detail"])
            for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    widths[-1] = 0  # the details are not padded
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in (head, *body)]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def log_command(
    unit: Annotated[str | None, typer.Option("--unit", help=f"เฉพาะเรื่องของหรือในนามของหน่วยงานนี้ / Only events "
                                                            f"about or on behalf of this unit: {UNIT_HELP}.",
                                             show_default=False)] = None,
    letter: Annotated[str | None, typer.Option("--letter", help="เฉพาะหนังสือนี้: หมายเลขหรือ ที่ / Only this letter: "
                                                                "its id or its reference number.",
                                               show_default=False)] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="เฉพาะผู้กระทำนี้ (ชื่อผู้ใช้) / Only this actor (a user "
                                                              "name).", show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="ตั้งแต่วันที่ เช่น '๑ เม.ย. ๒๕๖๗' หรือ 2024-04-01 (เวลา"
                                                              "ไทย) / From this date (B.E. or ISO; Thai time).",
                                              show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", help="ถึงวันที่ (รวมวันนั้น) / Up to this date, inclusive.",
                                              show_default=False)] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="ชนิด เช่น unit.changed หรือ unit (ทั้งกลุ่ม) / The kind, "
                                                            "e.g. unit.changed, or a family such as unit or mail.",
                                             show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="จำนวนรายการต่อหน้า / Events per page.")]
    = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="ข้ามรายการ (หน้าถัดไป) / Skip this many (the next "
                                                                "page).")] = 0,
    newest_first: Annotated[bool, typer.Option("--newest-first", help="ล่าสุดก่อน / Newest first.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="สำหรับโปรแกรม / Machine-readable output.")] = False,
) -> None:
    """ใครทำอะไร เมื่อไร ในนามของใคร / Who did what.

    ประวัติการกระทำทั้งหมด: ออกเลข ลงรับ ส่งต่อ ยกเลิก แก้ทำเนียบ สมัคร ทวงถาม อีเมล (เวลาไทย) / The event trail:
    every issue, receipt, forward, cancellation, directory change (before → after), application, reminder
    and e-mail, with its actor and office, in time order (Thai time)."""
    from saraban.chain.circulars import CircularError, find_letter
    from saraban.directory.levels import DirectoryError
    from saraban.directory.units import resolve_unit
    from saraban.records.events import find_events

    start = _moment(since, "--since", end=False) if since else None
    end = _moment(until, "--until", end=True) if until else None
    settings, db = open_data()
    with db.transaction() as s:
        try:
            unit_ids = [resolve_unit(s, unit).id] if unit else None
            letter_id = find_letter(s, letter).id if letter else None
        except (CircularError, DirectoryError) as e:
            fail(str(e))
        events = find_events(s, unit_ids=unit_ids, letter_id=letter_id, actor=actor, kind=kind, since=start,
                             until=end, limit=limit + 1, offset=offset, newest_first=newest_first)
        more = len(events) > limit
        rows = _rows(s, events[:limit])
    if as_json:
        keep = ("id", "at", "actor", "kind", "office", "unit", "letter", "ref", "via", "address", "before", "after",
                "data")
        typer.echo(json.dumps([{k: r[k] for k in keep} for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("ไม่พบรายการ / no events")
        return
    typer.echo(_table(rows))
    tail = f"{len(rows)} รายการ / {len(rows)} event(s)"
    if more:
        tail += f"; มีต่อ: --offset {offset + limit} / more: --offset {offset + limit}"
    typer.echo(tail, err=True)
