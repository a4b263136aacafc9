"""Levels, provinces and letter codes: the names the directory knows offices by.

>>> normalize_letter_code("กบ ๐๐๒๓.๖")
'กบ 0023.6'
>>> find_province("Krabi").code, find_province("81").abbr, find_province("กรุงเทพมหานคร").abbr
('81', 'กบ', 'กท')
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import NamedTuple

from thai_text import to_arabic_digits

LEVELS = (
    "ministry", "department", "division", "group", "province_office", "district_office", "pao",
    "city_municipality", "town_municipality", "subdistrict_municipality", "sao", "other",
)
LEVEL_NAMES = {
    "ministry": "กระทรวง",
    "department": "กรม",
    "division": "กอง / สำนัก",
    "group": "กลุ่มงาน",
    "province_office": "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด",
    "district_office": "ที่ว่าการอำเภอ",
    "pao": "องค์การบริหารส่วนจังหวัด",
    "city_municipality": "เทศบาลนคร",
    "town_municipality": "เทศบาลเมือง",
    "subdistrict_municipality": "เทศบาลตำบล",
    "sao": "องค์การบริหารส่วนตำบล",
    "other": "หน่วยงานอื่น",
}
# The local administrations (องค์กรปกครองส่วนท้องถิ่น, อปท.).
LOCAL_LEVELS = ("pao", "city_municipality", "town_municipality", "subdistrict_municipality", "sao")
MUNICIPAL_LEVELS = ("city_municipality", "town_municipality", "subdistrict_municipality")

# Other names a level may be given by, in imports and selectors; the last three name several levels.
LEVEL_ALIASES: dict[str, tuple[str, ...]] = {
    **{level: (level,) for level in LEVELS},
    **{thai: (level,) for level, thai in LEVEL_NAMES.items()},
    "กอง": ("division",), "สำนัก": ("division",), "สถจ.": ("province_office",), "สถจ": ("province_office",),
    "อำเภอ": ("district_office",), "อบจ.": ("pao",), "อบจ": ("pao",), "ทน.": ("city_municipality",),
    "ทม.": ("town_municipality",), "ทต.": ("subdistrict_municipality",), "อบต.": ("sao",), "อบต": ("sao",),
    "local": LOCAL_LEVELS, "อปท.": LOCAL_LEVELS, "อปท": LOCAL_LEVELS,
    "municipality": MUNICIPAL_LEVELS, "เทศบาล": MUNICIPAL_LEVELS,
}

BANGKOK = "10"
_LETTER_CODE = re.compile(r"(?P<prefix>[\u0e01-\u0e4e][\u0e01-\u0e4e.]*) ?(?P<code>\d+(?:\.\d+)*)")


class DirectoryError(ValueError):
    """A unit, level, province or selector that the directory does not know; a message for people."""


# ---------------------------------------------------------------------------------------------- provinces


class Province(NamedTuple):
    code: str  # two-digit DOPA code, e.g. "81"
    name: str  # กระบี่
    name_en: str  # Krabi
    abbr: str  # the letters of its reference numbers: กบ (Bangkok: กท)


@cache
def provinces() -> tuple[Province, ...]:
    """The 77 provinces (geothai's codes and names) with their letter-code abbreviations (pythainlp's
    ``abbr_th``, except Bangkok: กท)."""
    import geothai
    from pythainlp.corpus import provinces as thai_provinces

    abbr = {p["name_th"]: p["abbr_th"] for p in thai_provinces(details=True)}
    abbr["กรุงเทพมหานคร"] = "กท"
    return tuple(Province(p.code, p.name_th, p.name_en, abbr[p.name_th]) for p in geothai.provinces())


def find_province(text: str) -> Province:
    """A province by code (``81``), Thai name (``กระบี่``, ``จังหวัดกระบี่``), English name or letters (``กบ``)."""
    wanted = " ".join(text.split()).removeprefix("จังหวัด").strip().casefold()
    for p in provinces():
        if wanted in (p.code, p.name, p.name_en.casefold(), p.abbr):
            return p
    names = [p.name for p in provinces()] + [p.name_en for p in provinces()]
    close = difflib.get_close_matches(text.strip(), names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise DirectoryError(f"ไม่พบจังหวัด '{text}' / unknown province '{text}'{hint}")


# ---------------------------------------------------------------------------------------------- levels


def resolve_levels(text: str) -> tuple[str, ...]:
    """The levels a name stands for: ``district_office``, its Thai name (``ที่ว่าการอำเภอ``), a common
    abbreviation (``อบต.``), or a group (``local`` / ``อปท.``: all local administrations)."""
    levels = LEVEL_ALIASES.get(" ".join(text.split())) or LEVEL_ALIASES.get(text.strip().lower())
    if not levels:
        raise DirectoryError(f"ไม่รู้จักระดับหน่วยงาน '{text}' / unknown level '{text}'; expected one of "
                             f"{', '.join(LEVELS)} (or local)")
    return levels


def normalize_letter_code(text: str) -> str:
    """A letter code as stored: Arabic digits, one space after the letters (``มท 0820.2``)."""
    clean = to_arabic_digits(" ".join(text.split()))
    match = _LETTER_CODE.fullmatch(clean)
    if not match:
        raise DirectoryError(f"รหัสหนังสือ '{text}' ไม่ถูกต้อง ต้องเป็นอักษรย่อตามด้วยเลข เช่น มท ๐๘๒๐.๒ / "
                             f"bad letter code '{text}': expected letters and a number, e.g. มท 0820.2")
    return f"{match['prefix']} {match['code']}"


def level_order(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)
