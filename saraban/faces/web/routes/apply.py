"""สมัครโครงการ: a local administration applies to a programme from its copy of the invitation (the QR code
opens ``/apply/<programme>?t=<its copy's token>``) or from its list of programmes (``/applications``).

The unit is always the logged-in person's own: a token only confirms it (another unit's token: not found).
The page shows the window in Thai time and why the unit may not apply (closed, not yet open, not eligible),
else the form: the contact person and the self-assessment per indicator, grouped by component, with the
running weighted percentage and provisional level (htmx, and without JavaScript on submit). Submitting calls
the core's ``apply`` (which also ลงรับ the unit's invitation copy); the acknowledgement letter is downloadable
at once. Evidence files per indicator are attached to the application (saraban.programmes.evidence).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from saraban.accounts.authority import Actor, NotAllowed
from saraban.faces.web.deps import ActorDep, DbDep, FormDep, SettingsDep, authorise, office_of, render
from saraban.faces.web.files import stored_file
from saraban.faces.web.routes.sent import download_name
from saraban.kernel.settings import Settings
from saraban.programmes.definitions import CONTACT_KEYS, ProgrammeError
from saraban.records.db import Database
from saraban.records.file_store import file_store
from saraban.records.models import Application, Delivery, EvidenceFile, Letter, Programme

router = APIRouter()

CONTACT_LABELS = {"name": "ผู้ประสานงาน", "position": "ตำแหน่ง", "phone": "โทรศัพท์", "email": "ไปรษณีย์อิเล็กทรอนิกส์"}
NO_COPY = ("ไม่พบหนังสือเชิญของหน่วยงานท่านตามรหัสนี้ / this code is not your office's copy of the programme's "
           "invitation")


def _programme_id(s, programme_key: str) -> int:
    from sqlalchemy import select

    found = s.scalar(select(Programme.id).where(Programme.key == programme_key))
    if found is None:
        raise NotAllowed("ไม่พบโครงการ / no such programme", not_found=True)
    return found


def _applicant(db: Database, settings: Settings, actor: Actor, programme_key: str, token: str):
    """(programme, the actor's unit) when the actor may apply for their unit (else 403); a token given must be
    the unit's own copy of this programme's invitation (else 404: another unit's, or not one)."""
    from saraban.chain.tracking import secret_key
    from saraban.programmes.applicant import copy_of_invitation

    with db.reading() as s:
        programme = s.get(Programme, _programme_id(s, programme_key))
        if token:
            copy = copy_of_invitation(s, programme, token, secret_key(settings))
            authorise(actor, "apply", copy.unit_id if copy else None)
    authorise(actor, "apply", actor.unit_id)
    return programme, office_of(db, actor)


def _application(db: Database, actor: Actor, application_id: int, *, watchers: bool = False) -> Application:
    """The application when the actor is of the applicant unit (act ``apply``) or, with ``watchers``, watches
    the programme for its owner (an assessor: appointed to it); else 404/403."""
    from saraban.programmes.assessors import is_appointed

    with db.reading() as s:
        a = s.get(Application, application_id)
        if a is not None and watchers and actor.unit_id != a.unit_id:
            programme = s.get(Programme, a.programme_id)
            authorise(actor, "watch", programme.owner_unit_id,
                      assigned=is_appointed(s, programme.id, actor.user_id))
            return a
    authorise(actor, "apply", a.unit_id if a else None)
    return a


def _contact(form: FormData) -> dict[str, str]:
    return {k: v.strip() for k in CONTACT_KEYS if isinstance(v := form.get(f"contact.{k}"), str)}


def _raw_scores(form: FormData, keys: list[str]) -> dict[str, str]:
    return {k: v for k in keys if isinstance(v := form.get(f"score.{k}"), str)}


def _errors(problems: list[str]) -> dict[str, list[str]]:
    """Each "contact.email: message" or "scores.1.1: message" by its field; the rest under ""."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        path, sep, message = problem.partition(": ")
        if sep and path.startswith("contact.") and path[8:] in CONTACT_KEYS:
            out.setdefault(path, []).append(message)
        elif sep and path.startswith("scores."):
            out.setdefault("score." + path[7:], []).append(message)
        else:
            out.setdefault("", []).append(problem)
    return out


def _page(request: Request, db: Database, settings: Settings, actor: Actor, programme: Programme, token: str, *,
          contact: dict[str, str] | None = None, raw: dict[str, str] | None = None,
          errors: dict[str, list[str]] | None = None, status_code: int = 200, sent: str = "",
          evidence_error: str | None = None) -> Response:
    from saraban.programmes.applicant import applicant_view, invitation_copies, score_of
    from saraban.programmes.evidence import ACCEPTED, evidence_of

    with db.reading() as s:
        unit = office_of(db, actor)
        view = applicant_view(s, programme, unit)
        a = view.application
        copies = [(d, s.get(Letter, d.letter_id)) for d in invitation_copies(s, programme, unit.id)]
        files = evidence_of(s, a.id) if a else {}
    if contact is None:
        contact = dict(a.contact) if a else {}
    if raw is None:
        raw = {k: f"{v:g}" if isinstance(v, float) else str(v) for k, v in ((a.scores or {}) if a else {}).items()}
    score = score_of(programme, raw)
    errors = errors or {}
    for key, problem in score.problems.items():
        errors.setdefault(f"score.{key}", [problem])
    query = f"?{urlencode({'t': token})}" if token else ""
    return render(request, "apply/form.html", status_code=status_code, view=view, contact=contact, raw=raw,
                  score=score, errors=errors, labels=CONTACT_LABELS, token=token, query=query, sent=sent,
                  copies=copies, files=files, accepted=ACCEPTED, evidence_error=evidence_error,
                  limit_mb=f"{settings.upload_max_bytes / (1024 * 1024):g}")


# --- pages ---------------------------------------------------------------------------------------------------


@router.get("/applications")
def applications_page(request: Request, actor: ActorDep, db: DbDep) -> Response:
    """The unit's programmes: the ones it may apply to (open first) and the ones it has applied to."""
    from saraban.programmes.applicant import unit_programmes

    authorise(actor, "apply", actor.unit_id)
    with db.reading() as s:
        views = unit_programmes(s, office_of(db, actor))
    return render(request, "apply/list.html", views=views)


@router.get("/apply/{programme_key}")
def apply_page(request: Request, programme_key: str, actor: ActorDep, db: DbDep, settings: SettingsDep,
               t: str = "", sent: str = "") -> Response:
    programme, _ = _applicant(db, settings, actor, programme_key, t)
    return _page(request, db, settings, actor, programme, t, sent=sent if sent in ("new", "updated") else "")


@router.post("/apply/{programme_key}")
def submit_application(request: Request, programme_key: str, form: FormDep, actor: ActorDep, db: DbDep,
                       settings: SettingsDep, t: str = "") -> Response:
    """The core's apply: every problem beside its field and nothing stored, or the page again with the
    acknowledgement's ที่ and its download."""
    from saraban.programmes.applicant import applicant_view, components_of, score_of
    from saraban.programmes.applications import apply

    programme, unit = _applicant(db, settings, actor, programme_key, t)
    keys = [i.key for c in components_of(programme) for i in c.indicators]
    contact, raw = _contact(form), _raw_scores(form, keys)
    with db.reading() as s:
        view = applicant_view(s, programme, unit)
    if not view.can_apply:  # the page says why; nothing to submit
        return _page(request, db, settings, actor, programme, t, contact=contact, raw=raw, status_code=409)
    score = score_of(programme, raw)
    if score.problems:
        return _page(request, db, settings, actor, programme, t, contact=contact, raw=raw, status_code=422)
    try:
        result = apply(db, settings, programme.key, unit.key, contact=contact, scores=score.scores,
                       actor=actor.username)
    except ProgrammeError as e:
        return _page(request, db, settings, actor, programme, t, contact=contact, raw=raw,
                     errors=_errors(e.problems), status_code=422)
    query = urlencode({k: v for k, v in {"t": t, "sent": "new" if result.new else "updated"}.items() if v})
    return RedirectResponse(f"/apply/{programme.key}?{query}", status_code=303)


@router.post("/apply/{programme_key}/score")
def live_score(request: Request, programme_key: str, form: FormDep, actor: ActorDep, db: DbDep,
               settings: SettingsDep, t: str = "") -> Response:
    """The running percentage and provisional level of what is typed (htmx: the fragment; else the page again
    with it). Nothing is stored."""
    from saraban.programmes.applicant import components_of, score_of

    programme, _ = _applicant(db, settings, actor, programme_key, t)
    keys = [i.key for c in components_of(programme) for i in c.indicators]
    raw = _raw_scores(form, keys)
    if request.headers.get("hx-request"):
        return render(request, "apply/_score.html", score=score_of(programme, raw))
    return _page(request, db, settings, actor, programme, t, contact=_contact(form), raw=raw)


@router.get("/applications/{application_id}/acknowledgement.pdf")
def acknowledgement_pdf(application_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The unit's copy of the acknowledgement letter, as a PDF named by its ที่ (``ทส 0903-1.pdf``)."""
    from sqlalchemy import select

    from saraban.chain.circulars import make_files

    a = _application(db, actor, application_id, watchers=True)
    if a.ack_letter_id is None:
        return _missing()
    query = select(Delivery).where(Delivery.letter_id == a.ack_letter_id, Delivery.unit_id == a.unit_id)
    with db.reading() as s:
        copy, letter = s.scalar(query), s.get(Letter, a.ack_letter_id)
    if copy is None or not _exists(settings, copy.pdf_key):
        make_files(db, settings, [a.ack_letter_id], pdf=True)
        with db.reading() as s:
            copy = s.scalar(query)
    if copy is None or not _exists(settings, copy.pdf_key):
        return _missing()
    return stored_file(settings, copy.pdf_key, media_type="application/pdf",
                       filename=download_name(letter.ref_text, "pdf"))


def _missing() -> Response:
    from fastapi import HTTPException

    raise HTTPException(404, "ยังไม่มีไฟล์นี้ / this file has not been made (yet)")


def _exists(settings: Settings, key: str | None) -> bool:
    return file_store(settings).exists(key)


# --- evidence ------------------------------------------------------------------------------------------------


@router.post("/applications/{application_id}/evidence")
def upload_evidence(request: Request, application_id: int, form: FormDep, actor: ActorDep, db: DbDep,
                    settings: SettingsDep, t: str = "") -> Response:
    """Attach a file (multipart: ``indicator``, ``file``) to the unit's application; refused in the page's
    evidence section (the form's address ends in ``#evidence``: the browser lands on the message), the copy's
    token ``t`` kept (too large, not a PDF/PNG/JPEG/docx by content, the window closed), nothing stored."""
    from saraban.programmes.evidence import EvidenceError, EvidenceTooLarge, add_evidence

    a = _application(db, actor, application_id)
    programme = _evidence_programme(db, settings, actor, a, t)
    upload, indicator = form.get("file"), form.get("indicator")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise EvidenceError("เลือกไฟล์ที่จะแนบ / choose the file to attach")
        added = add_evidence(db, settings, a.id, indicator if isinstance(indicator, str) else "", upload.filename,
                             upload.file, actor=actor.username)
    except EvidenceError as e:
        return _page(request, db, settings, actor, programme, t, evidence_error=str(e),
                     status_code=413 if isinstance(e, EvidenceTooLarge) else 422)
    return RedirectResponse(_apply_url(programme, t, f"evidence-{added.evidence_id}"), status_code=303)


def _evidence_programme(db: Database, settings: Settings, actor: Actor, a: Application, token: str) -> Programme:
    """The application's programme; a copy's token given must be the unit's own (else 404), as on its page."""
    with db.reading() as s:
        key = s.get(Programme, a.programme_id).key
    return _applicant(db, settings, actor, key, token)[0]


def _apply_url(programme: Programme, token: str, anchor: str) -> str:
    query = f"?{urlencode({'t': token})}" if token else ""
    return f"/apply/{programme.key}{query}#{anchor}"


def _evidence(db: Database, a: Application, evidence_id: int) -> EvidenceFile:
    with db.reading() as s:
        row = s.get(EvidenceFile, evidence_id)
    if row is None or row.application_id != a.id:
        raise NotAllowed("ไม่พบหลักฐาน / no such evidence file", not_found=True)
    return row


@router.get("/applications/{application_id}/evidence/{evidence_id}")
def evidence_file(application_id: int, evidence_id: int, actor: ActorDep, db: DbDep,
                  settings: SettingsDep) -> Response:
    """The file, for the applicant unit's people and the programme owner's watchers (an assessor: appointed)."""
    from saraban.records.file_store import FileStoreError, check_key

    row = _evidence(db, _application(db, actor, application_id, watchers=True), evidence_id)
    try:
        key = check_key(row.file_key)
    except FileStoreError:  # a key leading out of the file store: no file of the application's
        return _missing()
    if row.removed_at is not None or not _exists(settings, key):  # removed: its row stays for the history
        return _missing()
    return stored_file(settings, key, media_type=row.content_type, filename=row.filename)


@router.post("/applications/{application_id}/evidence/{evidence_id}/remove")
def remove_evidence_file(request: Request, application_id: int, evidence_id: int, actor: ActorDep, db: DbDep,
                         settings: SettingsDep, t: str = "") -> Response:
    """Remove a file from the application (its row stays, marked removed); again: nothing more happens."""
    from saraban.programmes.evidence import EvidenceError, remove_evidence

    a = _application(db, actor, application_id)
    _evidence(db, a, evidence_id)
    programme = _evidence_programme(db, settings, actor, a, t)
    try:
        remove_evidence(db, a.id, evidence_id, actor=actor.username)
    except EvidenceError as e:
        return _page(request, db, settings, actor, programme, t, evidence_error=str(e), status_code=409)
    return RedirectResponse(_apply_url(programme, t, "evidence"), status_code=303)
