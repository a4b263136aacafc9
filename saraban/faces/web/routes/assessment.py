"""การประเมิน: a programme owner's view of one application with the appointed assessor's score form, the
appointment of assessors by the owner's head, the results so far, the announcement (ประกาศ) and its files.

Who (saraban.accounts.roles): the owner's clerks and heads and the assessors appointed to the programme see
(``watch``); only an appointed assessor scores (``assess``); only the owner's head appoints assessors and
announces (``announce``). Anyone else, and an assessor not appointed, gets 404. The rules are
saraban.programmes.assessment's; a refusal is shown with the core's own message, nothing changed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from saraban.accounts.authority import Actor, NotAllowed, may
from saraban.faces.web.deps import ActorDep, DbDep, FormDep, SettingsDep, authorise, render
from saraban.programmes.applicant import components_of
from saraban.programmes.applications import get_programme, window_text
from saraban.programmes.assessment import (
    announce,
    announcement_file,
    announcement_of,
    award_levels,
    record_scores,
    results_so_far,
    view_of,
)
from saraban.programmes.assessors import appoint_assessor, assessors_of, is_appointed, remove_assessor
from saraban.programmes.definitions import ProgrammeError
from saraban.programmes.evidence import evidence_of
from saraban.records.db import Database
from saraban.records.models import Application, Letter, Programme, Result, Unit, User

router = APIRouter()

MEDIA_TYPES = {"pdf": "application/pdf",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _programme(db: Database, actor: Actor, programme_key: str, act: str = "watch") -> Programme:
    """The programme, once ``actor`` may do ``act`` for it (an unknown programme: 404, as another office's)."""
    with db.reading() as s:
        try:
            programme = get_programme(s, programme_key)
        except ProgrammeError:
            raise NotAllowed("ไม่พบ / not found", not_found=True) from None
        if programme.key != programme_key:  # found by name: the address names it by key only
            raise NotAllowed("ไม่พบ / not found", not_found=True)
        appointed = actor.role == "assessor" and is_appointed(s, programme.id, actor.user_id)
    # Seeing the programme first: an assessor not appointed to it gets 404 for every act, not 403.
    authorise(actor, "watch", programme.owner_unit_id, assigned=appointed)
    if act != "watch":
        authorise(actor, act, programme.owner_unit_id, assigned=appointed)
    return programme


def _application(s, programme: Programme, application_id: int) -> Application:
    application = s.get(Application, application_id) if 0 < application_id < 2**31 else None
    if application is None or application.programme_id != programme.id:
        raise NotAllowed("ไม่พบ / not found", not_found=True)
    return application


def _may(actor: Actor, act: str, db: Database, programme: Programme) -> bool:
    with db.reading() as s:
        appointed = actor.role == "assessor" and is_appointed(s, programme.id, actor.user_id)
    return may(actor, act, programme.owner_unit_id, assigned=appointed)


# --- one application -------------------------------------------------------------------------------------------


def _application_page(request: Request, db: Database, actor: Actor, programme: Programme, application_id: int, *,
                      typed: dict[str, dict[str, str]] | None = None, problems: list[str] | None = None,
                      message: str | None = None, status_code: int = 200) -> Response:
    with db.reading() as s:
        application = _application(s, programme, application_id)
        unit = s.get(Unit, application.unit_id)
        view = view_of(s, programme, application)
        evidence = evidence_of(s, application.id)  # the files not removed, by indicator
        ack = s.get(Letter, application.ack_letter_id) if application.ack_letter_id else None
        names = {line.assessor: line.assessor for line in view.lines.values()}
        for u in s.scalars(select(User).where(User.username.in_(list(names)))) if names else []:
            names[u.username] = u.display_name
    can_assess = _may(actor, "assess", db, programme) and not view.announced
    errors: dict[str, list[str]] = {}
    other: list[str] = []
    for problem in problems or []:
        path, sep, text = problem.partition(": ")
        kind, _, key = path.partition(".")
        if sep and kind in ("scores", "comments") and key:
            errors.setdefault(key, []).append(text)
        else:
            other.append(problem)
    values = typed or {"score": {k: f"{v.score:g}" for k, v in view.lines.items()},
                       "comment": {k: v.comment or "" for k, v in view.lines.items()}}
    return render(request, "assessment/application.html", status_code=status_code, programme=programme,
                  application=application, unit=unit, view=view, components=components_of(programme),
                  evidence=evidence, ack=ack, can_assess=can_assess, values=values, errors=errors, other=other,
                  problems=problems or [], message=message, names=names,
                  levels=award_levels(programme))


@router.get("/programmes/{programme_key}/applications/{application_id}")
def application_page(request: Request, programme_key: str, application_id: int, actor: ActorDep,
                     db: DbDep) -> Response:
    """The application as the owner sees it (contact, self-assessment, evidence) and, for the appointed
    assessor, a score and a comment per indicator grouped by component, with the percentage so far."""
    programme = _programme(db, actor, programme_key)
    saved = "บันทึกคะแนนแล้ว / scores saved" if request.query_params.get("saved") else None
    return _application_page(request, db, actor, programme, application_id, message=saved)


@router.post("/programmes/{programme_key}/applications/{application_id}/scores")
def save_scores(request: Request, programme_key: str, application_id: int, form: FormDep, actor: ActorDep,
                db: DbDep) -> Response:
    programme = _programme(db, actor, programme_key, "assess")
    with db.reading() as s:
        _application(s, programme, application_id)
    keys = [i.key for c in components_of(programme) for i in c.indicators]
    scores = {k: _text(form, f"score.{k}") for k in keys if f"score.{k}" in form}
    comments = {k: form.get(f"comment.{k}") or "" for k in keys if f"comment.{k}" in form}
    try:
        record_scores(db, programme.key, application_id, scores, comments, assessor=actor.username)
    except ProgrammeError as e:
        typed = {"score": scores, "comment": {k: str(v) for k, v in comments.items()}}
        return _application_page(request, db, actor, programme, application_id, typed=typed, problems=e.problems,
                                 status_code=422)
    return RedirectResponse(f"/programmes/{programme.key}/applications/{application_id}?saved=1", status_code=303)


# --- assessors -------------------------------------------------------------------------------------------------


def _assessors_page(request: Request, db: Database, actor: Actor, programme: Programme, *, error: str | None = None,
                    message: str | None = None, status_code: int = 200) -> Response:
    with db.reading() as s:
        appointed = assessors_of(s, programme.id)
        ids = {u.id for u in appointed}
        others = [u for u in s.scalars(select(User).where(User.unit_id == programme.owner_unit_id,
                                                          User.role == "assessor", User.disabled.is_(False))
                                       .order_by(User.username)) if u.id not in ids]
    return render(request, "assessment/assessors.html", status_code=status_code, programme=programme,
                  appointed=appointed, others=others, may_appoint=may(actor, "announce", programme.owner_unit_id),
                  error=error, message=message)


@router.get("/programmes/{programme_key}/assessors")
def assessors_page(request: Request, programme_key: str, actor: ActorDep, db: DbDep) -> Response:
    """The programme's assessors; the owner's head appoints the office's assessors or ends an appointment."""
    programme = _programme(db, actor, programme_key)
    return _assessors_page(request, db, actor, programme)


@router.post("/programmes/{programme_key}/assessors")
def change_assessors(request: Request, programme_key: str, form: FormDep, actor: ActorDep, db: DbDep) -> Response:
    programme = _programme(db, actor, programme_key, "announce")  # the owner's head
    username, action = _text(form, "username"), _text(form, "action") or "appoint"
    if not username or action not in ("appoint", "remove"):
        return _assessors_page(request, db, actor, programme, status_code=422,
                               error="เลือกผู้ประเมิน / choose an assessor (username) and appoint or remove")
    try:
        if action == "appoint":
            done = appoint_assessor(db, programme.key, username, actor=actor.username)
            message = f"แต่งตั้ง {username} แล้ว" if done else f"{username} ได้รับแต่งตั้งอยู่แล้ว"
        else:
            done = remove_assessor(db, programme.key, username, actor=actor.username)
            message = f"ยกเลิกการแต่งตั้ง {username} แล้ว" if done else f"{username} ไม่ได้รับแต่งตั้งอยู่"
    except ProgrammeError as e:
        return _assessors_page(request, db, actor, programme, status_code=422, error=str(e))
    return _assessors_page(request, db, actor, programme, message=message)


# --- results and the announcement ------------------------------------------------------------------------------


def _results_page(request: Request, db: Database, actor: Actor, programme: Programme, *,
                  problems: list[str] | None = None, message: str | None = None, status_code: int = 200) -> Response:
    with db.reading() as s:
        rows = results_so_far(s, programme)
        announcement = announcement_of(s, programme)
        results = {r.application_id: r for r in s.scalars(select(Result).where(Result.programme_id == programme.id))}
        refs = dict(s.execute(select(Letter.id, Letter.ref_text).where(
            Letter.id.in_([r.letter_id for r in results.values() if r.letter_id]))).tuples().all()) if results else {}
    counts: dict[str | None, int] = {}
    for _, _, v in rows:
        level = results[v.application_id].level if v.application_id in results else v.level
        counts[level] = counts.get(level, 0) + 1
    return render(request, "assessment/results.html", status_code=status_code, programme=programme, rows=rows,
                  announcement=announcement, results=results, refs=refs, counts=counts,
                  levels=list(reversed(award_levels(programme))), window=window_text(programme),
                  may_announce=may(actor, "announce", programme.owner_unit_id),
                  complete=sum(1 for _, _, v in rows if v.complete), problems=problems or [], message=message)


@router.get("/programmes/{programme_key}/results")
def results_page(request: Request, programme_key: str, actor: ActorDep, db: DbDep) -> Response:
    """Each application's percentage and level so far (or as announced), and the announcement."""
    programme = _programme(db, actor, programme_key)
    message = "ประกาศผลแล้ว / the results are announced" if request.query_params.get("announced") else None
    return _results_page(request, db, actor, programme, message=message)


@router.post("/programmes/{programme_key}/announce")
def announce_results(request: Request, programme_key: str, actor: ActorDep, db: DbDep,
                     settings: SettingsDep) -> Response:
    """The owner's head announces the results: the ประกาศ and a result letter to each applicant, once."""
    programme = _programme(db, actor, programme_key, "announce")
    try:
        announce(db, settings, programme.key, actor=actor.username)
    except ProgrammeError as e:
        return _results_page(request, db, actor, programme, problems=e.problems, status_code=422)
    return RedirectResponse(f"/programmes/{programme.key}/results?announced=1", status_code=303)


@router.get("/programmes/{programme_key}/announcement.{fmt}")
def announcement_download(programme_key: str, fmt: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    programme = _programme(db, actor, programme_key)
    path = announcement_file(db, settings, programme.key, fmt) if fmt in MEDIA_TYPES else None
    if path is None:
        raise NotAllowed("ยังไม่ได้ประกาศผล หรือไม่มีไฟล์แบบนี้ (มีแบบ pdf และ docx) / not announced yet, or no such "
                         "file (pdf or docx)", not_found=True)
    return FileResponse(path, filename=f"ประกาศผล-{programme.key}.{fmt}", media_type=MEDIA_TYPES[fmt])
