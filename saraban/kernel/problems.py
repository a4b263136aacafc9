"""Pydantic's validation errors as problems clerks read: ``key: Thai message / English message``.

One formatter for everything checked with a pydantic model (a letter spec, a programme definition, a row
of the directory): the key is written as in the file (``qr[0].url``), the message says what was expected,
Thai first, and an unknown key comes with the known key it is probably a misspelling of.

>>> from pydantic import BaseModel, ConfigDict, ValidationError
>>> class Signer(BaseModel):
...     model_config = ConfigDict(extra="forbid")
...     name: str
...     position: str
>>> try:
...     Signer.model_validate({"name": 5, "postion": "อธิบดี"})
... except ValidationError as e:
...     print("\\n".join(problem_list(e.errors(), Signer)))
name: ต้องเป็นข้อความ / expected text
postion: ไม่รู้จักคีย์นี้ (หมายถึง 'position' หรือไม่?) / unknown key (did you mean 'position'?)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]

# Pydantic's error types and what they say to a clerk (Thai / English), for those without details to add.
_PLAIN = {
    "string_type": "ต้องเป็นข้อความ / expected text",
    "string_unicode": "ต้องเป็นข้อความ / expected text",
    "int_type": "ต้องเป็นจำนวนเต็ม / expected a whole number",
    "int_parsing": "ต้องเป็นจำนวนเต็ม / expected a whole number",
    "int_from_float": "ต้องเป็นจำนวนเต็ม ไม่มีทศนิยม / expected a whole number, without decimals",
    "float_type": "ต้องเป็นตัวเลข / expected a number",
    "float_parsing": "ต้องเป็นตัวเลข / expected a number",
    "finite_number": "ต้องเป็นตัวเลข / expected a number",
    "bool_type": "ต้องเป็น true หรือ false / expected true or false (a boolean)",
    "bool_parsing": "ต้องเป็น true หรือ false / expected true or false (a boolean)",
    "list_type": "ต้องเป็นรายการ (- ...) / expected a list (- ...)",
    "tuple_type": "ต้องเป็นรายการ (- ...) / expected a list (- ...)",
    "dict_type": "ต้องเป็นชุดข้อมูล (key: value) / expected a mapping (key: value)",
    "date_type": "ต้องเป็นวันที่ เช่น 2024-03-29 / expected a date such as 2024-03-29",
    "date_parsing": "ต้องเป็นวันที่ เช่น 2024-03-29 / expected a date such as 2024-03-29",
    "date_from_datetime_parsing": "ต้องเป็นวันที่ เช่น 2024-03-29 / expected a date such as 2024-03-29",
    "date_from_datetime_inexact": "ต้องเป็นวันที่ ไม่มีเวลา / expected a date without a time",
    "datetime_type": "ต้องเป็นวันที่และเวลา เช่น 2022-02-28 23:59 / expected a date and time such as 2022-02-28 23:59",
    "datetime_parsing": "ต้องเป็นวันที่และเวลา เช่น 2022-02-28 23:59 / "
                        "expected a date and time such as 2022-02-28 23:59",
    "datetime_from_date_parsing": "ต้องเป็นวันที่และเวลา เช่น 2022-02-28 23:59 / "
                                  "expected a date and time such as 2022-02-28 23:59",
    "model_type": "ต้องเป็นชุดข้อมูล (key: value) / expected a mapping (key: value)",
    "string_pattern_mismatch": "รูปแบบไม่ถูกต้อง / not in the expected form",
}


def key_path(loc: Loc) -> str:
    """Where a value is, as written in the file.

    >>> key_path(("qr", 0, "url")), key_path(("body", 1)), key_path(())
    ('qr[0].url', 'body[1]', '')
    """
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside a field's type: Signer in ``Signer | None``, QRCode in ``list[QRCode]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := inner_model(arg))), None)


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose keys sit at ``loc`` below ``root``: the root at (), Signer at ('signer',)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, str):
            field = model.model_fields.get(part) if model else None
            model = inner_model(field.annotation) if field else None
    return model


def did_you_mean(root: type[BaseModel], loc: Loc) -> str | None:
    """The known key closest to the unknown key at ``loc``, if one is close."""
    model = model_at(root, loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1) if model else []
    return close[0] if close else None


def describe(error: ErrorDetails, root: type[BaseModel]) -> str:
    """The message for one error (Thai / English), without its key."""
    loc, kind, ctx = error["loc"], error["type"], error.get("ctx", {})
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "missing":
        return f"ต้องระบุ {name} / missing {name} (required)"
    if kind == "extra_forbidden":
        hint = did_you_mean(root, loc)
        if hint:
            return f"ไม่รู้จักคีย์นี้ (หมายถึง '{hint}' หรือไม่?) / unknown key (did you mean '{hint}'?)"
        return "ไม่รู้จักคีย์นี้ / unknown key"
    if kind in ("model_type", "model_attributes_type") and (model := model_at(root, loc)):
        keys = ", ".join(model.model_fields)
        return f"ต้องเป็นชุดข้อมูลที่มีคีย์ {keys} / expected a mapping with keys {keys}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        return (f"ต้องเป็น {expected.replace(' or ', ' หรือ ')} (ได้ {error['input']!r}) / "
                f"expected {expected}; got {error['input']!r}")
    if kind == "string_too_short" and loc and isinstance(loc[-1], int):
        return "รายการว่าง เติมหรือลบออก / empty entry; fill it in or remove it"
    if kind == "string_too_short" or (kind == "too_short" and ctx.get("min_length") == 1):
        return "ต้องไม่ว่าง / must not be empty"
    if kind == "too_short":
        return f"ต้องมีอย่างน้อย {ctx.get('min_length')} รายการ / expected at least {ctx.get('min_length')} entries"
    if kind == "string_too_long":
        return f"ยาวเกิน {ctx.get('max_length')} ตัวอักษร / longer than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"มีได้ไม่เกิน {ctx.get('max_length')} รายการ / at most {ctx.get('max_length')} entries"
    bounds = {"greater_than": ("มากกว่า", "greater than", "gt"),
              "greater_than_equal": ("ไม่น้อยกว่า", "at least", "ge"),
              "less_than": ("น้อยกว่า", "less than", "lt"),
              "less_than_equal": ("ไม่เกิน", "at most", "le")}
    if kind in bounds:
        thai, english, key = bounds[kind]
        limit = ctx.get(key)
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        return f"ต้อง{thai} {limit} / must be {english} {limit}"
    if kind in ("string_type", "string_unicode") and isinstance(error.get("input"), dict):
        return colon_in_text(error["input"])
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in ("value_error", "assertion_error"):  # the validator's own message says it all
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"ไม่ถูกต้อง / {error['msg']}"


def colon_in_text(mapping: dict[Any, Any]) -> str:
    """Text that YAML read as a mapping: an unquoted ``: `` makes ``- ข้อ ๑: ...`` a key and its value.

    >>> print(colon_in_text({"วาระที่ 1": "เรื่องแจ้ง"}))  # doctest: +NORMALIZE_WHITESPACE
    ข้อความมี ': ' จึงถูกอ่านเป็น คีย์: ค่า ('วาระที่ 1: เรื่องแจ้ง') ให้ครอบทั้งข้อความด้วยเครื่องหมายคำพูด
    "..." หรือเขียน '- |' แล้วขึ้นบรรทัดใหม่ย่อหน้าเข้าไป / expected text, but the ': ' in it made YAML read
    it as a key and its value ('วาระที่ 1: เรื่องแจ้ง'): put the whole text in quotes "...", or write '- |'
    and the text on the next line, indented
    """
    typed = "; ".join(f"{k}: {v}" if v is not None else f"{k}:" for k, v in mapping.items())
    return (f"ข้อความมี ': ' จึงถูกอ่านเป็น คีย์: ค่า ('{typed}') ให้ครอบทั้งข้อความด้วยเครื่องหมายคำพูด \"...\" "
            f"หรือเขียน '- |' แล้วขึ้นบรรทัดใหม่ย่อหน้าเข้าไป / expected text, but the ': ' in it made YAML read it as "
            f"a key and its value ('{typed}'): put the whole text in quotes \"...\", or write '- |' and the text "
            "on the next line, indented")


def misspelt(errors: Iterable[ErrorDetails], root: type[BaseModel]) -> set[Loc]:
    """Where the keys that unknown keys stand for would be: ``subjct`` given means ``subject`` is meant.

    A misspelt key and the missing key it stands for are one mistake: the 'did you mean' says it all.
    """
    return {e["loc"][:-1] + (hint,) for e in errors
            if e["type"] == "extra_forbidden" and (hint := did_you_mean(root, e["loc"]))}


def problems_by_key(errors: Sequence[ErrorDetails], root: type[BaseModel]) -> dict[str, str]:
    """Every error once, as {key: message}: the first message for a key wins, and a key missing only
    because it was misspelt is not reported again."""
    meant = misspelt(errors, root)
    found: dict[str, str] = {}
    for error in errors:
        if not (error["type"] == "missing" and error["loc"] in meant):
            found.setdefault(key_path(error["loc"]), describe(error, root))
    return found


def problem_list(errors: Sequence[ErrorDetails], root: type[BaseModel]) -> list[str]:
    """The errors as ``key: message`` lines (a message alone where the problem is the whole)."""
    return [f"{key}: {message}" if key else message for key, message in problems_by_key(errors, root).items()]
