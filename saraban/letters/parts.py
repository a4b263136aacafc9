"""The richer parts of a letter spec: lists, tables and the meeting block in the body, the meeting itself,
the coordinator of the owner block, and the date and link checks the spec shares.

A body entry is a paragraph (text), or one of::

    - list: [ข้อความ, ข้อความ]       # style: numbered (๑. ๒.), bracketed ((๑) (๒)) or bullet
      style: numbered
    - table:
        header: [ระดับรางวัล, สิ่งที่ได้รับ]
        rows:
          - [ระดับทอง, โล่รางวัล]
    - meeting: true                  # where the meeting block prints (else after the first paragraph)
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from saraban.kernel.email_address import Email
from thai_text import ThaiDateError, be_year, parse_thai_date, to_arabic_digits
from thai_text.dates import BE_OFFSET, MIN_BE_YEAR

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})(-\d\d-\d\d)")
LIST_STYLES = ("numbered", "bracketed", "bullet")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# One entry of a list (a paragraph, a reference, an enclosure ...): a blank one is refused.
Entry = Annotated[str, Field(min_length=1)]


def letter_date(v: Any) -> Any:
    """A date as a clerk types it (ISO C.E. or Thai, ``๒๖ มี.ค. ๒๕๖๗``); an ISO date with a B.E. year is refused."""
    # parse_thai_date reads any ISO year as C.E., so '2567-03-29' would be 543 years late.
    iso = _ISO_DATE.search(to_arabic_digits(str(v)))
    if iso and int(iso[1]) >= MIN_BE_YEAR:
        raise ValueError(f"'{v}' looks like a B.E. year; an ISO date takes the C.E. year, "
                         f"e.g. {int(iso[1]) - BE_OFFSET}{iso[2]}")
    if isinstance(v, date):
        return v
    try:
        return parse_thai_date(str(v))
    except ThaiDateError as e:
        raise ValueError(str(e)) from None


def link_problem(v: str) -> str | None:
    """Why ``v`` cannot be printed as a QR code (None: it can)."""
    if not re.match(r"^(https?://|mailto:|tel:)\S+$", v):
        return "expected a link starting with https:// (or http://, mailto:, tel:), without spaces"
    from saraban.letters.paper.qr import qr_problem  # numpy and zxing: only when a spec has a QR code

    return qr_problem(v)


def _checked_link(v: str) -> str:
    problem = link_problem(v)
    if problem:
        raise ValueError(problem)
    return v


# A link printed as a QR code (a QR code's, an online meeting's): checked that it reads back.
QRLink = Annotated[str, Field(min_length=1), AfterValidator(_checked_link)]


def _cell(v: Any) -> Any:
    """A number typed in a table cell (25, 2.5) is its text, as typed."""
    return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


# --- body blocks --------------------------------------------------------------------------------------


class ListBlock(Part):
    """Numbered or bulleted items, each with a hanging indent (its text wraps under the text)."""

    list: builtins.list[Entry] = Field(min_length=1)  # named as the file names it
    style: Literal["numbered", "bracketed", "bullet"] = "numbered"


class Table(Part):
    header: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, max_length=8)
    rows: list[list[str]] = Field(min_length=1)

    @field_validator("header", mode="before")
    @classmethod
    def _header_text(cls, v: Any) -> Any:
        return [_cell(c) for c in v] if isinstance(v, list) else v

    @field_validator("rows", mode="before")
    @classmethod
    def _rows_text(cls, v: Any) -> Any:
        return [[_cell(c) for c in row] if isinstance(row, list) else row for row in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(f"rows[{i}] มี {len(row)} ช่อง แต่หัวตารางมี {len(self.header)} ช่อง / "
                                 f"rows[{i}] has {len(row)} cells; the header has {len(self.header)}")
        return self


class TableBlock(Part):
    """A bordered table: a header row and rows of as many cells."""

    table: Table


class MeetingPlace(Part):
    """Where the meeting block prints: ``- meeting: true`` as a body entry."""

    meeting: Literal[True]


def _block_tag(v: Any) -> str:
    """Which kind of body entry ``v`` is: a mapping by its key; anything else is read as a paragraph."""
    if isinstance(v, dict):
        return next((key for key in ("list", "table", "meeting") if key in v), "text")
    return {ListBlock: "list", TableBlock: "table", MeetingPlace: "meeting"}.get(type(v), "text")


BodyEntry = Annotated[
    Annotated[Entry, Tag("text")] | Annotated[ListBlock, Tag("list")] | Annotated[TableBlock, Tag("table")]
    | Annotated[MeetingPlace, Tag("meeting")],
    Discriminator(_block_tag),
]
# The model of each tag: a problem inside a block is described against it (spec._describe).
BLOCK_MODELS: dict[str, type[BaseModel]] = {"list": ListBlock, "table": TableBlock, "meeting": MeetingPlace}


# --- the meeting --------------------------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})[.:](\d{2})")
_TIME_TEXT = re.compile(r"^(\d{1,2}[.:]\d{2})(?:\s*(?:-|–|ถึง)\s*(\d{1,2}[.:]\d{2}))?\s*(?:น\.)?\s*(เป็นต้นไป)?$")
_NUMBER = re.compile(r"^(\d{1,3})\s*/\s*(\d{4})$")


class Online(Part):
    """A video conference: its link (also printed as a QR code), Meeting ID and passcode as typed."""

    url: QRLink
    platform: str | None = None  # Zoom Meeting, Microsoft Teams, Cisco Webex ...
    meeting_id: str | None = None
    passcode: str | None = None
    caption: str | None = None  # under the QR code

    @field_validator("meeting_id", "passcode", mode="before")
    @classmethod
    def _as_typed(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class Meeting(Part):
    """The meeting an invitation is for, printed as an indented block (วันที่ / เวลา / สถานที่ / ช่องทางออนไลน์)."""

    number: str | None = None  # ครั้งที่ n/พ.ศ., e.g. 1/2567
    date: date
    time: str = Field(min_length=1)
    place: str | None = None
    online: Online | None = None

    @field_validator("number", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if v is None:
            return v
        m = _NUMBER.match(to_arabic_digits(str(v)).strip())
        if not m or int(m[1]) < 1 or int(m[2]) < MIN_BE_YEAR:
            raise ValueError(f"ต้องเป็น ครั้งที่/ปี พ.ศ. เช่น 1/2567 (ได้ {v!r}) / "
                             f"expected the meeting's number and B.E. year such as 1/2567; got {v!r}")
        return f"{int(m[1])}/{m[2]}"

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return letter_date(v)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        """One form: ``08.30 น.``, ``08.30 – 12.00 น.``, ``13.00 น. เป็นต้นไป``."""
        m = _TIME_TEXT.match(to_arabic_digits(v))
        parsed = [(int(t[0]), int(t[1])) for t in (_TIME.findall(f"{m[1]} {m[2] or ''}") if m else [])]
        if not m or any(h > 23 or mi > 59 for h, mi in parsed) or (len(parsed) == 2 and parsed[1] <= parsed[0]):
            raise ValueError(f"ต้องเป็นเวลา เช่น 08.30 น. หรือ 08.30 – 12.00 น. (ได้ {v!r}) / "
                             f"expected a time such as 08.30 or 08.30 – 12.00 น.; got {v!r}")
        text = " – ".join(f"{h:02d}.{mi:02d}" for h, mi in parsed) + " น."
        return f"{text} เป็นต้นไป" if m[3] else text

    @model_validator(mode="after")
    def _where_and_which_year(self) -> Meeting:
        if not self.place and self.online is None:
            raise ValueError("ต้องระบุ place หรือ online (หรือทั้งสอง) / "
                             "say where: 'place', 'online' {url: ...} or both")
        if self.number:
            year, held = int(self.number.split("/")[1]), be_year(self.date)
            # Numbered by calendar year, or by the fiscal year (which ends in the next B.E. year).
            if year not in (held, held + 1):
                raise ValueError(f"number: ปี {year} ไม่ตรงกับวันประชุม (พ.ศ. {held}) / the year in the number "
                                 f"({year}) is not the meeting's B.E. year {held} (nor its fiscal year {held + 1})")
        return self


# --- the owner block's coordinator --------------------------------------------------------------------


class Coordinator(Part):
    """ผู้ประสานงาน: printed on one line of the owner block."""

    name: str = Field(min_length=1)
    phone: str | None = None
    mobile: str | None = None
    email: Email | None = None

    @field_validator("phone", "mobile", mode="before")
    @classmethod
    def _number_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    def line(self) -> str:
        """``ผู้ประสานงาน: นาย… โทร. … มือถือ … อีเมล …`` as the field examples print it."""
        parts = [f"ผู้ประสานงาน: {self.name}"]
        parts += [f"{label} {value}" for label, value in
                  (("โทร.", self.phone), ("มือถือ", self.mobile), ("อีเมล", self.email)) if value]
        return " ".join(parts)


def body_texts(body: Sequence[Any], meeting: Meeting | None = None) -> list[str]:
    """Every text of the body's entries (paragraphs, list items, table cells) and of the meeting, as typed."""
    texts: list[str] = []
    for entry in body:
        if isinstance(entry, str):
            texts.append(entry)
        elif isinstance(entry, ListBlock):
            texts += entry.list
        elif isinstance(entry, TableBlock):
            texts += [*entry.table.header, *(cell for row in entry.table.rows for cell in row)]
    if meeting is not None:
        texts += [meeting.time, meeting.place or ""]
        if meeting.online:
            texts += [meeting.online.platform or "", meeting.online.caption or ""]
    return texts
