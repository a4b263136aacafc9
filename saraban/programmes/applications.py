"""Programmes local administrations apply to (field-examples §2): recorded from their definition
(``saraban.programmes.definitions``), invited by circular, applied to once per unit.

The invitation (``send_invitation``) is a circular issued with the circular machinery. Its QR codes are
the programme's general application link (``{base_url}/apply/{key}``) and, for a meeting, the video
conference link; besides them every recipient's copy already carries its own tracking QR
(``{base_url}/t/{token}``, the delivery's signed token): scanning it ลงรับ the letter and opens the
application form for that very unit, so the body asks recipients to "สแกน QR ลงรับเพื่อสมัคร".

``apply`` is the one core that the CLI (``saraban apply``) and, later, the web form call.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saraban.chain.circulars import CircularError, Issued, Receipt, issue_circular, receive
from saraban.directory.levels import LEVEL_NAMES, DirectoryError, find_province, resolve_levels
from saraban.directory.units import ancestors, descendants, get_unit
from saraban.kernel.clock import as_thai, at_or_now, iso
from saraban.kernel.email_address import check_email
from saraban.kernel.settings import Settings
from saraban.kernel.text_input import normalise_text, text_problem
from saraban.kernel.wording import WordingError, mail_wording, wording_parts
from saraban.letters.spec import LetterSpec, parse_spec
from saraban.programmes.definitions import (
    CONTACT_KEYS,
    ProgrammeError,
    check_definition,
    invitation_defaults,
    load_programme_file,
    read_definition_file,
    text_key,
)
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Announcement, Application, Delivery, Event, Letter, Programme, Unit
from thai_text import fiscal_year, format_thai_date, thai_digits_in_prose, to_thai_digits

if TYPE_CHECKING:
    from saraban.notify.mail import MailResult


# -------------------------------------------------------------------------------------------- records


def create_programme(db: Database, definition: str | Path | Mapping[str, Any], *, update: bool = False,
                     actor: str = "saraban", at: datetime | None = None) -> Programme:
    """Record a programme. Idempotent by key: the same definition again returns the same row; a
    different definition for a key already recorded is refused unless ``update`` (then the row is
    changed and an event ``programme.updated`` keeps the previous definition)."""
    if isinstance(definition, str | Path):
        source, data = str(definition), read_definition_file(Path(definition))
    else:
        source, data = "", dict(definition)
    checked = check_definition(data, source)
    d = checked.definition
    at = at_or_now(at)
    with db.transaction() as s:
        owner = get_unit(s, d["owner"])
        problems = []
        for key in checked.area_units:
            try:
                get_unit(s, key)
            except DirectoryError as e:
                problems.append(f"eligible.areas: '{key}' is neither a province nor a unit key ({e})")
        if problems:
            raise ProgrammeError(problems, source)
        values = {"name": d["name"], "owner_unit_id": owner.id, "year": d["year"],
                  "fiscal_year": d.get("fiscal_year") or fiscal_year(checked.closes_at.date()),
                  "opens_at": checked.opens_at, "closes_at": checked.closes_at, "definition": d}
        existing = s.scalar(select(Programme).where(Programme.key == d["key"]))
        if existing is not None:
            if existing.definition == d:
                return existing
            if not update:
                raise ProgrammeError([f"key: a programme '{d['key']}' is already recorded with a different "
                                      "definition; give a new key, or update it (--update) / มีโครงการนี้แล้ว"],
                                     source)
            record_event(s, "programme.updated", actor=actor, at=at, unit_id=owner.id, office_id=owner.id,
                         data={"programme": d["key"], "previous": existing.definition})
            for name, value in values.items():
                setattr(existing, name, value)
            return existing
        programme = Programme(key=d["key"], created_at=at, **values)
        s.add(programme)
        s.flush()
        record_event(s, "programme.created", actor=actor, at=at, unit_id=owner.id, office_id=owner.id,
                     data={"programme": d["key"]})
        return programme


def get_programme(session: Session, key: str) -> Programme:
    """A programme by key (or exact name); ProgrammeError with did-you-mean when there is none."""
    text = key.strip()
    found = session.scalar(select(Programme).where(Programme.key == text))
    if found is None:
        found = session.scalars(select(Programme).where(Programme.name == text)).first()
    if found is not None:
        return found
    known = list(session.scalars(select(Programme.key)))
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else (f"; known: {', '.join(known)}" if known else "")
    raise ProgrammeError(f"unknown programme '{text}'{hint} / ไม่พบโครงการ '{text}'")


def list_programmes(session: Session) -> list[Programme]:
    return list(session.scalars(select(Programme).order_by(Programme.key)))


# ------------------------------------------------------------------------------------------ eligibility


def _eligibility(programme: Programme) -> tuple[tuple[str, ...], set[str], list[str]]:
    """(levels, province codes, area unit keys) of a recorded programme."""
    e = (programme.definition or {}).get("eligible") or {}
    levels: list[str] = []
    for text in e.get("levels", []):
        levels += [x for x in resolve_levels(text) if x not in levels]
    provinces, units = set(), []
    for text in e.get("areas", []):
        try:
            provinces.add(find_province(text).code)
        except DirectoryError:
            units.append(text)
    return tuple(levels), provinces, units


def _areas_text(programme: Programme) -> str:
    return ", ".join(((programme.definition or {}).get("eligible") or {}).get("areas", []))


def _levels_text(levels: tuple[str, ...]) -> str:
    return ", ".join(LEVEL_NAMES.get(x, x) for x in levels)


def _ineligible(session: Session, programme: Programme, unit: Unit) -> str | None:
    """Why the unit may not apply (Thai / English), or None."""
    levels, provinces, area_keys = _eligibility(programme)
    if unit.level not in levels:
        return (f"{unit.name} ({unit.key}) เป็น{LEVEL_NAMES.get(unit.level, unit.level)} ซึ่งไม่มีสิทธิ์สมัคร"
                f" — {programme.name} เปิดรับเฉพาะ {_levels_text(levels)} / not eligible: level "
                f"'{unit.level}' is not one of {', '.join(levels)}")
    if provinces or area_keys:
        up = {u.key for u in ancestors(session, unit)}
        if unit.province_code not in provinces and not up & set(area_keys):
            return (f"{unit.name} ({unit.key}) อยู่นอกพื้นที่ของโครงการ ({_areas_text(programme)}) / not "
                    f"eligible: outside the programme's areas ({_areas_text(programme)})")
    return None


def eligible_units(session: Session, programme: Programme) -> list[Unit]:
    """The units that may apply: at an eligible level and, when areas are given, in one of them."""
    levels, provinces, area_keys = _eligibility(programme)
    units = list(session.scalars(select(Unit).where(Unit.level.in_(levels)).order_by(Unit.key)))
    if not provinces and not area_keys:
        return units
    inside = {u.id for area in session.scalars(select(Unit).where(Unit.key.in_(area_keys)))
              for u in descendants(session, area)}
    return [u for u in units if u.province_code in provinces or u.id in inside]


def eligible_condition(session: Session, programme: Programme):
    """:func:`eligible_units`' rule as a condition on ``Unit``, to count in the database (the dashboard)."""
    from sqlalchemy import and_, or_

    levels, provinces, area_keys = _eligibility(programme)
    if not provinces and not area_keys:
        return Unit.level.in_(levels)
    inside = sorted({u.id for area in session.scalars(select(Unit).where(Unit.key.in_(area_keys)))
                     for u in descendants(session, area)})
    return and_(Unit.level.in_(levels), or_(Unit.province_code.in_(sorted(provinces)), Unit.id.in_(inside)))


def applicant_ids(session: Session, programme: Programme) -> set[int]:
    """The ids of the units that have applied."""
    return set(session.scalars(select(Application.unit_id).where(Application.programme_id == programme.id)))


# ----------------------------------------------------------------------------------------------- window


def _clock(moment: datetime) -> str:
    return to_thai_digits(f"{as_thai(moment):%H.%M}")


def window_text(programme: Programme) -> str:
    """The window in Thai: ``ตั้งแต่วันที่ ๑ ธันวาคม ๒๕๖๔ ถึงวันที่ ๒๘ กุมภาพันธ์ ๒๕๖๕ เวลา ๒๓.๕๙ น.``"""
    opens, closes = as_thai(programme.opens_at), as_thai(programme.closes_at)
    start = f"ตั้งแต่วันที่ {format_thai_date(opens.date())}"
    if opens.time() != time(0, 0):
        start += f" เวลา {_clock(opens)} น."
    return f"{start} ถึงวันที่ {format_thai_date(closes.date())} เวลา {_clock(closes)} น."


def is_open(programme: Programme, at: datetime) -> bool:
    """Whether ``at`` (a naive time is Thai time) falls in the window, its closing minute included."""
    at = as_thai(at)
    return programme.opens_at <= at < programme.closes_at + timedelta(minutes=1)


# ----------------------------------------------------------------------------------------------- scores


def _structure(definition: Mapping[str, Any] | Programme) -> dict[str, Any]:
    d = definition.definition if isinstance(definition, Programme) else definition
    return d["structure"]


def _indicators(structure: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """indicator key -> (min, max)."""
    scale = structure.get("scale", {})
    low, high = scale.get("min", 0), scale.get("max", 5)
    return {i["key"]: (low, i.get("max", high)) for c in structure["components"] for i in c["indicators"]}


def check_scores(definition: Mapping[str, Any] | Programme, scores: Mapping[Any, Any]) -> dict[str, float]:
    """Scores per indicator, checked against the structure: ProgrammeError lists every problem."""
    ranges = _indicators(_structure(definition))
    problems, out = [], {}
    if not isinstance(scores, Mapping):
        raise ProgrammeError("scores: expected a mapping of indicator → score, e.g. {'1.1': 4}")
    for raw_key, raw in scores.items():
        key = str(text_key(raw_key)).strip()
        if key not in ranges:
            close = difflib.get_close_matches(key, list(ranges), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"scores.{key}: unknown indicator{hint} / ไม่มีตัวชี้วัด {key}")
            continue
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(str(raw).strip()) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            problems.append(f"scores.{key}: expected a number; got {raw!r} / คะแนนต้องเป็นตัวเลข")
            continue
        low, high = ranges[key]
        if not low <= value <= high:
            problems.append(f"scores.{key}: {value:g} is out of range: expected {low:g} to {high:g} / "
                            f"คะแนนต้องอยู่ระหว่าง {low:g} ถึง {high:g}")
            continue
        out[key] = int(value) if value.is_integer() else value
    if problems:
        raise ProgrammeError(problems)
    return out


def weighted_percent(definition: Mapping[str, Any] | Programme, scores: Mapping[str, float]) -> float:
    """The weighted percentage: each component's score sum over its maximum, times its weight (an
    indicator without a score counts as the scale's minimum)."""
    structure = _structure(definition)
    ranges = _indicators(structure)
    total_weight = sum(c["weight"] for c in structure["components"])
    percent = 0.0
    for c in structure["components"]:
        keys = [i["key"] for i in c["indicators"]]
        got = sum(scores.get(k, ranges[k][0]) - ranges[k][0] for k in keys)
        best = sum(ranges[k][1] - ranges[k][0] for k in keys)
        percent += c["weight"] * got / best
    return round(percent * 100 / total_weight, 2)


def provisional_level(definition: Mapping[str, Any] | Programme, scores: Mapping[Any, Any] | None) -> str | None:
    """The award level the self-assessment reaches (the highest whose ``min_percent`` the weighted
    percentage meets), or None (no scores, or below the lowest level). Scores are checked first."""
    if not scores:
        return None
    return level_for(definition, weighted_percent(definition, check_scores(definition, scores)))


def level_for(definition: Mapping[str, Any] | Programme, percent: float) -> str | None:
    """The highest award level whose ``min_percent`` the weighted percentage meets (None: below the lowest)."""
    reached = [lv for lv in _structure(definition)["levels"] if percent >= lv["min_percent"]]
    return reached[-1]["name"] if reached else None


# ---------------------------------------------------------------------------------------------- apply


@dataclass(frozen=True)
class ApplicationResult:
    application_id: int
    revision: int
    new: bool
    ack_letter_id: int | None
    ack_ref: str | None
    provisional_level: str | None
    mail: MailResult | None
    received: tuple[Receipt, ...] = ()  # the unit's invitation copies received by this application


def _check_contact(contact: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(contact, Mapping):
        raise ProgrammeError("contact: expected a mapping with keys " + ", ".join(CONTACT_KEYS))
    problems = []
    out = {}
    for key, value in contact.items():
        if key not in CONTACT_KEYS:
            close = difflib.get_close_matches(str(key), CONTACT_KEYS, n=1)
            problems.append(f"contact.{key}: unknown key" + (f" (did you mean '{close[0]}'?)" if close else ""))
        elif value is not None and str(value).strip():
            text = normalise_text(str(value))  # one form (NFC, Thai sara am); nothing invisible stored
            problem = text_problem(text)
            if problem:
                problems.append(f"contact.{key}: {problem}")
            else:
                out[key] = " ".join(text.split())
    if not out.get("name"):
        problems.append("contact.name: required: the person to contact (ผู้ประสานงาน)")
    if out.get("email"):
        try:
            check_email(out["email"])
        except ValueError as e:
            problems.append(f"contact.email: {e}")
    if problems:
        raise ProgrammeError(problems)
    return out


def _refuse_outside(programme: Programme, at: datetime) -> None:
    if is_open(programme, at):
        return
    when = f"{format_thai_date(at.date())} เวลา {_clock(at)} น."
    raise ProgrammeError(
        f"ไม่อยู่ในช่วงรับสมัคร {programme.name}: รับสมัคร{window_text(programme)} (ได้รับเมื่อ {when}) / "
        f"outside the application window: {programme.opens_at:%Y-%m-%d %H:%M} to "
        f"{programme.closes_at:%Y-%m-%d %H:%M} (Asia/Bangkok), applied at {at:%Y-%m-%d %H:%M}")


def _snapshot(a: Application) -> dict[str, Any]:
    return {"revision": a.revision, "contact": a.contact, "scores": a.scores,
            "provisional_level": a.provisional_level, "updated_at": iso(a.updated_at)}


def _record_application(db: Database, programme_key: str, unit_key: str, contact: Mapping[str, Any],
                        scores: Mapping[Any, Any] | None, at: datetime, actor: str,
                        late: dict[str, Any] | None = None) -> tuple[int, int, bool, str | None, int | None]:
    """One transaction: every check, then insert or update. Returns (id, revision, new, level, ack id).
    ``late``: a paper application recorded by the owner outside the window (record_late_application):
    refused while the window is open, kept in the event with its reason."""
    with db.transaction() as s:
        try:
            programme = get_programme(s, programme_key)
            unit = get_unit(s, unit_key)
        except DirectoryError as e:
            raise ProgrammeError(str(e)) from None
        clean_contact = _check_contact(contact)
        clean_scores = check_scores(programme, scores) if scores is not None else None
        if late is None:
            _refuse_outside(programme, at)
        elif is_open(programme, at):
            raise ProgrammeError(f"ยังอยู่ในช่วงรับสมัคร {programme.name} ให้ยื่นใบสมัครตามปกติ (saraban apply) / the "
                                 "application window is open: apply as usual (saraban apply); a late application "
                                 "is recorded only outside the window")
        # Shared lock on the programme (PostgreSQL): an announcement (which locks it for update) and an
        # application do not cross; once the results are announced nothing more is recorded.
        s.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update(read=True))
        if s.scalar(select(Announcement.id).where(Announcement.programme_id == programme.id)) is not None:
            raise ProgrammeError(f"ประกาศผล{programme.name}แล้ว ไม่รับใบสมัครเพิ่ม / the results of this programme are "
                                 "announced: no application can be recorded any more")
        late_data = {"late": late} if late else {}
        office_id = programme.owner_unit_id if late else unit.id  # a late paper application: the owner's act
        why = _ineligible(s, programme, unit)
        if why:
            raise ProgrammeError(why)
        owner = s.get(Unit, programme.owner_unit_id)
        if not owner.letter_code:
            raise ProgrammeError(f"the owner {owner.name} ({owner.key}) has no letter code (รหัสหนังสือ) for the "
                                 f"acknowledgement letter; set it: saraban directory set {owner.key} "
                                 "--letter-code '...'")
        # Locked first (PostgreSQL): the applicant's row, so that applications of one unit queue (the first
        # inserts, the next find it and update it, each revision counted once); uq_application backs it (a
        # second first application is refused and apply() runs it again as an update).
        s.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update(key_share=True))
        existing = s.scalar(select(Application).where(Application.programme_id == programme.id,
                                                      Application.unit_id == unit.id)
                            .with_for_update().execution_options(populate_existing=True))
        if existing is None:
            level = provisional_level(programme, clean_scores)
            a = Application(programme_id=programme.id, unit_id=unit.id, contact=clean_contact,
                            scores=clean_scores, provisional_level=level, revision=1, submitted_at=at,
                            updated_at=at)
            s.add(a)
            s.flush()
            record_event(s, "application.submitted", actor=actor, at=at, unit_id=unit.id, office_id=office_id,
                         data={"programme": programme.key, "application": a.id, "contact": clean_contact,
                               "scores": clean_scores, "provisional_level": level} | late_data)
            return a.id, 1, True, level, None
        previous = _snapshot(existing)
        if clean_scores is None:
            clean_scores = existing.scores  # an update without scores keeps the scores given before
        level = provisional_level(programme, clean_scores)
        existing.contact, existing.scores, existing.provisional_level = clean_contact, clean_scores, level
        existing.revision += 1
        existing.updated_at = at
        record_event(s, "application.updated", actor=actor, at=at, unit_id=unit.id, office_id=office_id,
                     letter_id=existing.ack_letter_id,
                     data={"programme": programme.key, "application": existing.id,
                           "revision": existing.revision, "previous": previous} | late_data)
        return existing.id, existing.revision, False, level, existing.ack_letter_id


def _ack_spec(settings: Settings, programme: Programme, owner: Unit, unit: Unit,
              application: Application) -> dict[str, Any]:
    """The acknowledgement's spec, worded by the template ``programmes/acknowledgement``."""
    when = as_thai(application.submitted_at)
    try:
        subject, body = wording_parts(settings, "programmes/acknowledgement", owner=owner.printed_sender,
                                      unit=unit.name, programme=programme.name, year=programme.year,
                                      received_on=format_thai_date(when.date()), received_at=f"{when:%H.%M}",
                                      level=application.provisional_level or "")
    except WordingError as e:
        raise ProgrammeError(str(e)) from None
    ack = programme.definition.get("invitation", {}).get("owner") or {"unit": owner.name}
    ack = {k: v for k, v in ack.items() if v}
    return {"kind": "stamped", "date": when.date().isoformat(),
            "sender": {"name": owner.printed_sender} | ({"address": owner.address} if owner.address else {}),
            "to": unit.name, "subject": subject, "body": body,
            "owner": ack}


def issue_owner_letter(db: Database, settings: Settings, spec: LetterSpec, owner_key: str, unit: Unit, *,
                       actor: str, at: datetime) -> Issued:
    """A letter of the programme's owner to one unit (acknowledgement, result), numbered in the owner's send
    register; issuing the same spec again returns the letter already issued."""
    try:
        # Made as a unit applies (no clerk at hand): a guessed owner's code does not refuse the application.
        return issue_circular(db, settings, spec, sender_key=owner_key, to=[unit], actor=actor, at=at,
                              circular=False, uncertain_code_ok=True)
    except CircularError as e:
        raise ProgrammeError(str(e)) from None


def _issue_ack(db: Database, settings: Settings, application_id: int, actor: str, at: datetime) -> Issued:
    with db.transaction() as s:
        a = s.get(Application, application_id)
        programme = s.get(Programme, a.programme_id)
        owner, unit = s.get(Unit, programme.owner_unit_id), s.get(Unit, a.unit_id)
        spec = parse_spec(_ack_spec(settings, programme, owner, unit, a))
        unit_id, owner_id, owner_key = unit.id, owner.id, owner.key
    issued = issue_owner_letter(db, settings, spec, owner_key, unit, actor=actor, at=at)
    with db.transaction() as s:
        # Concurrent first applications may all get here: issue_circular gives them the same letter, and
        # only the first to record it records the event.
        recorded = s.execute(update(Application).where(Application.id == application_id,
                                                       Application.ack_letter_id.is_(None))
                             .values(ack_letter_id=issued.letter_id)).rowcount
        if not recorded:
            return issued
        a = s.get(Application, application_id)
        record_event(s, "application.acknowledged", actor=actor, at=at, unit_id=unit_id, office_id=owner_id,
                     letter_id=issued.letter_id, data={"application": a.id, "ref": issued.ref})
    return issued


def _mail(db: Database, settings: Settings, application_id: int, *, new: bool, revision: int, actor: str,
          at: datetime) -> MailResult | None:
    from saraban.chain.mailing import PdfError, copy_url, letter_pdf, mail_configured, verify_url
    from saraban.notify.mail import MailResult, OutgoingMail, message_id_for, record_mail, send_mail
    from saraban.programmes.applicant import invitation_copies

    with db.transaction() as s:
        a = s.get(Application, application_id)
        programme = s.get(Programme, a.programme_id)
        unit, owner = s.get(Unit, a.unit_id), s.get(Unit, programme.owner_unit_id)
        to = list(dict.fromkeys(x for x in (a.contact.get("email"), unit.email) if x))
        letter = s.get(Letter, a.ack_letter_id) if a.ack_letter_id else None
        copy = s.scalar(select(Delivery).where(Delivery.letter_id == letter.id, Delivery.unit_id == unit.id)) \
            if letter else None
        title = f"{programme.name} ประจำปี {to_thai_digits(programme.year)}"
        level = a.provisional_level
        unit_name, unit_id, owner_id, owner_name = unit.name, unit.id, owner.id, owner.printed_sender
        ref = to_thai_digits(letter.ref_text) if letter else None
        # The links open the unit's own pages: its application (with its invitation copy's token) and its copy
        # of the acknowledgement.
        invited = invitation_copies(s, programme, unit.id)
        apply_link = application_url(settings, programme.key, invited[0].token if invited else None)
        copy_link = copy_url(settings, copy.token) if copy else None
    if not to:
        return None
    contact = a.contact.get("name", "")
    files: list[tuple[Path, str]] = []
    problem = None
    words = {"contact": contact, "owner": owner_name, "unit": unit_name, "title": title, "ref": ref or "",
             "level": level or "", "apply_link": apply_link}
    try:
        if new:
            subject, body = mail_wording(settings, "email/acknowledgement", **words, copy_link=copy_link or "",
                                         verify_url=verify_url(settings))
        else:
            subject, body = mail_wording(settings, "email/application_update", **words, revision=revision,
                                         updated_on=format_thai_date(as_thai(at).date()), updated_at=_clock(at))
    except WordingError as e:  # recorded as a failed send, visible in the status, tried again daily
        subject, body, problem = f"{title} — {unit_name}", "", str(e)
    if new and not problem and letter is not None and mail_configured(settings):  # the PDF, never the .docx
        try:
            files = [letter_pdf(db, settings, letter.id, unit_id)]
        except PdfError as e:
            problem = f"the acknowledgement's PDF could not be made: {e}"
    subject, body = thai_digits_in_prose(subject), thai_digits_in_prose(body)
    # One Message-ID per letter (or revision) and addressees: a resend after a crash is the same message.
    about = f"acknowledgement:{application_id}" if new else f"application-update:{application_id}:{revision}"
    ident = ("letter", letter.id, *to) if new and letter else (about, *to)
    if problem:  # recorded as a failed send: the daily resend tries again (resend_failed_acknowledgements)
        result = MailResult(False, to, {}, 0, problem, message_id_for(settings, *ident))
    else:
        result = send_mail(settings, OutgoingMail(to=to, subject=subject, body=body, attachments=list(files)),
                           message_id=message_id_for(settings, *ident))
    with db.transaction() as s:
        record_mail(s, result, actor=actor, at=at, unit_id=unit_id, letter_id=letter.id if letter else None,
                    subject=subject, office_id=owner_id, about=about)
    return result


@dataclass(frozen=True)
class AcknowledgementResend:
    """One acknowledgement e-mail sent again because its last send failed."""

    application_id: int
    unit_key: str
    unit_name: str
    letter_id: int
    ref: str
    result: MailResult | None  # None: no address any more


def failed_acknowledgements(session: Session) -> list[int]:
    """The applications whose acknowledgement e-mail's last send failed (a temporary failure: the server
    down or silent; a refusal is final), oldest first."""
    from saraban.notify.mail import PROBLEM_KINDS

    acks = dict(session.execute(select(Application.ack_letter_id, Application.id)
                                .where(Application.ack_letter_id.is_not(None))).all())
    last: dict[int, str] = {}  # application id -> the kind of its acknowledgement's last send
    for start in range(0, len(acks), 500):
        ids = list(acks)[start:start + 500]
        for event in session.scalars(select(Event).where(
                Event.letter_id.in_(ids), Event.kind.in_(("mail.sent", *PROBLEM_KINDS))).order_by(Event.id)):
            if (event.data or {}).get("about") == f"acknowledgement:{acks[event.letter_id]}":
                last[acks[event.letter_id]] = event.kind
    return sorted(app_id for app_id, kind in last.items() if kind == "mail.failed")


def resend_failed_acknowledgements(db: Database, settings: Settings, *, actor: str = "saraban",
                                   at: datetime | None = None) -> list[AcknowledgementResend]:
    """Send again, once, every acknowledgement e-mail whose last send failed (the daily flow calls this);
    each send is recorded as the first was (with the same Message-ID), so a success resolves the failure."""
    at = at_or_now(at)
    with db.transaction() as s:
        todo = failed_acknowledgements(s)
    done = []
    for app_id in todo:
        result = _mail(db, settings, app_id, new=True, revision=1, actor=actor, at=at)
        with db.transaction() as s:
            a = s.get(Application, app_id)
            unit, letter = s.get(Unit, a.unit_id), s.get(Letter, a.ack_letter_id)
            done.append(AcknowledgementResend(app_id, unit.key, unit.name, letter.id, letter.ref_text, result))
    return done


def apply(db: Database, settings: Settings, programme_key: str, unit_key: str, *, contact: Mapping[str, Any],
          scores: Mapping[Any, Any] | None = None, at: datetime | None = None,
          actor: str = "saraban") -> ApplicationResult:
    """Apply ``unit_key`` to a programme (the CLI's ``saraban apply`` and the web form call this).

    Refused with ProgrammeError, changing nothing: an unknown programme or unit, outside the window
    (the dates in Thai), a unit not eligible (why), a bad contact or bad scores.

    The first application is recorded (revision 1) and acknowledged: a หนังสือประทับตรา ตอบรับ from the
    owner to the unit, numbered in the owner's send register, then an e-mail with it attached to the
    contact's and the unit's addresses. A second application by the same unit is an *update*: same row,
    revision + 1, an event ``application.updated`` keeping the previous data; it makes **no** second
    acknowledgement letter (only a short confirmation e-mail). If an earlier run stopped before the
    acknowledgement was issued, the update issues it. Applying counts as ลงรับ of the unit's copy of the
    invitation when it had not received it (``received``): never a "not received" reminder after it.

    The submission time is the server's clock: ``at`` is for flows and tests that simulate the clock
    (the demo's programme year); no face passes a time a caller chose.
    """
    return _submit(db, settings, programme_key, unit_key, contact=contact, scores=scores, at=at, actor=actor)


def record_late_application(db: Database, settings: Settings, programme_key: str, unit_key: str, *,
                            contact: Mapping[str, Any], reason: str, received_on: date,
                            scores: Mapping[Any, Any] | None = None, actor: str = "saraban",
                            at: datetime | None = None) -> ApplicationResult:
    """The owner records an application that came on paper after the window closed (or before it opened):
    an owner's act with a reason, kept in the event (``late``: reason, the day the paper was received,
    who recorded it). Refused while the window is open (then the unit applies as usual) and without a
    reason. Recorded at the server's time (``at``: flows and tests only); acknowledged as :func:`apply`."""
    reason = " ".join(normalise_text(reason or "").split())
    if reason and (problem := text_problem(reason)):
        raise ProgrammeError(f"--reason: {problem}")
    if not reason:
        raise ProgrammeError("ระบุเหตุที่รับใบสมัครนอกช่วงเวลา (--reason) / give the reason for accepting a late "
                             "application (--reason)")
    at = at_or_now(at)
    if received_on > at.date():
        raise ProgrammeError(f"วันที่ได้รับ {received_on.isoformat()} ยังมาไม่ถึง / the day it was received, "
                             f"{received_on.isoformat()}, is in the future")
    late = {"reason": reason, "received_on": received_on.isoformat(), "recorded_by": actor}
    return _submit(db, settings, programme_key, unit_key, contact=contact, scores=scores, at=at, actor=actor,
                   late=late)


def _submit(db: Database, settings: Settings, programme_key: str, unit_key: str, *, contact: Mapping[str, Any],
            scores: Mapping[Any, Any] | None, at: datetime | None, actor: str,
            late: dict[str, Any] | None = None) -> ApplicationResult:
    at = at_or_now(at)
    for attempt in range(2):
        try:
            app_id, revision, new, level, ack_id = _record_application(db, programme_key, unit_key, contact,
                                                                         scores, at, actor, late)
            break
        except IntegrityError:  # a simultaneous first application by the same unit: this one updates it
            if attempt:
                raise
    ack_ref = None
    if ack_id is None:
        issued = _issue_ack(db, settings, app_id, actor, at)
        ack_id, ack_ref = issued.letter_id, issued.ref
    else:
        with db.transaction() as s:
            ack_ref = s.get(Letter, ack_id).ref_text
    received = () if late else _receive_invitation(db, settings, app_id, actor, at)
    mail = _mail(db, settings, app_id, new=new, revision=revision, actor=actor, at=at)
    return ApplicationResult(app_id, revision, new, ack_id, ack_ref, level, mail, received)


def _receive_invitation(db: Database, settings: Settings, application_id: int, actor: str,
                        at: datetime) -> tuple[Receipt, ...]:
    """Applying counts as ลงรับ of the unit's copy of the invitation (the owner's or one forwarded down to it)
    when the unit had not received it: the chain's own receive, so the register line, the event and the
    stamped copy are a clerk's ลงรับ's, exactly once; a unit that applied is never reminded to receive it.
    A cancelled invitation is not received (the application stands)."""
    from saraban.programmes.applicant import invitation_copies

    with db.reading() as s:
        a = s.get(Application, application_id)
        unit_key = s.get(Unit, a.unit_id).key
        letters = [d.letter_id for d in invitation_copies(s, s.get(Programme, a.programme_id), a.unit_id)
                   if d.received_at is None]
    receipts = []
    for letter_id in dict.fromkeys(letters):
        try:
            receipts.append(receive(db, settings, letter_id, unit_key, actor=actor, at=at))
        except CircularError:  # cancelled meanwhile: nothing to receive
            continue
    return tuple(receipts)


# ------------------------------------------------------------------------------------------ invitation


def application_url(settings: Settings, programme_key: str, token: str | None = None) -> str:
    """The programme's apply page; with a unit's invitation copy's token (``?t=``), that unit's."""
    url = f"{settings.base_url}/apply/{quote(programme_key, safe='')}"
    return f"{url}?t={quote(token, safe='')}" if token else url


def invitation_spec(session: Session, settings: Settings, programme: Programme, letter_date: date) -> dict[str, Any]:
    """The invitation's letter spec: the definition's, with date and sender filled in and the QR codes
    of the application link and the meeting (video conference) link added."""
    d = programme.definition
    owner = session.get(Unit, programme.owner_unit_id)
    spec = invitation_defaults(d["invitation"], letter_date=letter_date, sender_name=owner.printed_sender,
                                sender_address=owner.address)
    qr = list(spec.get("qr", []))
    qr.append({"url": application_url(settings, programme.key), "caption": f"สมัครเข้าร่วม{programme.name}"})
    if meeting := d.get("meeting"):
        qr.append({"url": meeting["url"], "caption": meeting["title"]})
    spec["qr"] = qr
    return spec


def send_invitation(db: Database, settings: Settings, programme_key: str, *, to: str, at: datetime | None = None,
                    actor: str = "saraban") -> Issued:
    """Issue the programme's invitation as a circular of the owner to ``to`` (a selector, e.g.
    ``all:subdistrict_municipality`` or ``ทุกจังหวัด`` to go down the chain). Each recipient's copy carries
    its own tracking QR (its signed token): scanning it ลงรับ and opens the application for that unit;
    the letter's QR codes add the general application link and the meeting link. Sending again returns
    the letter already issued."""
    at = at_or_now(at)
    with db.transaction() as s:
        programme = get_programme(s, programme_key)
        owner_key = s.get(Unit, programme.owner_unit_id).key
        spec = parse_spec(invitation_spec(s, settings, programme, at.date()))
        circular = spec.circular
        programme_id = programme.id
    try:
        issued = issue_circular(db, settings, spec, sender_key=owner_key, to=to, actor=actor, at=at,
                                circular=circular, uncertain_code_ok=True)  # the programme's flows run it
    except (CircularError, DirectoryError) as e:
        raise ProgrammeError(str(e)) from None
    with db.transaction() as s:
        programme = s.get(Programme, programme_id)
        if programme.invitation_letter_id != issued.letter_id:
            programme.invitation_letter_id = issued.letter_id
            record_event(s, "programme.invited", actor=actor, at=at, unit_id=programme.owner_unit_id,
                         office_id=programme.owner_unit_id,
                         letter_id=issued.letter_id, data={"programme": programme.key, "to": to})
    return issued


# -------------------------------------------------------------------------------------------- summary


def describe(session: Session, programme: Programme) -> str:
    """A plain-text summary for ``saraban programme show``."""
    d = programme.definition
    owner = session.get(Unit, programme.owner_unit_id)
    levels, _, _ = _eligibility(programme)
    s = d["structure"]
    indicators = sum(len(c["indicators"]) for c in s["components"])
    lines = [f"{programme.name} ประจำปี {to_thai_digits(programme.year)} ({programme.key})",
             f"owner: {owner.name} ({owner.key})" + ("" if owner.letter_code else
                                                     "  ! no letter code: set one before applications"),
             f"fiscal year: {programme.fiscal_year}",
             f"window: {window_text(programme)}",
             f"eligible: {_levels_text(levels)}" + (f"; areas: {_areas_text(programme)}"
                                                    if d["eligible"].get("areas") else "; all provinces"),
             f"structure: {len(s['components'])} components, {indicators} indicators"]
    lines += [f"  {c['key']}. {c['name']} ({c['weight']:g}%): {len(c['indicators'])} indicators"
              for c in s["components"]]
    lines.append("award levels: " + ", ".join(f"{lv['name']} ≥ {lv['min_percent']:g}%" for lv in s["levels"]))
    if meeting := d.get("meeting"):
        lines.append(f"meeting: {meeting['title']} at {meeting['at']} ({meeting['url']})")
    if programme.invitation_letter_id:
        letter = session.get(Letter, programme.invitation_letter_id)
        lines.append(f"invitation: letter {letter.id}, ที่ {letter.ref_text}")
    else:
        lines.append("invitation: not sent yet")
    eligible = eligible_units(session, programme)
    applied = applicant_ids(session, programme)
    lines.append(f"applications: {len(applied)} of {len(eligible)} eligible units")
    return "\n".join(lines)


__all__ = ["AcknowledgementResend", "ApplicationResult", "ProgrammeError", "applicant_ids", "apply", "check_scores",
           "create_programme", "eligible_units", "failed_acknowledgements", "get_programme", "load_programme_file",
           "provisional_level", "record_late_application", "resend_failed_acknowledgements", "send_invitation",
           "window_text"]
