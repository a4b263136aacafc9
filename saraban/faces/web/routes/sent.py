"""The office's sent letters: one letter's page, its files, and the progress of making them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from saraban.faces.web.deps import ActorDep, DbDep, SettingsDep, authorise, render
from saraban.faces.web.files import stored_file
from saraban.faces.web.jobs import files_progress, make_files_later
from saraban.records.file_store import file_store
from saraban.records.models import Letter

router = APIRouter()


def office_letter(db, actor, letter_id: int, act: str = "read") -> Letter:
    """The letter, when it is the actor's office's and the actor may do ``act`` (else 404/403)."""
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
    authorise(actor, act, letter.unit_id if letter else None)
    return letter


@router.get("/letters/{letter_id}")
def letter_page(request: Request, letter_id: int, actor: ActorDep, db: DbDep) -> Response:
    letter = office_letter(db, actor, letter_id)
    return render(request, "sent/letter.html", letter=letter, progress=files_progress(db, letter_id))


@router.get("/letters/{letter_id}/progress")
def progress(request: Request, letter_id: int, actor: ActorDep, db: DbDep) -> Response:
    """The progress of making the letter's files: a page, or (htmx) the fragment it polls every second."""
    letter = office_letter(db, actor, letter_id)
    template = "sent/progress_fragment.html" if request.headers.get("hx-request") else "sent/progress.html"
    return render(request, template, letter=letter, progress=files_progress(db, letter_id))


@router.post("/letters/{letter_id}/files")
def make_missing_files(letter_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """Start again making what is missing (after a stopped process, or a failure shown on the page)."""
    office_letter(db, actor, letter_id, "issue")
    make_files_later(db, settings, letter_id, actor=actor.username)
    return RedirectResponse(f"/letters/{letter_id}/progress", status_code=303)


@router.get("/letters/{letter_id}/file/{kind}")
def letter_file(letter_id: int, kind: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The office's own copy of the letter: ``docx`` or ``pdf``."""
    letter = office_letter(db, actor, letter_id)
    key = {"docx": letter.docx_key, "pdf": letter.pdf_key}.get(kind)
    if not file_store(settings).exists(key):
        raise HTTPException(404, "ยังไม่มีไฟล์นี้ / this file has not been made (yet)")
    return stored_file(settings, key, filename=download_name(letter.ref_text, kind))


def download_name(ref_text: str, kind: str, suffix: str = "") -> str:
    """A file name a clerk recognises: the reference number (``มท 0820.2-ว 1144.pdf``)."""
    return f"{ref_text.replace('/', '-')}{suffix}.{kind}"
