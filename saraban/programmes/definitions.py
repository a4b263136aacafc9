"""A programme's definition (``examples/programmes/eco-town-2565.yaml``): its key, name, B.E. year
(and fiscal year), owner unit, who is eligible (levels, optional areas), the application window, the
invitation letter and the assessment structure (components with weights, indicators with a score
range, award levels with a threshold on the weighted percentage). ``load_programme_file`` checks all of
it at once and raises ``ProgrammeError`` listing every problem as ``key: what was expected``.

Times: a naive datetime is Thai wall-clock time (Asia/Bangkok), an aware one is converted to it. The
window is inclusive of its closing *minute*: ``closes: 2022-02-28 23:59`` (or the date alone, which
means the end of that day) accepts 23:59:59.999 and refuses 2022-03-01 00:00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from saraban.directory.levels import LEVELS, DirectoryError, find_province, resolve_levels
from saraban.kernel.clock import BANGKOK, as_thai
from saraban.kernel.problems import problems_by_key
from saraban.kernel.text_input import data_problems, normalise_data
from saraban.kernel.yaml_input import RefusedYaml, TextDatesLoader
from saraban.letters.spec import SpecError, parse_spec
from thai_text.dates import BE_OFFSET, MIN_BE_YEAR

if TYPE_CHECKING:
    pass

TIME_ZONE = "Asia/Bangkok"
CONTACT_KEYS = ("name", "position", "phone", "email")
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


def text_key(v: Any) -> Any:
    """Indicator and component keys are text; YAML reads an unquoted 1.1 as a number."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class Indicator(_Part):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    max: float | None = None  # default: the structure's scale

    _key = field_validator("key", mode="before")(text_key)


class Component(_Part):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: float = Field(gt=0)  # per cent of the total
    indicators: list[Indicator] = Field(min_length=1)

    _key = field_validator("key", mode="before")(text_key)


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


def _known_level(text: str) -> str:
    """A level name or alias as given, once the directory knows it."""
    try:
        resolve_levels(text)
    except DirectoryError:
        raise ValueError(f"unknown level '{text}'; expected one of {', '.join(LEVELS)} "
                         "(or municipality, local, อบต. ...)") from None
    return text


class Eligibility(_Part):
    # level names or aliases (municipality, อบต., local ...)
    levels: list[Annotated[str, AfterValidator(_known_level)]] = Field(min_length=1)
    areas: list[str] = []  # province names or codes, or unit keys whose descendants are eligible

    @field_validator("areas", mode="before")
    @classmethod
    def _areas(cls, v: Any) -> Any:
        return [text_key(x) for x in v] if isinstance(v, list) else v


class Window(_Part):
    opens: str  # ISO date or date and time (dates are made text before validation)
    closes: str
    time_zone: str = TIME_ZONE

    @field_validator("opens")
    @classmethod
    def _opens(cls, v: str) -> str:
        _moment(v, BANGKOK, end_of_day=False)
        return v

    @field_validator("closes")
    @classmethod
    def _closes(cls, v: str) -> str:
        closes = _moment(v, BANGKOK, end_of_day=True)
        if closes.second or closes.microsecond:
            raise ValueError("give the last minute of the window (HH:MM, it is included), no seconds")
        return v

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{v}'; expected {TIME_ZONE}") from None
        return v

    @model_validator(mode="after")
    def _in_order(self) -> Window:
        opens, closes = self.moments()
        if closes <= opens:
            raise ValueError("วันปิดรับสมัครต้องอยู่หลังวันเปิดรับ / closes must come after opens")
        return self

    def moments(self) -> tuple[datetime, datetime]:
        """When the window opens and the last minute it is open (inclusive), as Thai times."""
        zone = ZoneInfo(self.time_zone)
        return _moment(self.opens, zone, end_of_day=False), _moment(self.closes, zone, end_of_day=True)


class Meeting(_Part):
    title: str = Field(min_length=1)
    at: str
    url: str = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        _moment(v, BANGKOK, end_of_day=False)
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://\S+$", v):
            raise ValueError("expected a link starting with https://, without spaces")
        return v


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

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _PROGRAMME_KEY.fullmatch(v):
            raise ValueError("expected letters, digits, '.', '_' or '-' (e.g. eco-town-2565)")
        return v

    @field_validator("year")
    @classmethod
    def _year(cls, v: int) -> int:
        if v < MIN_BE_YEAR:
            raise ValueError(f"expected the B.E. year (ปี พ.ศ.), e.g. {v + BE_OFFSET}; got {v}")
        return v

    @field_validator("fiscal_year")
    @classmethod
    def _fiscal_year(cls, v: int | None) -> int | None:
        if v is not None and v < MIN_BE_YEAR:
            raise ValueError(f"expected a B.E. year, e.g. {v + BE_OFFSET}; got {v}")
        return v


def _moment(value: Any, zone: ZoneInfo, *, end_of_day: bool) -> datetime:
    """A date or datetime (or its ISO text) in ``zone``, as an aware Thai time."""
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
    return as_thai(moment)


@dataclass(frozen=True)
class CheckedDefinition:
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


def check_definition(data: Any, source: str = "") -> CheckedDefinition:
    """Validate a definition mapping; ProgrammeError lists every problem, of every part, at once."""
    if not isinstance(data, dict):
        raise ProgrammeError(["the definition must be a mapping of keys (key, name, year, owner, eligible, "
                              "window, invitation, structure)"], source)
    data = normalise_data(_json_safe(data))  # one form of every text (NFC, Thai sara am)
    problems: dict[str, str] = dict(data_problems(data))  # control and invisible characters, by key
    model: Definition | None = None
    try:
        model = Definition.model_validate(data)
    except ValidationError as e:
        problems = problems_by_key(e.errors(), Definition) | problems
    if problems and model is not None:  # a refused character makes the whole definition wrong
        model = None
    # The checks across parts, on the parts that are right in themselves: every problem is listed at once.
    window = model.window if model else _section(Window, data.get("window"))
    structure = model.structure if model else _section(Structure, data.get("structure"))
    opens, closes = window.moments() if window else (None, None)
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
    levels: list[str] = []
    provinces: list[str] = []
    area_units: list[str] = []
    for text in model.eligible.levels:
        levels += [x for x in resolve_levels(text) if x not in levels]
    for text in model.eligible.areas:
        try:
            provinces.append(find_province(text).code)
        except DirectoryError:
            area_units.append(text)  # a unit key: checked against the directory by create_programme
    return CheckedDefinition(model.model_dump(mode="json", exclude_none=True), opens, closes, tuple(levels),
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
    spec = invitation_defaults(invitation, letter_date=(opens or datetime(2000, 1, 1, tzinfo=BANGKOK)).date(),
                                sender_name=owner, sender_address=None)
    try:
        parse_spec(spec)
    except SpecError as e:
        return [f"invitation.{p}" for p in e.problems]
    return []


def invitation_defaults(spec: dict[str, Any], *, letter_date: date, sender_name: str,
                         sender_address: str | None) -> dict[str, Any]:
    out = dict(spec)
    out.setdefault("date", letter_date.isoformat())
    if "sender" not in out:
        out["sender"] = {"name": sender_name} | ({"address": sender_address} if sender_address else {})
    out.setdefault("circular", True)
    return out


def check_programme(data: Any, source: str = "") -> dict[str, Any]:
    """The validated, canonical definition of a mapping (``ProgrammeError`` lists every problem)."""
    return check_definition(data, source).definition


def load_programme_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a programme's YAML file; return the canonical definition."""
    return check_programme(read_definition_file(Path(path)), str(path))


def read_definition_file(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8-sig"), Loader=TextDatesLoader)
    except OSError as e:
        raise ProgrammeError([f"cannot read the file: {e.strerror}"], str(path)) from None
    except UnicodeDecodeError:
        raise ProgrammeError(["not UTF-8 text: save the file as UTF-8 (ไฟล์ต้องเป็น UTF-8)"], str(path)) from None
    except RefusedYaml as e:  # an alias bomb, deep nesting, a key written twice: the message says which line
        raise ProgrammeError([str(e)], str(path)) from None
    except yaml.YAMLError as e:
        raise ProgrammeError([f"not valid YAML: {e}"], str(path)) from None


