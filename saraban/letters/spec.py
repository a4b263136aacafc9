"""The letter spec: what a clerk (or a flow) fills in to make one official letter.

A spec is YAML or the same as a Python object. ``parse_spec`` checks everything at once and raises
``SpecError`` with one message per problem, naming the key and what was expected.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails

from saraban.kernel.email_address import Email
from saraban.kernel.problems import describe, key_path, misspelt
from saraban.kernel.text_input import data_problems, normalise_data
from saraban.kernel.yaml_input import RefusedYaml, TextDatesLoader, yaml_problem
from saraban.letters.attachment_spec import Attachment
from saraban.letters.parts import (
    BLOCK_MODELS,
    BodyEntry,
    Coordinator,
    Entry,
    Meeting,
    MeetingPlace,
    QRLink,
    letter_date,
)
from saraban.letters.parts import Part as _Part
from thai_text import RefNo
from thai_text.refno import RefNoError

KINDS = ("external", "stamped", "memo")
KIND_NAMES = {"external": "หนังสือภายนอก", "stamped": "หนังสือประทับตรา", "memo": "บันทึกข้อความ"}
# How the messages name each kind of letter.
_LETTER = {"external": "an external letter (หนังสือภายนอก)", "stamped": "a stamped letter (หนังสือประทับตรา)",
           "memo": "a memo (บันทึกข้อความ)"}
URGENCIES = ("ด่วนที่สุด", "ด่วนมาก", "ด่วน")
SECRECIES = ("ลับที่สุด", "ลับมาก", "ลับ")
SALUTATIONS = ("เรียน", "กราบเรียน", "นมัสการ")
DEFAULT_CLOSING = {"เรียน": "ขอแสดงความนับถือ", "กราบเรียน": "ขอแสดงความนับถืออย่างยิ่ง",
                   "นมัสการ": "ขอนมัสการด้วยความเคารพ"}
# The closings each salutation takes (reference/letters.md, "Salutations and closings").
CLOSINGS = {"เรียน": ("ขอแสดงความนับถือ",), "กราบเรียน": ("ขอแสดงความนับถืออย่างยิ่ง",),
            "นมัสการ": ("ขอนมัสการด้วยความเคารพ", "ด้วยความเคารพอย่างสูง")}
# Fields added after letters were first issued: the hash leaves them out while they hold their default, so
# a letter issued before is still found as issued ("issued already?" compares hashes).
LATER_FIELDS = ("keep_as_typed", "attachments", "meeting")
# The same for parts of a part: (part, key).
LATER_SUBFIELDS = (("owner", "coordinator"), ("signer", "acting"))


class SpecError(ValueError):
    """A spec that cannot make a letter; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__("\n".join(f"{where}{p}" for p in problems))


class Sender(_Part):
    name: str = Field(min_length=1)
    address: str | None = None


class Signer(_Part):
    name: str = Field(min_length=1)
    position: str = Field(min_length=1)
    # Lines under the position: ปฏิบัติราชการแทน / ผู้ว่าราชการจังหวัด… or รักษาราชการแทน …
    acting: list[Entry] = Field([], max_length=4)

    @field_validator("acting", mode="before")
    @classmethod
    def _lines(cls, v: Any) -> Any:
        """One text of several lines is as good as a list of lines."""
        return [line for line in v.splitlines() if line.strip()] if isinstance(v, str) else v


class Owner(_Part):
    unit: str = Field(min_length=1)
    phone: str | None = None
    fax: str | None = None
    email: Email | None = None
    contact: str | None = None  # ผู้ประสานงาน, as one text
    coordinator: Coordinator | None = None  # ผู้ประสานงาน: name, phone, mobile, e-mail


class QRCode(_Part):
    url: QRLink
    caption: str = Field(min_length=1)


class LetterSpec(_Part):
    kind: Literal["external", "stamped", "memo"]
    circular: bool = False  # before ref: the ref's check reads it
    ref: RefNo | None = None
    date: date
    sender: Sender
    to: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    references: list[Entry] = []
    enclosures: list[Entry] = []
    body: list[BodyEntry] = Field(min_length=1)  # paragraphs, lists, tables, the meeting's place
    meeting: Meeting | None = Field(None, validate_default=True)  # after body: its check reads the body
    salutation: str | None = None
    closing: str | None = None
    signer: Signer | None = None
    owner: Owner | None = None
    copies_to: list[Entry] = []
    urgency: str | None = None
    secrecy: str | None = None
    qr: list[QRCode] = []
    attachments: list[Attachment] = []  # pages printed after the letter (saraban.letters.attachments)
    digits: Literal["thai", "arabic"] = "thai"
    # Strings printed exactly as typed wherever they appear (codes, names with digits): no digit turns in them.
    keep_as_typed: list[Entry] = []

    @model_validator(mode="before")
    @classmethod
    def _one_form(cls, data: Any) -> Any:
        """Every text in its one form (NFC, Thai sara am ...): the same words typed two ways are one letter."""
        return normalise_data(data) if isinstance(data, dict) else data

    @field_validator("ref", mode="before")
    @classmethod
    def _ref(cls, v: Any) -> Any:
        if v is None or isinstance(v, RefNo):
            return v
        try:
            return RefNo.parse(str(v))
        except RefNoError as e:
            raise ValueError(str(e)) from None

    @field_validator("ref")
    @classmethod
    def _ref_series(cls, v: RefNo | None, info: ValidationInfo) -> RefNo | None:
        """A circular's ref is in the ว series, and only a circular's (unchecked if 'circular' is wrong)."""
        circular = info.data.get("circular")
        if v is None or circular is None or v.circular == circular:
            return v
        if circular:
            example = replace(v, circular=True).format("arabic")
            raise ValueError(f"a circular takes the ว series, e.g. '{example}'; got '{v.format('arabic')}'")
        raise ValueError(f"'{v.format('arabic')}' is in the ว series of circulars; "
                         "set 'circular: true' or drop the ว")

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return letter_date(v)

    @field_validator("body")
    @classmethod
    def _meeting_places(cls, v: list[Any]) -> list[Any]:
        """At most one ``- meeting: true``, and only with a meeting to print there."""
        places = [i for i, entry in enumerate(v) if isinstance(entry, MeetingPlace)]
        if len(places) > 1:
            raise ValueError(f"'meeting: true' มีได้ที่เดียว (พบที่ {places}) / 'meeting: true' may appear "
                             f"once; it is at {places}")
        return v

    @field_validator("meeting")
    @classmethod
    def _meeting_to_print(cls, v: Meeting | None, info: ValidationInfo) -> Meeting | None:
        if v is None and any(isinstance(entry, MeetingPlace) for entry in info.data.get("body", ())):
            raise ValueError("body มี 'meeting: true' แต่ไม่มี meeting ให้พิมพ์ / the body marks where the meeting "
                             "prints ('meeting: true'), but there is no meeting: {date: ..., time: ..., place: ...}")
        return v

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, v: str | None) -> str | None:
        if v and v not in URGENCIES and not v.startswith("ด่วนภายใน"):
            raise ValueError(f"expected one of {', '.join(URGENCIES)} or 'ด่วนภายใน <วัน เวลา>'")
        return v or None

    @field_validator("secrecy")
    @classmethod
    def _secrecy(cls, v: str | None) -> str | None:
        if v and v not in SECRECIES:
            raise ValueError(f"expected one of {', '.join(SECRECIES)}")
        return v or None

    @field_validator("salutation")
    @classmethod
    def _salutation(cls, v: str | None) -> str | None:
        if v and v not in SALUTATIONS:
            raise ValueError(f"expected one of {', '.join(SALUTATIONS)}")
        return v or None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    def hash(self) -> str:
        """sha256 of the spec's content: the same spec always gives the same letter text."""
        data = self.model_dump(mode="json")
        data["ref"] = self.ref.format("arabic") if self.ref else None
        for key in LATER_FIELDS:  # left at its default, a later field leaves the hashes of older specs as they were
            if data.get(key) == type(self).model_fields[key].get_default(call_default_factory=True):
                data.pop(key, None)
        for part, key in LATER_SUBFIELDS:
            if isinstance(data.get(part), dict) and data[part].get(key) in (None, []):
                data[part].pop(key, None)
        blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- the parts each kind of letter has: checked on the mapping as given -----------------------------


def _given(data: dict[str, Any], key: str) -> bool:
    """Whether the spec fills in ``key``: null, blank text and an empty list count as left out."""
    value = data.get(key)
    if isinstance(value, str):
        value = value.strip()
    return value not in (None, "", [], ())


def _kind_rules(data: dict[str, Any]) -> dict[str, str]:
    """The parts each kind of letter has and has not (reference/letters.md, หมวด ๑), as {key: message}.

    They read the raw mapping, so they are reported along with any wrong field in one go.
    """
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        return {}  # the kind itself is the problem, and the model reports it
    letter = _LETTER[kind]
    rules: dict[str, str] = {}
    if kind == "stamped":
        for key in ("salutation", "closing", "signer"):
            if _given(data, key):
                rules[key] = (f"{letter} has no salutation, closing or signature; remove '{key}' "
                              "(the office stamp stands for them)")
        if _given(data, "copies_to"):
            rules["copies_to"] = "only an external letter (หนังสือภายนอก) lists สำเนาส่ง"
    elif data.get("signer") is None:
        rules["signer"] = f"required for {letter}: {{name: ..., position: ...}}"
    if kind == "memo":
        for key in ("references", "enclosures", "copies_to"):
            if _given(data, key):
                rules[key] = f"{letter} has no separate '{key}' part; write it in the body text"
        if _given(data, "closing"):
            rules["closing"] = f"{letter} has no closing; remove 'closing'"
    elif data.get("owner") is None:
        rules["owner"] = f"required for {letter}: the owner division {{unit: ..., phone: ..., email: ...}}"
    return rules


# --- messages -----------------------------------------------------------------------------------------


def _text_problems(data: Any, path: str) -> list[tuple[str, str]]:
    """Control and invisible characters (a .docx cannot hold the ones, a reader cannot see the others),
    as (path, message); tab and newline are allowed."""
    return data_problems(data, path, multiline=True)


def _untagged(error: ErrorDetails) -> ErrorDetails:
    """Pydantic names the kind of a body entry in the path (``body.1.table.table.rows``), the file does not:
    the path as written, with the kind kept aside for the message."""
    loc = error["loc"]
    if len(loc) > 2 and loc[0] == "body" and isinstance(loc[1], int) and loc[2] in ("text", *BLOCK_MODELS):
        return {**error, "loc": loc[:2] + loc[3:], "block": loc[2]}  # type: ignore[typeddict-unknown-key]
    return error


def _describe(error: ErrorDetails) -> str:
    """The message for one validation error, without its path: the body's own words, else the kernel's."""
    loc, kind = error["loc"], error["type"]
    block = BLOCK_MODELS.get(error.get("block", ""))  # type: ignore[call-overload]
    if block is not None and len(loc) > 2:  # inside a list, table or meeting place: its own keys
        return describe({**error, "loc": loc[2:]}, block)
    if kind == "too_short" and loc == ("body",):
        return "ต้องมีอย่างน้อยหนึ่งย่อหน้า / needs at least one paragraph"
    if kind == "string_too_short" and loc[:1] == ("body",) and isinstance(loc[-1], int):
        return "ย่อหน้าว่าง เติมหรือลบออก / empty paragraph; fill it in or remove it"
    return describe(error, LetterSpec)


def _problems(data: dict[str, Any], errors: list[ErrorDetails]) -> list[str]:
    """Every problem once, as 'path: message': control characters, then fields, then kind rules."""
    found: dict[str, str] = {}  # path -> message; the first message for a path wins
    for key, value in data.items():
        for path, message in _text_problems(value, str(key)):
            found.setdefault(path, message)
    rules = _kind_rules(data)
    missing = {e["loc"] for e in errors if e["type"] == "missing"}
    missing |= {(key,) for key in rules if data.get(key) is None}
    # A misspelt key and the missing key it stands for are one mistake: the 'did you mean' says it all.
    meant = misspelt(errors, LetterSpec) & missing
    for error in errors:
        if error["loc"] not in meant:
            found.setdefault(key_path(error["loc"]), _describe(error))
    for key, message in rules.items():
        if (key,) in meant:
            continue
        # "remove 'signer'" says all there is to say about what is under signer
        found = {p: m for p, m in found.items() if p != key and not p.startswith((f"{key}.", f"{key}["))}
        found[key] = message
    return [f"{path}: {message}" for path, message in found.items()]


def parse_spec(data: Any, source: str = "") -> LetterSpec:
    """Validate a spec given as a mapping; raise ``SpecError`` listing every problem."""
    if not isinstance(data, dict):
        raise SpecError(["the spec must be a mapping of keys (kind, date, sender, to, subject, body ...)"],
                        source)
    data = normalise_data(data)  # CR LF is a newline, not a control character
    spec: LetterSpec | None = None
    errors: list[ErrorDetails] = []
    try:
        spec = LetterSpec.model_validate(data)
    except ValidationError as e:
        errors = [_untagged(error) for error in e.errors()]
    problems = _problems(data, errors)
    if problems:
        raise SpecError(problems, source)
    assert spec is not None  # every validation error gives a problem
    return spec


# --- YAML files -------------------------------------------------------------------------------------


def load_spec(path: Path) -> LetterSpec:
    """Read and validate a YAML spec file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=TextDatesLoader)
    except OSError as e:
        raise SpecError([f"cannot read the file: {e.strerror}"], str(path)) from None
    except UnicodeDecodeError:
        raise SpecError(["not UTF-8 text: save the file as UTF-8 (ไฟล์ต้องเป็น UTF-8)"], str(path)) from None
    except RefusedYaml as e:
        raise SpecError([str(e)], str(path)) from None
    except yaml.YAMLError as e:
        raise SpecError([yaml_problem(e)], str(path)) from None
    return parse_spec(data, str(path))
