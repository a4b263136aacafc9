"""The letter spec: what a clerk (or a flow) fills in to make one official letter.

A spec is YAML or the same as a Python object. ``parse_spec`` checks everything at once and raises
``SpecError`` with one message per problem, naming the key and what was expected.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from thai_text import RefNo, ThaiDateError, parse_thai_date
from thai_text.refno import RefNoError

KINDS = ("external", "stamped", "memo")
KIND_NAMES = {"external": "หนังสือภายนอก", "stamped": "หนังสือประทับตรา", "memo": "บันทึกข้อความ"}
URGENCIES = ("ด่วนที่สุด", "ด่วนมาก", "ด่วน")
SECRECIES = ("ลับที่สุด", "ลับมาก", "ลับ")
SALUTATIONS = ("เรียน", "กราบเรียน", "นมัสการ")
DEFAULT_CLOSING = {"เรียน": "ขอแสดงความนับถือ", "กราบเรียน": "ขอแสดงความนับถืออย่างยิ่ง",
                   "นมัสการ": "ขอนมัสการด้วยความเคารพ"}
# Characters XML 1.0 cannot hold: a .docx containing them does not open.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class SpecError(ValueError):
    """A spec that cannot make a letter; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__("\n".join(f"{where}{p}" for p in problems))


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Sender(_Part):
    name: str = Field(min_length=1)
    address: str | None = None


class Signer(_Part):
    name: str = Field(min_length=1)
    position: str = Field(min_length=1)


class Owner(_Part):
    unit: str = Field(min_length=1)
    phone: str | None = None
    fax: str | None = None
    email: str | None = None
    contact: str | None = None  # ผู้ประสานงาน

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError("expected an e-mail address such as saraban@dla.go.th")
        return v


class QRCode(_Part):
    url: str = Field(min_length=1)
    caption: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^(https?://|mailto:|tel:)\S+$", v):
            raise ValueError("expected a link starting with https:// (or http://, mailto:, tel:), "
                             "without spaces")
        return v


class LetterSpec(_Part):
    kind: Literal["external", "stamped", "memo"]
    circular: bool = False
    ref: RefNo | None = None
    date: date
    sender: Sender
    to: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    references: list[str] = []
    enclosures: list[str] = []
    body: list[str] = Field(min_length=1)
    salutation: str | None = None
    closing: str | None = None
    signer: Signer | None = None
    owner: Owner | None = None
    copies_to: list[str] = []
    urgency: str | None = None
    secrecy: str | None = None
    qr: list[QRCode] = []
    digits: Literal["thai", "arabic"] = "thai"

    @field_validator("ref", mode="before")
    @classmethod
    def _ref(cls, v: Any) -> Any:
        if v is None or isinstance(v, RefNo):
            return v
        try:
            return RefNo.parse(str(v))
        except RefNoError as e:
            raise ValueError(str(e)) from None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, date):
            return v
        try:
            return parse_thai_date(str(v))
        except ThaiDateError as e:
            raise ValueError(str(e)) from None

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
        blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _kind_rules(spec: LetterSpec) -> list[str]:
    """The parts each type of letter has and has not (reference/letters.md, หมวด ๑)."""
    problems: list[str] = []
    name = spec.kind_name
    if spec.kind == "stamped":
        for key in ("salutation", "closing", "signer"):
            if getattr(spec, key) is not None:
                problems.append(f"{key}: a {spec.kind} letter ({name}) has no salutation, closing or "
                                f"signature; remove '{key}' (the office stamp stands for them)")
    else:
        if spec.signer is None:
            problems.append(f"signer: required for a {spec.kind} letter ({name}): "
                            "{name: ..., position: ...}")
    if spec.kind == "memo":
        for key in ("references", "enclosures", "copies_to"):
            if getattr(spec, key):
                problems.append(f"{key}: a memo (บันทึกข้อความ) has no separate '{key}' part; "
                                "write it in the body text")
        if spec.closing is not None:
            problems.append("closing: a memo (บันทึกข้อความ) has no closing; remove 'closing'")
    elif spec.owner is None:
        problems.append(f"owner: required for a {spec.kind} letter ({name}): the owner division "
                        "{unit: ..., phone: ..., email: ...}")
    if spec.kind != "external" and spec.copies_to:
        problems.append("copies_to: only an external letter (หนังสือภายนอก) lists สำเนาส่ง")
    if spec.ref is not None and spec.ref.circular != spec.circular:
        if spec.circular:
            example = replace(spec.ref, circular=True).format("arabic")
            problems.append(f"ref: a circular takes the ว series, e.g. '{example}'; "
                            f"got '{spec.ref.format('arabic')}'")
        else:
            problems.append(f"ref: '{spec.ref.format('arabic')}' is in the ว series of circulars; "
                            "set 'circular: true' or drop the ว")
    return problems


def _text_problems(data: Any, path: str = "") -> list[str]:
    """Text that a .docx cannot hold (control characters)."""
    if isinstance(data, str):
        return [f"{path}: contains a control character; remove it"] if _XML_ILLEGAL.search(data) else []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _text_problems(v, f"{path}.{k}" if path else str(k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _text_problems(v, f"{path}[{i}]")]
    return []


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error["loc"]).replace(".[", "[")
    kind = error["type"]
    if kind == "missing":
        return f"{loc}: required but missing"
    if kind == "extra_forbidden":
        known = LetterSpec.model_fields if len(error["loc"]) == 1 else {}
        close = difflib.get_close_matches(str(error["loc"][-1]), list(known), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{loc}: unknown key{hint}"
    if kind == "literal_error":
        return f"{loc}: expected {error['ctx']['expected']}; got {error['input']!r}"
    if kind == "too_short" and loc in ("body",):
        return f"{loc}: needs at least one paragraph"
    if kind in ("string_too_short",):
        return f"{loc}: must not be empty"
    message = error["msg"].removeprefix("Value error, ")
    return f"{loc}: {message}"


def parse_spec(data: Any, source: str = "") -> LetterSpec:
    """Validate a spec given as a mapping; raise ``SpecError`` listing every problem."""
    if not isinstance(data, dict):
        raise SpecError(["the spec must be a mapping of keys (kind, date, sender, to, subject, body ...)"],
                        source)
    problems = _text_problems(data)
    try:
        spec = LetterSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(problems + [_describe(err) for err in e.errors()], source) from None
    problems += _kind_rules(spec)
    if problems:
        raise SpecError(problems, source)
    return spec


def load_spec(path: Path) -> LetterSpec:
    """Read and validate a YAML spec file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SpecError([f"cannot read the file: {e.strerror}"], str(path)) from None
    except yaml.YAMLError as e:
        raise SpecError([f"not valid YAML: {e}"], str(path)) from None
    return parse_spec(data, str(path))
