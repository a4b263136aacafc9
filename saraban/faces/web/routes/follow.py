"""ติดตาม (follow): the letters the office sent, and for each the tree below it by level, drill-down to any
unit, who is still missing with their contact, ทวงถาม now, and the status report to download.

The pages count in the database (saraban.chain.follow): a national circular's page reads a few hundred
grouped rows and two pages of 50, never its 9,000 deliveries. Only the report download loads the tree
(saraban.chain.status.letter_status), as the report prints every unit.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from saraban.chain.emailing import STATUS_TH as MAIL_STATUS_TH
from saraban.chain.emailing import EmailingError, email_copies, mail_states, mail_totals
from saraban.chain.follow import (
    TreeSummary,
    find_in_tree,
    missing_units,
    owing_receipt,
    path_to,
    recipients,
    sent_letters,
    tree_summary,
)
from saraban.chain.status import STATE_TH, letter_status
from saraban.directory.levels import LEVEL_NAMES
from saraban.faces.web.cache import ShortCache
from saraban.faces.web.deps import ActorDep, DbDep, PageNumber, SettingsDep, authorise, render
from saraban.faces.web.routes.sent import office_letter
from saraban.kernel.clock import now
from saraban.letters.paper.pdf import PdfError
from saraban.programmes.reminders import ReminderError, remind_now
from saraban.records.models import Letter, RegisterEntry, Unit
from saraban.reports.status import status_report_docx, status_report_xlsx
from thai_text import to_thai_digits

router = APIRouter()

OWES_TEXT = {"receipt": "ยังไม่ลงรับ", "forward": "ลงรับแล้ว ยังไม่ส่งต่อ"}
MAIL_TEXT = {"sent": "ส่งอีเมลแล้ว", "refused": "ปลายทางปฏิเสธ", "failed": "ส่งไม่สำเร็จ จะลองใหม่",
             "no-address": "ไม่มีที่อยู่อีเมล"}
FOLLOW_CACHE_SECONDS = 5
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/follow")
def follow_list(request: Request, actor: ActorDep, db: DbDep, page: PageNumber = 1) -> Response:
    """The letters the office sent, newest first, 50 a page, with the counts of each one's tree."""
    authorise(actor, "read", actor.unit_id)
    with db.reading() as s:
        letters = sent_letters(s, actor.unit_id, page)
    return render(request, "follow/index.html", letters=letters)


@router.get("/follow/{letter_id}")
def follow_letter(request: Request, letter_id: int, actor: ActorDep, db: DbDep, unit: str | None = None,
                  page: PageNumber = 1, missing_page: PageNumber = 1) -> Response:
    """The tree of one of the office's letters; ``unit``: drill down to a unit of the tree (its own branch:
    the letter it forwarded, what that reached, and who is missing there)."""
    letter = office_letter(db, actor, letter_id)
    with db.reading() as s:  # every receipt, forward, reminder or cancellation writes a register line
        stamp = s.scalar(select(func.max(RegisterEntry.id)))
    view = _tree_views.get((letter.id, unit, page, missing_page, stamp),
                           lambda: _tree_view(db, letter, unit, page, missing_page))
    return render(request, "follow/letter.html", letter=letter, **view, unit=unit, states=STATE_TH,
                  owes_text=OWES_TEXT, level_names=LEVEL_NAMES, **_mail_view(db, letter.id, view["recipients"]))


def _mail_view(db, letter_id: int, below) -> dict:
    """The e-mail of the listed copies and of the letter's own (read every time: a send writes no register
    line, so the cached tree would not know it)."""
    with db.reading() as s:
        mails = mail_states(s, [r.delivery_id for r in below.items]) if below else {}
        totals = mail_totals(s, [letter_id])
    text = " · ".join(f"{MAIL_STATUS_TH.get(k, k)} {to_thai_digits(n)}" for k, n in sorted(totals.items()))
    return {"mails": mails, "mail_totals": totals, "mail_summary": text,
            "mail_retry": any(k in ("failed", "pending", "refused", "no-address") for k in totals)}


@router.post("/follow/{letter_id}/email")
def email(request: Request, letter_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """ส่งทางอีเมล: every copy of the letter still to send (never one already sent; a refused address or a unit
    without one only once the directory's address has changed), and what happened to each."""
    letter = office_letter(db, actor, letter_id, "issue")
    try:
        run = email_copies(db, settings, letter.id, actor=actor.username)
    except (EmailingError, PdfError) as e:
        raise HTTPException(409, str(e)) from None
    return render(request, "follow/emailed.html", letter=letter, run=run, labels=MAIL_STATUS_TH)


# A national circular's page is opened by many at once: its figures are read again only when a register line
# was written anywhere since (a receipt, a forward, a reminder, a cancellation), or after a few seconds (a
# contact changed in the directory).
_tree_views: ShortCache[dict] = ShortCache(seconds=FOLLOW_CACHE_SECONDS)


def _tree_view(db, letter: Letter, unit: str | None, page: int, missing_page: int) -> dict:
    """What the follow page shows of the tree (read after authority was checked, so it may be shared)."""
    with db.reading() as s:
        node, path, target = None, [], letter.id
        if unit:
            node = find_in_tree(s, letter.id, unit)
            if node is None:
                raise HTTPException(404, "หน่วยงานนี้ไม่ได้รับหนังสือฉบับนี้ / this letter did not reach that unit")
            path = path_to(s, node, letter.id)
            target = node.forwarded_letter_id
        summary = tree_summary(s, target) if target else TreeSummary([], {})
        below = recipients(s, target, page, summary=summary) if target else None
        missing = missing_units(s, target, missing_page, total=summary.total.missing) if target else None
        to_remind = owing_receipt(s, letter.id)
        sender = s.get(Unit, letter.unit_id)
    return {"sender": sender, "node": node, "path": path, "summary": summary, "recipients": below,
            "missing": missing, "to_remind": to_remind, "read_at": now()}


@router.post("/follow/{letter_id}/remind")
def remind(request: Request, letter_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """ทวงถาม now: a reminder letter (and e-mail) to each recipient of the letter that has not received it;
    once per unit and day, however often it is pressed (saraban.programmes.reminders.remind_now)."""
    letter = office_letter(db, actor, letter_id, "remind")
    try:
        results = remind_now(db, settings, letter.id, actor=actor.username)
    except ReminderError as e:
        raise HTTPException(409, str(e)) from None
    return render(request, "follow/reminded.html", letter=letter, results=results, mail_text=MAIL_TEXT)


@router.get("/follow/{letter_id}/report.{fmt}")
def status_report(letter_id: int, fmt: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The status report (saraban.reports.status) as .docx or .xlsx: every unit of the tree."""
    letter = office_letter(db, actor, letter_id)
    if fmt not in MEDIA_TYPES:
        raise HTTPException(404, "รายงานมีแบบ docx และ xlsx / the report comes as docx or xlsx")
    status = letter_status(db, letter.id)
    folder = Path(tempfile.mkdtemp(prefix="saraban-status-"))
    try:
        path = folder / f"status.{fmt}"
        if fmt == "docx":
            status_report_docx(status, path, settings)
        else:
            status_report_xlsx(status, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = f"สถานะ-{letter.ref_text.replace('/', '-')}.{fmt}"
    return FileResponse(path, filename=name, media_type=MEDIA_TYPES[fmt],
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
