"""Programmes local administrations apply to (field-examples §2): defined in YAML, invited by circular,
applied to once per unit.

A programme's definition (``examples/programmes/eco-town-2565.yaml``) gives its key, name, B.E. year
(and fiscal year), owner unit, who is eligible (levels, optional areas), the application window, the
invitation letter and the assessment structure (components with weights, indicators with a score
range, award levels with a threshold on the weighted percentage). ``load_programme_file`` checks all of
it at once and raises ``ProgrammeError`` listing every problem as ``key: what was expected``.

Times: a naive datetime is Thai wall-clock time (Asia/Bangkok), an aware one is converted to it. The
window is inclusive of its closing *minute*: ``closes: 2022-02-28 23:59`` (or the date alone, which
means the end of that day) accepts 23:59:59.999 and refuses 2022-03-01 00:00.

The invitation (``send_invitation``) is a circular issued with the circular machinery. Its QR codes are
the programme's general application link (``{base_url}/apply/{key}``) and, for a meeting, the video
conference link; besides them every recipient's copy already carries its own tracking QR
(``{base_url}/t/{token}``, the delivery's signed token): scanning it ลงรับ the letter and opens the
application form for that very unit, so the body asks recipients to "สแกน QR ลงรับเพื่อสมัคร".

``apply`` is the one core that the CLI (``saraban apply``) and, later, the web form call.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saraban.circulars import CircularError, Issued, issue_circular
from saraban.config import Settings
from saraban.db import Database
from saraban.directory import (
    LEVEL_NAMES,
    LEVELS,
    DirectoryError,
    ancestors,
    descendants,
    find_province,
    get_unit,
    resolve_levels,
)
from saraban.letter_spec import SpecError, _SpecLoader, parse_spec
from saraban.models import Application, Delivery, Letter, Programme, Unit
from saraban.registers import BANGKOK, local_time, record_event
from thai_text import fiscal_year, format_thai_date, to_thai_digits
from thai_text.dates import BE_OFFSET, MIN_BE_YEAR

if TYPE_CHECKING:
    from saraban.mail import MailResult

TIME_ZONE = "Asia/Bangkok"
CONTACT_KEYS = ("name", "position", "phone", "email")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PROGRAMME_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ProgrammeError(ValueError):
    """A definition or a request the rules refuse; ``problems`` holds one message per problem."""

    def __init__(self, problems: str | list[str], source: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__("\n".join(f"{where}{p}" for p in self.problems))


# ----------------------------------------------------------------------------------------- definition


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _text_key(v: Any) -> Any:
    """Indicator and component keys are text; YAML reads an unquoted 1.1 as a number."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class Indicator(_Part):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    max: float | None = None  # default: the structure's scale

    _key = field_validator("key", mode="before")(_text_key)


class Component(_Part):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: float = Field(gt=0)  # per cent of the total
    indicators: list[Indicator] = Field(min_length=1)

    _key = field_validator("key", mode="before")(_text_key)


class Scale(_Part):
    min: float = 0
    max: float = Field(default=5, gt=0)


class AwardLevel(_Part):
    name: str = Field(min_length=1)
    min_percent: float = Field(ge=0, le=100)  # weighted percentage from which the level is reached
    award: str | None = None  # e.g. เกียรติบัตร, โล่


class Structure(_Part):
    scale: Scale = Scale()
    components: list[Component] = Field(min_length=1)
    levels: list[AwardLevel] = Field(min_length=1)


class Eligibility(_Part):
    levels: list[str] = Field(min_length=1)  # level names or aliases (municipality, อบต., local ...)
    areas: list[str] = []  # province names or codes, or unit keys whose descendants are eligible

    @field_validator("areas", mode="before")
    @classmethod
    def _areas(cls, v: Any) -> Any:
        return [_text_key(x) for x in v] if isinstance(v, list) else v


class Window(_Part):
    opens: str  # ISO date or date and time (dates are made text before validation)
    closes: str
    time_zone: str = TIME_ZONE


class Meeting(_Part):
    title: str = Field(min_length=1)
    at: str
    url: str = Field(min_length=1)


class Definition(_Part):
    key: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    year: int  # B.E. (ประจำปี ๒๕๖๕)
    fiscal_year: int | None = None
    owner: str = Field(min_length=1)  # unit key
    eligible: Eligibility
    window: Window
    invitation: dict[str, Any]  # a letter spec without ref; date and sender default at send time
    meeting: Meeting | None = None
    structure: Structure
    description: str | None = None


def _path(loc: tuple[str | int, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: Any = Definition
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for a in getattr(annotation, "__args__", ()) if (m := _inner_model(a))), None)


def _describe(error: Any) -> str:
    loc, kind = error["loc"], error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1) if model else []
        return "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    if kind == "model_type" and (model := _model_at(loc)):
        return f"expected a mapping with keys {', '.join(model.model_fields)}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    return error["msg"].removeprefix("Value error, ")


def _moment(value: Any, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    """A date or datetime (or its ISO text) in ``zone``, as Thai wall-clock time."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected an ISO date or date and time in C.E., e.g. 2022-02-28 or "
                             f"2022-02-28 23:59; got '{value}'") from None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59) if end_of_day else time(0, 0))
    else:
        raise ValueError(f"expected a date or a date and time; got {value!r}")
    if moment.year >= MIN_BE_YEAR:
        raise ValueError(f"'{value}' looks like a B.E. year; write the C.E. year "
                         f"({moment.year - BE_OFFSET})")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return local_time(moment)


@dataclass(frozen=True)
class _Checked:
    definition: dict[str, Any]  # canonical: JSON-safe, validated
    opens_at: datetime
    closes_at: datetime  # the last minute of the window (inclusive)
    levels: tuple[str, ...]
    provinces: tuple[str, ...]  # province codes of the areas
    area_units: tuple[str, ...]  # unit keys of the areas


def _json_safe(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_json_safe(v) for v in data]
    if isinstance(data, datetime | date):
        return data.isoformat(sep=" ") if isinstance(data, datetime) else data.isoformat()
    return data


def _section(model: type[BaseModel], value: Any) -> Any:
    """A part validated on its own (None when it has problems: they are reported for the whole)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _check(data: Any, source: str = "") -> _Checked:
    """Validate a definition mapping; ProgrammeError lists every problem, of every part, at once."""
    if not isinstance(data, dict):
        raise ProgrammeError(["the definition must be a mapping of keys (key, name, year, owner, eligible, "
                              "window, invitation, structure)"], source)
    data = _json_safe(data)
    problems: dict[str, str] = {}
    model: Definition | None = None
    try:
        model = Definition.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # A misspelt key and the missing key it stands for are one mistake: the 'did you mean' says it all.
        meant = {e["loc"][:-1] + (m[1],) for e in errors if e["type"] == "extra_forbidden"
                 and (m := re.search(r"did you mean '([^']+)'", _describe(e)))}
        for error in errors:
            if not (error["type"] == "missing" and error["loc"] in meant):
                problems.setdefault(_path(error["loc"]), _describe(error))
    year, fiscal, key = data.get("year"), data.get("fiscal_year"), data.get("key")
    eligible = model.eligible if model else _section(Eligibility, data.get("eligible"))
    window = model.window if model else _section(Window, data.get("window"))
    meeting = model.meeting if model else _section(Meeting, data.get("meeting")) if data.get("meeting") else None
    structure = model.structure if model else _section(Structure, data.get("structure"))

    if isinstance(key, str) and key and not _PROGRAMME_KEY.fullmatch(key):
        problems["key"] = "expected letters, digits, '.', '_' or '-' (e.g. eco-town-2565)"
    if isinstance(year, int) and year < MIN_BE_YEAR:
        problems["year"] = f"expected the B.E. year (ปี พ.ศ.), e.g. {year + BE_OFFSET}; got {year}"
    if isinstance(fiscal, int) and fiscal < MIN_BE_YEAR:
        problems["fiscal_year"] = f"expected a B.E. year, e.g. {fiscal + BE_OFFSET}; got {fiscal}"

    levels: list[str] = []
    provinces: list[str] = []
    area_units: list[str] = []
    if eligible is not None:
        for i, text in enumerate(eligible.levels):
            try:
                levels += [x for x in resolve_levels(text) if x not in levels]
            except DirectoryError:
                problems[f"eligible.levels[{i}]"] = (f"unknown level '{text}'; expected one of {', '.join(LEVELS)} "
                                                     "(or municipality, local, อบต. ...)")
        for text in eligible.areas:
            try:
                provinces.append(find_province(text).code)
            except DirectoryError:
                area_units.append(text)  # a unit key: checked against the directory by create_programme

    opens = closes = None
    if window is not None:
        try:
            zone = ZoneInfo(window.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems["window.time_zone"] = f"unknown time zone '{window.time_zone}'; expected {TIME_ZONE}"
            zone = BANGKOK
        try:
            opens = _moment(window.opens, zone, end_of_day=False)
        except ValueError as e:
            problems["window.opens"] = str(e)
        try:
            closes = _moment(window.closes, zone, end_of_day=True)
            if closes.second or closes.microsecond:
                problems["window.closes"] = ("give the last minute of the window (HH:MM, it is included), "
                                             "no seconds")
        except ValueError as e:
            problems["window.closes"] = str(e)
        if opens and closes and closes <= opens:
            problems["window"] = "closes must come after opens"
    if meeting is not None:
        try:
            _moment(meeting.at, BANGKOK, end_of_day=False)
        except ValueError as e:
            problems["meeting.at"] = str(e)
        if not re.match(r"^https?://\S+$", meeting.url):
            problems["meeting.url"] = "expected a link starting with https://, without spaces"
    if structure is not None:
        problems |= _structure_problems(structure)
    invitation = data.get("invitation")
    if isinstance(invitation, dict):
        owner = data.get("owner") if isinstance(data.get("owner"), str) else "owner"
        for message in _invitation_problems(invitation, owner, opens):
            path, _, text = message.partition(": ")
            problems.setdefault(path, text)
    if problems:
        raise ProgrammeError([f"{k}: {v}" for k, v in problems.items()], source)
    assert model is not None and opens is not None and closes is not None
    return _Checked(model.model_dump(mode="json", exclude_none=True), opens, closes, tuple(levels),
                    tuple(provinces), tuple(area_units))


def _structure_problems(s: Structure) -> dict[str, str]:
    problems: dict[str, str] = {}
    if s.scale.min >= s.scale.max:
        problems["structure.scale"] = "min must be below max"
    total = sum(c.weight for c in s.components)
    if abs(total - 100) > 1e-6:
        problems["structure.components"] = f"the weights must add up to 100 (per cent); they add up to {total:g}"
    seen: dict[str, str] = {}
    keys = [c.key for c in s.components]
    for ci, c in enumerate(s.components):
        if keys.count(c.key) > 1:
            problems[f"structure.components[{ci}].key"] = f"'{c.key}' is used twice"
        for ii, ind in enumerate(c.indicators):
            where = f"structure.components[{ci}].indicators[{ii}]"
            if ind.key in seen:
                problems[f"{where}.key"] = f"'{ind.key}' is used twice (also at {seen[ind.key]})"
            seen.setdefault(ind.key, where)
            if ind.max is not None and ind.max <= s.scale.min:
                problems[f"{where}.max"] = f"must be above the scale's min ({s.scale.min:g})"
    thresholds = [lv.min_percent for lv in s.levels]
    if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        problems["structure.levels"] = ("list the award levels from the lowest to the highest, each with a "
                                        "higher min_percent")
    return problems


def _invitation_problems(invitation: dict[str, Any], owner: str, opens: datetime | None) -> list[str]:
    """The invitation spec checked as it will be issued (date and sender filled in when left out)."""
    if "ref" in invitation:
        return ["invitation.ref: leave it out: the owner's send register gives the number"]
    spec = _invitation_defaults(invitation, letter_date=(opens or datetime(2000, 1, 1)).date(),
                                sender_name=owner, sender_address=None)
    try:
        parse_spec(spec)
    except SpecError as e:
        return [f"invitation.{p}" for p in e.problems]
    return []


def _invitation_defaults(spec: dict[str, Any], *, letter_date: date, sender_name: str,
                         sender_address: str | None) -> dict[str, Any]:
    out = dict(spec)
    out.setdefault("date", letter_date.isoformat())
    if "sender" not in out:
        out["sender"] = {"name": sender_name} | ({"address": sender_address} if sender_address else {})
    out.setdefault("circular", True)
    return out


def check_programme(data: Any, source: str = "") -> dict[str, Any]:
    """The validated, canonical definition of a mapping (``ProgrammeError`` lists every problem)."""
    return _check(data, source).definition


def load_programme_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a programme's YAML file; return the canonical definition."""
    return check_programme(_read_yaml(Path(path)), str(path))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_SpecLoader)
    except OSError as e:
        raise ProgrammeError([f"cannot read the file: {e.strerror}"], str(path)) from None
    except UnicodeDecodeError:
        raise ProgrammeError(["not UTF-8 text: save the file as UTF-8 (ไฟล์ต้องเป็น UTF-8)"], str(path)) from None
    except yaml.YAMLError as e:
        raise ProgrammeError([f"not valid YAML: {e}"], str(path)) from None


# -------------------------------------------------------------------------------------------- records


def _now() -> datetime:
    return datetime.now(BANGKOK).replace(tzinfo=None, microsecond=0)


def create_programme(db: Database, definition: str | Path | Mapping[str, Any], *, update: bool = False,
                     actor: str = "saraban", at: datetime | None = None) -> Programme:
    """Record a programme. Idempotent by key: the same definition again returns the same row; a
    different definition for a key already recorded is refused unless ``update`` (then the row is
    changed and an event ``programme.updated`` keeps the previous definition)."""
    if isinstance(definition, str | Path):
        source, data = str(definition), _read_yaml(Path(definition))
    else:
        source, data = "", dict(definition)
    checked = _check(data, source)
    d = checked.definition
    at = local_time(at) if at else _now()
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
            record_event(s, "programme.updated", actor=actor, at=at, unit_id=owner.id,
                         data={"programme": d["key"], "previous": existing.definition})
            for name, value in values.items():
                setattr(existing, name, value)
            return existing
        programme = Programme(key=d["key"], created_at=at, **values)
        s.add(programme)
        s.flush()
        record_event(s, "programme.created", actor=actor, at=at, unit_id=owner.id,
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


def applicant_ids(session: Session, programme: Programme) -> set[int]:
    """The ids of the units that have applied."""
    return set(session.scalars(select(Application.unit_id).where(Application.programme_id == programme.id)))


# ----------------------------------------------------------------------------------------------- window


def _clock(moment: datetime) -> str:
    return to_thai_digits(f"{moment.hour:02d}.{moment.minute:02d}")


def window_text(programme: Programme) -> str:
    """The window in Thai: ``ตั้งแต่วันที่ ๑ ธันวาคม ๒๕๖๔ ถึงวันที่ ๒๘ กุมภาพันธ์ ๒๕๖๕ เวลา ๒๓.๕๙ น.``"""
    opens, closes = programme.opens_at, programme.closes_at
    start = f"ตั้งแต่วันที่ {format_thai_date(opens.date())}"
    if opens.time() != time(0, 0):
        start += f" เวลา {_clock(opens)} น."
    return f"{start} ถึงวันที่ {format_thai_date(closes.date())} เวลา {_clock(closes)} น."


def is_open(programme: Programme, at: datetime) -> bool:
    """Whether ``at`` (naive: Thai time) falls in the window, its closing minute included."""
    at = local_time(at)
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
        key = str(_text_key(raw_key)).strip()
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
    percent = weighted_percent(definition, check_scores(definition, scores))
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
            out[key] = " ".join(str(value).split())
    if not out.get("name"):
        problems.append("contact.name: required: the person to contact (ผู้ประสานงาน)")
    if out.get("email") and not _EMAIL.fullmatch(out["email"]):
        problems.append(f"contact.email: expected an e-mail address; got '{out['email']}'")
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
            "provisional_level": a.provisional_level, "updated_at": a.updated_at.isoformat(sep=" ")}


def _record_application(db: Database, programme_key: str, unit_key: str, contact: Mapping[str, Any],
                        scores: Mapping[Any, Any] | None, at: datetime, actor: str
                        ) -> tuple[int, int, bool, str | None, int | None]:
    """One transaction: every check, then insert or update. Returns (id, revision, new, level, ack id)."""
    with db.transaction() as s:
        try:
            programme = get_programme(s, programme_key)
            unit = get_unit(s, unit_key)
        except DirectoryError as e:
            raise ProgrammeError(str(e)) from None
        clean_contact = _check_contact(contact)
        clean_scores = check_scores(programme, scores) if scores is not None else None
        _refuse_outside(programme, at)
        why = _ineligible(s, programme, unit)
        if why:
            raise ProgrammeError(why)
        owner = s.get(Unit, programme.owner_unit_id)
        if not owner.letter_code:
            raise ProgrammeError(f"the owner {owner.name} ({owner.key}) has no letter code (รหัสหนังสือ) for the "
                                 f"acknowledgement letter; set it: saraban directory set {owner.key} "
                                 "--letter-code '...'")
        existing = s.scalar(select(Application).where(Application.programme_id == programme.id,
                                                      Application.unit_id == unit.id))
        if existing is None:
            level = provisional_level(programme, clean_scores)
            a = Application(programme_id=programme.id, unit_id=unit.id, contact=clean_contact,
                            scores=clean_scores, provisional_level=level, revision=1, submitted_at=at,
                            updated_at=at)
            s.add(a)
            s.flush()
            record_event(s, "application.submitted", actor=actor, at=at, unit_id=unit.id,
                         data={"programme": programme.key, "application": a.id, "contact": clean_contact,
                               "scores": clean_scores, "provisional_level": level})
            return a.id, 1, True, level, None
        previous = _snapshot(existing)
        if clean_scores is None:
            clean_scores = existing.scores  # an update without scores keeps the scores given before
        level = provisional_level(programme, clean_scores)
        existing.contact, existing.scores, existing.provisional_level = clean_contact, clean_scores, level
        existing.revision += 1
        existing.updated_at = at
        record_event(s, "application.updated", actor=actor, at=at, unit_id=unit.id,
                     letter_id=existing.ack_letter_id,
                     data={"programme": programme.key, "application": existing.id,
                           "revision": existing.revision, "previous": previous})
        return existing.id, existing.revision, False, level, existing.ack_letter_id


def _ack_spec(programme: Programme, owner: Unit, unit: Unit, application: Application) -> dict[str, Any]:
    name, year = programme.name, programme.year
    when = application.submitted_at
    body = [f"ตามที่ {unit.name} ได้สมัครเข้าร่วม{name} ประจำปี {year} นั้น",
            f"{owner.printed_sender} ได้รับใบสมัครของท่านแล้ว เมื่อวันที่ {format_thai_date(when.date())} "
            f"เวลา {when:%H.%M} น. และจะแจ้งขั้นตอนการประเมินให้ทราบต่อไป"]
    if application.provisional_level:
        body.append(f"ผลการประเมินตนเองเบื้องต้นของท่านอยู่ใน{application.provisional_level} "
                    "ซึ่งเป็นผลเบื้องต้น ผลการประเมินจะเป็นไปตามการตรวจประเมินของคณะกรรมการ")
    body.append("จึงแจ้งมาเพื่อทราบ")
    ack = programme.definition.get("invitation", {}).get("owner") or {"unit": owner.name}
    ack = {k: v for k, v in ack.items() if v}
    return {"kind": "stamped", "date": when.date().isoformat(),
            "sender": {"name": owner.printed_sender} | ({"address": owner.address} if owner.address else {}),
            "to": unit.name, "subject": f"ตอบรับการสมัครเข้าร่วม{name} ประจำปี {year}", "body": body,
            "owner": ack}


def _issue_ack(db: Database, settings: Settings, application_id: int, actor: str, at: datetime) -> Issued:
    with db.transaction() as s:
        a = s.get(Application, application_id)
        programme = s.get(Programme, a.programme_id)
        owner, unit = s.get(Unit, programme.owner_unit_id), s.get(Unit, a.unit_id)
        spec = parse_spec(_ack_spec(programme, owner, unit, a))
        unit_id, owner_key = unit.id, owner.key
    try:
        issued = issue_circular(db, settings, spec, sender_key=owner_key, to=[unit], actor=actor, at=at,
                                circular=False)
    except CircularError as e:
        raise ProgrammeError(str(e)) from None
    with db.transaction() as s:
        a = s.get(Application, application_id)
        a.ack_letter_id = issued.letter_id
        record_event(s, "application.acknowledged", actor=actor, at=at, unit_id=unit_id,
                     letter_id=issued.letter_id, data={"application": a.id, "ref": issued.ref})
    return issued


def _mail(db: Database, settings: Settings, application_id: int, *, new: bool, revision: int, actor: str,
          at: datetime) -> MailResult | None:
    from saraban.mail import OutgoingMail, record_mail, send_mail

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
        unit_name, unit_id, owner_name = unit.name, unit.id, owner.printed_sender
        ref = to_thai_digits(letter.ref_text) if letter else None
        files = [p for p in (copy and copy.pdf_path, letter and letter.pdf_path, copy and copy.docx_path,
                             letter and letter.docx_path) if p and Path(p).exists()][:1]
    if not to:
        return None
    contact = a.contact.get("name", "")
    if new:
        subject = f"ตอบรับการสมัคร {title} — {unit_name}"
        body = (f"เรียน {contact}\n\n{owner_name} ได้รับใบสมัครของ{unit_name} เข้าร่วม{title} แล้ว "
                f"หนังสือตอบรับ ที่ {ref} แนบมาพร้อมนี้"
                + (f"\nผลการประเมินตนเองเบื้องต้น: {level}" if level else "") + f"\n\n{owner_name}\n")
    else:
        subject = f"ปรับปรุงใบสมัคร {title} — {unit_name} (ครั้งที่ {to_thai_digits(revision)})"
        body = (f"เรียน {contact}\n\n{owner_name} ได้รับการปรับปรุงใบสมัครของ{unit_name} "
                f"(ครั้งที่ {to_thai_digits(revision)}) เมื่อวันที่ {format_thai_date(at.date())} "
                f"เวลา {_clock(at)} น. แล้ว" + (f"\nผลการประเมินตนเองเบื้องต้น: {level}" if level else "")
                + (f"\nหนังสือตอบรับเดิม ที่ {ref}" if ref else "") + f"\n\n{owner_name}\n")
        files = []
    result = send_mail(settings, OutgoingMail(to=to, subject=subject, body=body, attachments=[Path(f) for f in files]))
    with db.transaction() as s:
        record_mail(s, result, actor=actor, at=at, unit_id=unit_id, letter_id=letter.id if letter else None,
                    subject=subject)
    return result


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
    acknowledgement was issued, the update issues it.
    """
    at = local_time(at) if at else _now()
    for attempt in range(2):
        try:
            app_id, revision, new, level, ack_id = _record_application(db, programme_key, unit_key, contact,
                                                                         scores, at, actor)
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
    mail = _mail(db, settings, app_id, new=new, revision=revision, actor=actor, at=at)
    return ApplicationResult(app_id, revision, new, ack_id, ack_ref, level, mail)


# ------------------------------------------------------------------------------------------ invitation


def application_url(settings: Settings, programme_key: str) -> str:
    return f"{settings.base_url}/apply/{programme_key}"


def invitation_spec(session: Session, settings: Settings, programme: Programme, letter_date: date) -> dict[str, Any]:
    """The invitation's letter spec: the definition's, with date and sender filled in and the QR codes
    of the application link and the meeting (video conference) link added."""
    d = programme.definition
    owner = session.get(Unit, programme.owner_unit_id)
    spec = _invitation_defaults(d["invitation"], letter_date=letter_date, sender_name=owner.printed_sender,
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
    at = local_time(at) if at else _now()
    with db.transaction() as s:
        programme = get_programme(s, programme_key)
        owner_key = s.get(Unit, programme.owner_unit_id).key
        spec = parse_spec(invitation_spec(s, settings, programme, at.date()))
        circular = spec.circular
        programme_id = programme.id
    try:
        issued = issue_circular(db, settings, spec, sender_key=owner_key, to=to, actor=actor, at=at,
                                circular=circular)
    except (CircularError, DirectoryError) as e:
        raise ProgrammeError(str(e)) from None
    with db.transaction() as s:
        programme = s.get(Programme, programme_id)
        if programme.invitation_letter_id != issued.letter_id:
            programme.invitation_letter_id = issued.letter_id
            record_event(s, "programme.invited", actor=actor, at=at, unit_id=programme.owner_unit_id,
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


__all__ = ["ApplicationResult", "ProgrammeError", "applicant_ids", "apply", "check_scores", "create_programme",
           "eligible_units", "get_programme", "load_programme_file", "provisional_level", "send_invitation",
           "window_text"]
