"""Assessment of a programme's applications and the announcement of its results (issue 11, part 3).

- :func:`record_scores`: an assessor appointed to the programme (saraban.programmes.assessors) records a score
  per indicator of one application, with a comment. Scores are checked as the self-assessment's are
  (``check_scores``: the same messages); a blank score leaves the indicator as it was. Anything refused
  (a score off the scale, an application of another programme, an assessor not appointed, the results
  already announced) stores nothing. Each change is one event ``assessment.scored`` keeping the previous score.
- :func:`assessment_of`: the scores and comments so far, the weighted percentage (``weighted_percent``: an
  indicator not scored yet counts as the scale's minimum) and the level it reaches.
- :func:`announce`: the owner's head announces the results, once. **Refused unless every application is fully
  assessed** (every indicator scored): an announcement is final and made once, so an application left
  unassessed would be announced as such for good; the message lists the applications still to be assessed.
  Refused too while the application window is open (an applicant could still come). It records one
  ``Result`` per application (percentage and level from the definition's weights and thresholds) and one
  ``Announcement``; then a result letter to each applicant (a หนังสือประทับตรา numbered in the owner's send
  register, issued with the circular machinery as the acknowledgement is), and the ประกาศ (.docx and PDF,
  saraban.programmes.announcements) listing the units by award level. Two heads pressing "announce" at the
  same moment get one announcement and one letter per applicant: the programme's row is locked first
  (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), the unique programme of ``announcements`` backs
  it, each result letter's spec is made from what was recorded (so ``issue_circular`` finds the same letter),
  and the files are made under a lock by whoever comes first. A run that stopped half-way is completed by
  the next call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saraban.chain.verification import issued_row, record_issued, sha256_of
from saraban.directory.levels import provinces
from saraban.kernel.clock import as_thai, at_or_now
from saraban.kernel.files import write_new, write_replacing
from saraban.kernel.settings import Settings
from saraban.kernel.text_input import normalise_text, text_problem
from saraban.kernel.wording import WordingError, wording_parts
from saraban.letters.spec import parse_spec
from saraban.programmes.announcements import (
    AnnouncedUnit,
    announcement_context,
    announcement_docx,
    announcement_pdf,
    announcement_subject,
    announcement_title,
)
from saraban.programmes.applicant import components_of
from saraban.programmes.applications import (
    check_scores,
    get_programme,
    issue_owner_letter,
    level_for,
    weighted_percent,
    window_text,
)
from saraban.programmes.assessors import is_appointed
from saraban.programmes.definitions import ProgrammeError, text_key
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.locks import ANNOUNCEMENT_FILES, advisory_lock
from saraban.records.models import (
    Announcement,
    Application,
    Assessment,
    Letter,
    Programme,
    Result,
    Unit,
    User,
)
from thai_text import format_thai_date

MAX_COMMENT = 2000  # characters of one indicator's comment


# ------------------------------------------------------------------------------------------- the structure


def indicator_keys(programme: Programme) -> list[str]:
    return [i.key for c in components_of(programme) for i in c.indicators]


def award_levels(programme: Programme) -> list[dict[str, Any]]:
    """The definition's award levels, lowest first (as written)."""
    return list(programme.definition["structure"]["levels"])


def _province_name(code: str | None) -> str:
    return next((p.name for p in provinces() if p.code == code), "") if code else ""


# ------------------------------------------------------------------------------------------------ scores


@dataclass(frozen=True)
class ScoreLine:
    indicator: str
    score: float
    comment: str | None
    assessor: str  # username
    at: datetime


@dataclass(frozen=True)
class AssessmentView:
    """One application's assessment so far."""

    application_id: int
    programme_key: str
    unit_key: str
    unit_name: str
    lines: dict[str, ScoreLine]  # indicator → its score, comment, who and when
    indicators: int
    percent: float  # weighted, an indicator not scored yet counting as the scale's minimum
    level: str | None  # the level the percentage reaches so far
    announced_level: str | None = None
    announced: bool = False

    @property
    def scores(self) -> dict[str, float]:
        return {k: v.score for k, v in self.lines.items()}

    @property
    def comments(self) -> dict[str, str]:
        return {k: v.comment for k, v in self.lines.items() if v.comment}

    @property
    def scored(self) -> int:
        return len(self.lines)

    @property
    def complete(self) -> bool:
        return self.scored == self.indicators


def _application(session: Session, programme: Programme, application_id: int | str) -> Application:
    try:
        ident = int(str(application_id).strip())
    except ValueError:
        ident = 0
    application = session.get(Application, ident) if 0 < ident < 2**31 else None
    if application is None or application.programme_id != programme.id:
        raise ProgrammeError(f"ไม่พบใบสมัครเลขที่ {application_id} ใน{programme.name} / no application "
                             f"{application_id} in programme '{programme.key}'")
    return application


def _score_lines(session: Session, application_id: int) -> dict[str, ScoreLine]:
    rows = session.execute(select(Assessment, User.username).join(User, User.id == Assessment.assessor_id)
                           .where(Assessment.application_id == application_id)).all()
    return {a.indicator: ScoreLine(a.indicator, int(a.score) if float(a.score).is_integer() else a.score,
                                   a.comment, username, a.at) for a, username in rows}


def view_of(session: Session, programme: Programme, application: Application) -> AssessmentView:
    """The assessment of a loaded application (see :func:`assessment_of`)."""
    keys = set(indicator_keys(programme))
    lines = {k: v for k, v in _score_lines(session, application.id).items() if k in keys}
    percent = weighted_percent(programme, {k: v.score for k, v in lines.items()})
    unit = session.get(Unit, application.unit_id)
    result = session.scalar(select(Result).where(Result.application_id == application.id))
    return AssessmentView(application.id, programme.key, unit.key, unit.name, lines, len(keys), percent,
                          level_for(programme, percent), result.level if result else None, result is not None)


def assessment_of(db: Database, programme_key: str, application_id: int | str) -> AssessmentView:
    """The scores and comments of one application so far, its weighted percentage and level."""
    with db.reading() as s:
        programme = get_programme(s, programme_key)
        return view_of(s, programme, _application(s, programme, application_id))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _appointed_assessor(session: Session, programme: Programme, username: str) -> User:
    user = session.scalar(select(User).where(User.username == str(username).strip()))
    if user is None or user.disabled or user.role != "assessor" or not is_appointed(session, programme.id, user.id):
        raise ProgrammeError(f"{username} ไม่ใช่ผู้ประเมินที่ได้รับแต่งตั้งสำหรับ{programme.name} / '{username}' is "
                             f"not an assessor appointed to programme '{programme.key}'")
    return user


def _check_comments(comments: Mapping[Any, Any], keys: list[str]) -> tuple[dict[str, str | None], list[str]]:
    out: dict[str, str | None] = {}
    problems = []
    for raw_key, raw in comments.items():
        key = str(text_key(raw_key)).strip()
        if key not in keys:
            problems.append(f"comments.{key}: unknown indicator / ไม่มีตัวชี้วัด {key}")
            continue
        text = normalise_text(str(raw)).strip() if raw is not None else ""
        if problem := text_problem(text, multiline=True):
            problems.append(f"comments.{key}: {problem}")
        elif len(text) > MAX_COMMENT:
            problems.append(f"comments.{key}: ยาวเกิน {MAX_COMMENT} ตัวอักษร / longer than {MAX_COMMENT} characters "
                            f"({len(text)})")
        else:
            out[key] = text or None
    return out, problems


def record_scores(db: Database, programme_key: str, application_id: int | str, scores: Mapping[Any, Any],
                  comments: Mapping[Any, Any] | None = None, *, assessor: str,
                  at: datetime | None = None) -> AssessmentView:
    """Record ``assessor``'s scores (indicator → score; a blank one is left as it was) and comments (indicator →
    text; a key left out keeps its comment, a blank one clears it) of one application. ProgrammeError lists
    every problem and nothing is stored. Returns the assessment after the change."""
    at = at_or_now(at)
    with db.transaction() as s:
        programme = get_programme(s, programme_key)
        application = _application(s, programme, application_id)
        user = _appointed_assessor(s, programme, assessor)
        # Not while the results are being announced: announce() locks the programme's row FOR UPDATE.
        s.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update(read=True))
        if s.scalar(select(Announcement.id).where(Announcement.programme_id == programme.id)) is not None:
            raise ProgrammeError(f"ประกาศผล{programme.name}แล้ว จึงแก้คะแนนไม่ได้ / the results of '{programme.key}' "
                                 "are announced: scores can no longer change")
        if not isinstance(scores, Mapping) or (comments is not None and not isinstance(comments, Mapping)):
            raise ProgrammeError("scores, comments: expected mappings of indicator → value, e.g. {'1.1': 4}")
        keys = indicator_keys(programme)
        problems: list[str] = []
        given = {k: v for k, v in scores.items() if not _blank(v)}
        scored = {str(text_key(k)).strip() for k in given}  # (a bad score is reported as such, not its comment)
        try:
            clean = check_scores(programme, given)
        except ProgrammeError as e:
            clean, problems = {}, list(e.problems)
        notes, comment_problems = _check_comments(comments or {}, keys)
        problems += comment_problems
        # One assessment of an application at a time (PostgreSQL: its row locked; SQLite: BEGIN IMMEDIATE).
        s.execute(select(Application.id).where(Application.id == application.id).with_for_update())
        rows = {a.indicator: a for a in s.scalars(select(Assessment).where(Assessment.application_id == application.id)
                                                  .execution_options(populate_existing=True))}
        problems += [f"comments.{k}: ให้คะแนนตัวชี้วัด {k} ก่อนจึงบันทึกความเห็นได้ / score indicator {k} to keep a "
                     "comment on it" for k, note in notes.items() if note and k not in scored and k not in rows]
        if problems:
            raise ProgrammeError(problems)
        changes: dict[str, dict[str, Any]] = {}
        for key in [k for k in keys if k in clean or k in notes]:
            row = rows.get(key)
            score = clean.get(key, row.score if row else None)
            if score is None:
                continue  # a blank comment on an indicator never scored: nothing to keep
            comment = notes.get(key, row.comment if row else None)
            if row is not None and float(row.score) == float(score) and row.comment == comment:
                continue
            previous = None
            if row is None:
                s.add(Assessment(application_id=application.id, indicator=key, score=score, comment=comment,
                                 assessor_id=user.id, at=at))
            else:
                previous = {"score": row.score, "comment": row.comment, "assessor_id": row.assessor_id,
                            "at": as_thai(row.at).isoformat()}
                row.score, row.comment, row.assessor_id, row.at = score, comment, user.id, at
            changes[key] = {"score": score, "comment": comment, "previous": previous}
        if changes:
            s.flush()
            record_event(s, "assessment.scored", actor=user.username, at=at, unit_id=application.unit_id,
                         office_id=programme.owner_unit_id,
                         data={"programme": programme.key, "application": application.id, "changes": changes})
        return view_of(s, programme, application)


# ------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ResultLine:
    application_id: int
    unit_key: str
    unit_name: str
    province: str
    percent: float
    level: str | None
    letter_id: int | None
    ref: str | None  # the result letter's ที่ (Arabic digits)


@dataclass(frozen=True)
class Announced:
    announcement_id: int
    new: bool  # this call made the announcement
    at: datetime
    announced_by: str
    results: list[ResultLine]
    docx: Path | None
    pdf: Path | None


def results_so_far(session: Session, programme: Programme) -> list[tuple[Application, Unit, AssessmentView]]:
    """Every application with its assessment so far, by unit key."""
    rows = session.execute(select(Application, Unit).join(Unit, Unit.id == Application.unit_id)
                           .where(Application.programme_id == programme.id).order_by(Unit.key)).all()
    return [(a, u, view_of(session, programme, a)) for a, u in rows]


def announcement_of(session: Session, programme: Programme) -> Announcement | None:
    return session.scalar(select(Announcement).where(Announcement.programme_id == programme.id))


def _result_lines(session: Session, programme: Programme) -> list[ResultLine]:
    rows = session.execute(select(Result, Unit).join(Application, Application.id == Result.application_id)
                           .join(Unit, Unit.id == Application.unit_id)
                           .where(Result.programme_id == programme.id).order_by(Unit.key)).all()
    refs = dict(session.execute(select(Letter.id, Letter.ref_text).where(
        Letter.id.in_([r.letter_id for r, _ in rows if r.letter_id]))).all()) if rows else {}
    return [ResultLine(r.application_id, u.key, u.name, _province_name(u.province_code), r.percent, r.level,
                       r.letter_id, refs.get(r.letter_id)) for r, u in rows]


def _unassessed(views: list[tuple[Application, Unit, AssessmentView]]) -> list[str]:
    return [f"{u.name} ({u.key}): ประเมินแล้ว {v.scored} จาก {v.indicators} ตัวชี้วัด / {v.scored} of "
            f"{v.indicators} indicators scored" for _, u, v in views if not v.complete]


def _record_announcement(db: Database, programme_key: str, actor: str, at: datetime) -> tuple[int, bool]:
    """The Results and the Announcement, in one transaction, once: (announcement id, new)."""
    for attempt in range(2):
        try:
            with db.transaction() as s:
                programme = get_programme(s, programme_key)
                # Who announces first: the programme's row locked (PostgreSQL), the unique programme backing it.
                s.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update())
                existing = announcement_of(s, programme)
                if existing is not None:
                    return existing.id, False
                if as_thai(at) < programme.closes_at + timedelta(minutes=1):
                    raise ProgrammeError(f"ยังอยู่ในช่วงรับสมัคร{programme.name} (รับสมัคร{window_text(programme)}) "
                                         "ประกาศผลได้เมื่อปิดรับสมัครแล้ว / the application window is still open: "
                                         "results are announced after it closes")
                views = results_so_far(s, programme)
                if not views:
                    raise ProgrammeError(f"{programme.name} ยังไม่มีผู้สมัคร จึงไม่มีผลให้ประกาศ / programme "
                                         f"'{programme.key}' has no application: there is nothing to announce")
                if missing := _unassessed(views):
                    raise ProgrammeError([f"ยังประเมินไม่ครบ {len(missing)} ใบสมัคร ประกาศผลได้เมื่อประเมินครบทุกตัวชี้วัด"
                                          f"ของทุกใบสมัคร / {len(missing)} application(s) not fully assessed: results "
                                          "are announced once every application is", *missing])
                announcement = Announcement(programme_id=programme.id, announced_by=actor, at=at)
                s.add(announcement)
                s.flush()
                for a, _, v in views:
                    s.add(Result(application_id=a.id, programme_id=programme.id, percent=v.percent,
                                 level=v.level, decided_at=at))
                record_event(s, "programme.announced", actor=actor, at=at, unit_id=programme.owner_unit_id,
                             office_id=programme.owner_unit_id,
                             data={"programme": programme.key, "announcement": announcement.id,
                                   "results": {u.key: {"percent": v.percent, "level": v.level}
                                               for _, u, v in views}})
                return announcement.id, True
        except IntegrityError:  # a simultaneous announcement was recorded first: find it
            if attempt:
                raise
    raise AssertionError("unreachable")


def _result_spec(settings: Settings, programme: Programme, owner: Unit, unit: Unit, result: Result,
                 announced_at: datetime) -> dict:
    """The result letter's spec: made only from what was recorded (and the wording template
    ``programmes/result``), so every caller makes the same one."""
    name, year = programme.name, programme.year
    dated = as_thai(announced_at).date()
    levels = award_levels(programme)
    subject = announcement_subject(name, year)
    notice = f"{announcement_title(owner.printed_sender)} เรื่อง {subject} ลงวันที่ {format_thai_date(dated)}"
    award = next((lv.get("award") for lv in levels if lv["name"] == result.level), None) if result.level else None
    try:
        title, body = wording_parts(settings, "programmes/result", owner=owner.printed_sender, unit=unit.name,
                                    programme=name, year=year, subject=subject, notice=notice,
                                    percent=f"{result.percent:.2f}", level=result.level or "", award=award or "",
                                    lowest_level=levels[0]["name"], lowest_percent=f"{levels[0]['min_percent']:g}")
    except WordingError as e:
        raise ProgrammeError(str(e)) from None
    contact = programme.definition.get("invitation", {}).get("owner") or {"unit": owner.name}
    return {"kind": "stamped", "date": dated.isoformat(),
            "sender": {"name": owner.printed_sender} | ({"address": owner.address} if owner.address else {}),
            "to": unit.name, "subject": title, "body": body, "enclosures": [notice],
            "owner": {k: v for k, v in contact.items() if v}}


def _issue_result_letters(db: Database, settings: Settings, programme_key: str, actor: str, at: datetime) -> None:
    """A result letter to each applicant that has none yet (exactly once: see the module's notes)."""
    with db.reading() as s:
        programme = get_programme(s, programme_key)
        announcement = announcement_of(s, programme)
        owner = s.get(Unit, programme.owner_unit_id)
        todo = [(r.id, parse_spec(_result_spec(settings, programme, owner, unit, r, announcement.at)), unit)
                for r, unit in s.execute(select(Result, Unit).join(Application, Application.id == Result.application_id)
                                         .join(Unit, Unit.id == Application.unit_id)
                                         .where(Result.programme_id == programme.id, Result.letter_id.is_(None))
                                         .order_by(Result.id)).all()]
        owner_key = owner.key
    for result_id, spec, unit in todo:
        issued = issue_owner_letter(db, settings, spec, owner_key, unit, actor=actor, at=at)
        with db.transaction() as s:
            recorded = s.execute(update(Result).where(Result.id == result_id, Result.letter_id.is_(None))
                                 .values(letter_id=issued.letter_id)).rowcount
            if recorded:
                result = s.get(Result, result_id)
                record_event(s, "result.letter_issued", actor=actor, at=at, unit_id=unit.id,
                             office_id=programme.owner_unit_id, letter_id=issued.letter_id,
                             data={"programme": programme_key, "application": result.application_id,
                                   "level": result.level, "ref": issued.ref})


@contextmanager
def _announcement_lock(db: Database, settings: Settings, programme_id: int) -> Iterator[None]:
    """One process at a time makes an announcement's files (saraban.records.locks: PostgreSQL's advisory lock,
    a file lock of the data folder on SQLite)."""
    with advisory_lock(db, settings, ANNOUNCEMENT_FILES, programme_id):
        yield


def announcement_folder(programme_key: str) -> str:
    """The announcement's folder, relative to the output folder."""
    return f"programmes/{programme_key}/announcement"


def _make_files(db: Database, settings: Settings, programme_key: str, actor: str, at: datetime) -> None:
    """The ประกาศ's .docx and PDF, made once (under a lock, outside any write transaction) and kept; the PDF's
    content hash is recorded as enclosed with each result letter (IssuedFile kind ``announcement``)."""
    with db.reading() as s:
        programme = get_programme(s, programme_key)
        programme_id = programme.id
    with _announcement_lock(db, settings, programme_id):
        with db.reading() as s:
            programme = s.get(Programme, programme_id)
            announcement = announcement_of(s, programme)
            if announcement.pdf_key and (settings.output_dir / announcement.pdf_key).exists():
                return
            owner = s.get(Unit, programme.owner_unit_id)
            lines = _result_lines(s, programme)
            context = announcement_context(
                settings, owner_name=owner.printed_sender, programme_name=programme.name, year=programme.year,
                window=window_text(programme), applicants=len(lines), levels=award_levels(programme),
                units=[AnnouncedUnit(r.unit_name, r.province, r.percent, r.level) for r in lines],
                dated=as_thai(announcement.at).date(),
                signer=programme.definition.get("invitation", {}).get("signer") or {})
            announcement_id = announcement.id
        folder = announcement_folder(programme.key)
        docx_key, pdf_key = f"{folder}/announcement.docx", f"{folder}/announcement.pdf"
        docx = announcement_docx(context, settings)
        pdf_path = settings.output_dir / pdf_key
        if not pdf_path.exists():  # (one there was put whole by a run that stopped before recording it: kept)
            pdf = announcement_pdf(docx, settings)
            write_replacing(settings.output_dir / docx_key, docx)  # the editable source of the PDF made now
            write_new(pdf_path, pdf)
        elif not (settings.output_dir / docx_key).exists():
            write_new(settings.output_dir / docx_key, docx)
        pdf = pdf_path.read_bytes()
        # For /verify: the ประกาศ goes with each result letter (saraban.chain.verification).
        issued = [issued_row(pdf, r.letter_id, None, "announcement", at) for r in lines if r.letter_id]
        digest = sha256_of(pdf)
        with db.transaction() as s:
            s.execute(update(Announcement).where(Announcement.id == announcement_id)
                      .values(docx_key=docx_key, pdf_key=pdf_key))
            record_issued(s, issued)
            record_event(s, "announcement.files_made", actor=actor, at=at, unit_id=programme.owner_unit_id,
                         office_id=programme.owner_unit_id,
                         data={"programme": programme_key, "docx": docx_key, "pdf": pdf_key, "sha256": digest})


def announce(db: Database, settings: Settings, programme_key: str, *, actor: str,
             at: datetime | None = None) -> Announced:
    """Announce the programme's results (see the module's notes): refused with ProgrammeError, changing nothing,
    while the window is open, without applications, or while an application is not fully assessed. Announcing
    again returns the announcement made (and completes what a stopped run left undone)."""
    at = at_or_now(at)
    announcement_id, new = _record_announcement(db, programme_key, actor, at)
    _issue_result_letters(db, settings, programme_key, actor, at)
    _make_files(db, settings, programme_key, actor, at)
    with db.reading() as s:
        programme = get_programme(s, programme_key)
        a = s.get(Announcement, announcement_id)
        return Announced(a.id, new, a.at, a.announced_by, _result_lines(s, programme),
                         settings.output_dir / a.docx_key if a.docx_key else None,
                         settings.output_dir / a.pdf_key if a.pdf_key else None)


def announcement_file(db: Database, settings: Settings, programme_key: str, fmt: str) -> Path | None:
    """The announcement's .docx or PDF, None while the results are not announced (or the file is missing)."""
    with db.reading() as s:
        a = announcement_of(s, get_programme(s, programme_key))
        key = (a.docx_key if fmt == "docx" else a.pdf_key if fmt == "pdf" else None) if a else None
    path = settings.output_dir / key if key else None
    return path if path is not None and path.is_file() else None


__all__ = ["Announced", "AssessmentView", "ProgrammeError", "announce", "announcement_file", "assessment_of",
           "record_scores", "results_so_far", "view_of"]
