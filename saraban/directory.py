"""The directory of units (ทำเนียบหน่วยงาน): every office of the chain with its level, parent, letter
code (รหัสหนังสือ, e.g. ``มท 0820.2``) and e-mail.

Where the units come from:

- ``load_skeleton``: the built-in national skeleton. The ministries, the Department of Local
  Administration (``dla``) with its divisions and the environment agencies (saraban/data/central.csv);
  then, from geothai's official names and codes, one provincial local-administration office per province
  (``prov.81``, 76: Bangkok has none), one district office per amphoe (``amphoe.8101``, 878: Bangkok's 50
  khet are left out) and each province's PAO (``pao.81``, 76).
- ``load_municipalities``: the real municipalities of the field examples (saraban/data/municipalities.csv).
- ``import_units``: a CSV or YAML file of local administrations or any other units, checked as a whole
  first: one bad row and nothing is written, with every problem reported as ``line N: ...``.
- ``add_synthetic_local_layer``: one made-up local administration per subdistrict, for benchmarks.

Both loaders only *insert* units whose key is missing and never change a unit that is there, so edits
made with ``update_unit`` (``saraban directory set``) or ``import_units(update=True)`` survive reloading.
A letter code that is a best guess has ``letter_code_certain=False`` ("?" in the tree).

Keys are the stable names of units everywhere (CLI, imports, selectors): ministries by their romanised
initials (``mt`` มหาดไทย, ``ts`` ทรัพยากรธรรมชาติและสิ่งแวดล้อม ... see central.csv), ``dla``, ``dla.env``,
``dla.env.2``, ``prov.<province code>``, ``amphoe.<district code>``, ``pao.<province code>``,
``muni.<district code>.<name>``, ``syn.<subdistrict code>``.

Selectors (``select_units``) name the recipients of a circular: unit keys and rules, separated by commas.

>>> normalize_letter_code("กบ ๐๐๒๓.๖")
'กบ 0023.6'
>>> find_province("Krabi").code, find_province("81").abbr, find_province("กรุงเทพมหานคร").abbr
('81', 'กบ', 'กท')
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.orm import Session

from saraban.db import Database
from saraban.models import Unit
from thai_text import to_arabic_digits

DATA_DIR = Path(__file__).resolve().parent / "data"
CENTRAL_FILE = DATA_DIR / "central.csv"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities.csv"

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
_LEVEL_ALIASES: dict[str, tuple[str, ...]] = {
    **{level: (level,) for level in LEVELS},
    **{thai: (level,) for level, thai in LEVEL_NAMES.items()},
    "กอง": ("division",), "สำนัก": ("division",), "สถจ.": ("province_office",), "สถจ": ("province_office",),
    "อำเภอ": ("district_office",), "อบจ.": ("pao",), "อบจ": ("pao",), "ทน.": ("city_municipality",),
    "ทม.": ("town_municipality",), "ทต.": ("subdistrict_municipality",), "อบต.": ("sao",), "อบต": ("sao",),
    "local": LOCAL_LEVELS, "อปท.": LOCAL_LEVELS, "อปท": LOCAL_LEVELS,
    "municipality": MUNICIPAL_LEVELS, "เทศบาล": MUNICIPAL_LEVELS,
}
_RULE_ALIASES = {"ทุกจังหวัด": "all:province_office", "ทุกอำเภอ": "all:district_office"}

BANGKOK = "10"
# The provincial local-administration office's code after the province's letters (กบ ๐๐๒๓.๖, §1.4).
PROVINCE_OFFICE_CODE = "0023"
KNOWN_PROVINCE_OFFICE_CODES = {"81": "กบ 0023.6"}  # seen on a real letter: field-examples §1.4
PAO_CODE = "51001"  # a guess, marked uncertain
_LOCK_KEY = 0x5A7AB0D1  # PostgreSQL advisory lock taken while ensure_directory fills an empty directory

# Imports: the columns of a CSV header (YAML: the keys of each mapping).
COLUMNS = ("key", "name", "level", "parent", "letter_code", "email", "phone", "address", "sender_name",
           "short_name")
OPTIONAL_COLUMNS = ("letter_code_certain", "area_code")
REQUIRED_COLUMNS = ("key", "name", "level")
_MAX_LENGTH = {"key": 64, "name": 255, "short_name": 120, "sender_name": 255, "letter_code": 40,
               "email": 255, "phone": 80, "parent": 64, "area_code": 8}
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_LETTER_CODE = re.compile(r"(?P<prefix>[\u0e01-\u0e4e][\u0e01-\u0e4e.]*) ?(?P<code>\d+(?:\.\d+)*)")
_TRUE = {"yes", "y", "true", "1", "ใช่", "แน่นอน"}
_FALSE = {"no", "n", "false", "0", "ไม่", "ไม่ใช่", "ไม่แน่นอน"}
# The Unit columns a row may set (``parent`` is given as the parent's key).
_FIELDS = ("name", "level", "short_name", "sender_name", "letter_code", "letter_code_certain", "email",
           "phone", "address", "area_code")


class DirectoryError(ValueError):
    """A unit, level, province or selector that the directory does not know; a message for people."""


class DirectoryImportError(DirectoryError):
    """A file that cannot be imported; ``problems`` holds every bad row as ``line N: ...``."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        head = (f"{where}{len(problems)} problem(s), nothing imported / "
                f"พบข้อผิดพลาด {len(problems)} รายการ ไม่ได้นำเข้าข้อมูลใด")
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))


@dataclass
class ImportReport:
    """What an import did: keys created, updated (``update=True``) and already there unchanged."""

    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.source}: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged / เพิ่ม {len(self.created)} แก้ไข {len(self.updated)} "
                f"คงเดิม {len(self.unchanged)}")


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
    raise DirectoryError(f"unknown province '{text}'{hint} / ไม่พบจังหวัด '{text}'")


# ---------------------------------------------------------------------------------------------- levels


def resolve_levels(text: str) -> tuple[str, ...]:
    """The levels a name stands for: ``district_office``, its Thai name (``ที่ว่าการอำเภอ``), a common
    abbreviation (``อบต.``), or a group (``local`` / ``อปท.``: all local administrations)."""
    levels = _LEVEL_ALIASES.get(" ".join(text.split())) or _LEVEL_ALIASES.get(text.strip().lower())
    if not levels:
        raise DirectoryError(f"unknown level '{text}'; expected one of {', '.join(LEVELS)} (or local) / "
                             f"ไม่รู้จักระดับหน่วยงาน '{text}'")
    return levels


def normalize_letter_code(text: str) -> str:
    """A letter code as stored: Arabic digits, one space after the letters (``มท 0820.2``)."""
    clean = to_arabic_digits(" ".join(text.split()))
    match = _LETTER_CODE.fullmatch(clean)
    if not match:
        raise DirectoryError(f"bad letter code '{text}': expected letters and a number, e.g. มท 0820.2 / "
                             f"รหัสหนังสือ '{text}' ไม่ถูกต้อง ต้องเป็นอักษรย่อตามด้วยเลข เช่น มท ๐๘๒๐.๒")
    return f"{match['prefix']} {match['code']}"


# ---------------------------------------------------------------------------------------------- loading


def _row(key: str, name: str, level: str, parent: str | None, **fields: Any) -> dict[str, Any]:
    """A unit to insert: every column, and its parent's key."""
    row = {"key": key, "name": name, "level": level, "parent": parent, "short_name": None,
           "sender_name": None, "letter_code": None, "letter_code_certain": False, "email": None,
           "phone": None, "address": None, "province_code": None, "area_code": None, "synthetic": False}
    row.update(fields)
    return row


@cache
def _provincial_rows() -> tuple[dict[str, Any], ...]:
    import geothai

    rows = []
    for p in provinces():
        if p.code == BANGKOK:  # no provincial office, no PAO; its 50 districts are khet, not amphoe
            continue
        office = f"prov.{p.code}"
        known = KNOWN_PROVINCE_OFFICE_CODES.get(p.code)
        rows.append(_row(office, f"สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด{p.name}", "province_office", "dla",
                         short_name=f"สถจ.{p.name}", sender_name=f"จังหวัด{p.name}",
                         letter_code=known or f"{p.abbr} {PROVINCE_OFFICE_CODE}",
                         letter_code_certain=known is not None,
                         province_code=p.code, area_code=p.code))
        rows.append(_row(f"pao.{p.code}", f"องค์การบริหารส่วนจังหวัด{p.name}", "pao", office,
                         short_name=f"อบจ.{p.name}", letter_code=f"{p.abbr} {PAO_CODE}",
                         province_code=p.code, area_code=p.code))
        for d in geothai.districts(p.code):
            rows.append(_row(f"amphoe.{d.code}", f"ที่ว่าการอำเภอ{d.name_th}", "district_office", office,
                             short_name=f"อ.{d.name_th}", sender_name=f"อำเภอ{d.name_th}",
                             letter_code=f"{p.abbr} {d.code}", province_code=p.code, area_code=d.code))
    return tuple(rows)


def _insert_missing(session: Session, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert the rows whose key is not in the directory yet, in bulk, parents first; return their keys.

    A row's ``parent`` is a key already in the directory or of an earlier row."""
    ids: dict[str, int] = dict(session.execute(select(Unit.key, Unit.id)).all())
    tiers: list[list[dict[str, Any]]] = []
    depth: dict[str, int] = {}
    for row in rows:
        if row["key"] in ids or row["key"] in depth:
            continue
        parent = row["parent"]
        if parent is not None and parent not in ids and parent not in depth:
            raise DirectoryError(f"{row['key']}: unknown parent '{parent}' / ไม่พบหน่วยงานต้นสังกัด '{parent}'")
        level = depth[parent] + 1 if parent in depth else 0
        depth[row["key"]] = level
        if level == len(tiers):
            tiers.append([])
        tiers[level].append(row)
    for tier in tiers:
        values = []
        for row in tier:
            value = {k: v for k, v in row.items() if k != "parent"}
            value["parent_id"] = ids[row["parent"]] if row["parent"] is not None else None
            values.append(value)
        ids.update(session.execute(insert(Unit).returning(Unit.key, Unit.id), values).all())
    return list(depth)


def load_skeleton(session: Session) -> int:
    """Insert the built-in national skeleton (about 1,060 units); return how many were added.

    Idempotent: only missing keys are inserted and existing units are never changed, so a letter code or
    e-mail set by hand survives reloading (and a unit deleted by hand comes back)."""
    rows = [*_read_checked(CENTRAL_FILE), *_provincial_rows()]
    return len(_insert_missing(session, rows))


def load_municipalities(session: Session) -> int:
    """Insert the shipped municipalities of the field examples that are missing (needs the skeleton)."""
    return len(_insert_missing(session, _read_checked(MUNICIPALITIES_FILE)))


def add_synthetic_local_layer(session: Session, district: str | None = None) -> int:
    """Add one made-up local administration per subdistrict outside Bangkok (7,256), under its district
    office, for the national benchmark: key ``syn.<subdistrict code>``, name "อปท. (สมมติ) ตำบล<name>",
    level ``sao``, ``synthetic=True``. ``district`` (e.g. ``amphoe.8101``) limits it to one district (the
    demo). Needs the skeleton; idempotent; returns how many were added."""
    import geothai

    if session.scalar(select(func.count()).select_from(Unit).where(Unit.level == "district_office")) == 0:
        raise DirectoryError("load the skeleton first (saraban directory load-skeleton) / "
                             "ยังไม่มีโครงสร้างหน่วยงาน ให้โหลดโครงสร้างก่อน")
    rows = [_row(f"syn.{s.code}", f"อปท. (สมมติ) ตำบล{s.name_th}", "sao", f"amphoe.{s.district_code}",
                 province_code=s.province_code, area_code=s.code, synthetic=True)
            for p in provinces() if p.code != BANGKOK
            for d in geothai.districts(p.code) for s in geothai.subdistricts(d.code)
            if district is None or f"amphoe.{d.code}" == district]
    return len(_insert_missing(session, rows))


def ensure_directory(db: Database) -> int:
    """Load the skeleton and the shipped municipalities when the directory is empty; return the number
    of units added (0 when there already were units)."""
    with db.transaction() as session:
        if db.dialect == "postgresql":  # two processes starting at once: the second waits, then finds units
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if session.scalar(select(Unit.id).limit(1)) is not None:
            return 0
        return load_skeleton(session) + load_municipalities(session)


# ---------------------------------------------------------------------------------------------- lookups


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, change, swap two neighbours) that turn ``a`` into ``b``.

    >>> _distance("amphoe.7050", "amphoe.7005"), _distance("prov.18", "prov.81"), _distance("dla", "dla.env")
    (1, 1, 4)
    """
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def _close_keys(text: str, keys: Iterable[str]) -> list[str]:
    """Up to three keys near ``text``: keys it begins, keys one or two typos away, similar keys."""
    text = text.strip()
    keys = list(keys)
    close = sorted(k for k in keys if text and k.startswith(text))[:3]
    family = text.split(".", 1)[0]
    near = sorted((d, -len(os.path.commonprefix([text, k])), k) for k in keys
                  if k.split(".", 1)[0] == family and abs(len(k) - len(text)) <= 2
                  and (d := _distance(text, k)) <= 2)
    close += [k for _d, _p, k in near if k not in close]
    close += [k for k in difflib.get_close_matches(text, keys, n=3, cutoff=0.6) if k not in close]
    return close[:3]


def _suggestions(session: Session, text: str) -> list[str]:
    """Up to three keys near ``text``: similar keys, then units whose name contains it."""
    text = text.strip()
    close = _close_keys(text, session.scalars(select(Unit.key)).all())
    if len(close) < 3 and text:
        named = session.scalars(select(Unit).where(or_(
            Unit.name.contains(text, autoescape=True),
            Unit.short_name.contains(text, autoescape=True))).order_by(Unit.key).limit(50)).all()
        named.sort(key=lambda u: (_level_order(u.level), u.key))
        close += [u.key for u in named if u.key not in close]
    return close[:3]


def _unknown_unit(session: Session, key: str) -> DirectoryError:
    close = _suggestions(session, key)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return DirectoryError(f"unknown unit '{key}'{hint} / ไม่พบหน่วยงาน '{key}'")


def get_unit(session: Session, key: str) -> Unit:
    """The unit with this key; DirectoryError (with did-you-mean) when there is none."""
    unit = session.scalar(select(Unit).where(Unit.key == key.strip()))
    if unit is None:
        raise _unknown_unit(session, key)
    return unit


def find_unit(session: Session, text: str) -> Unit:
    """A unit by key, or by its exact name, short name or sender name when that names one unit only."""
    unit = session.scalar(select(Unit).where(Unit.key == text.strip()))
    if unit is not None:
        return unit
    name = " ".join(text.split())
    found = session.scalars(select(Unit).where(or_(
        Unit.name == name, Unit.short_name == name, Unit.sender_name == name)).limit(2)).all()
    if len(found) == 1:
        return found[0]
    raise _unknown_unit(session, text)


def children(session: Session, unit: Unit, levels: Iterable[str] | None = None) -> list[Unit]:
    """The units directly below ``unit``, sorted by key."""
    query = select(Unit).where(Unit.parent_id == unit.id)
    if levels is not None:
        query = query.where(Unit.level.in_(tuple(levels)))
    return list(session.scalars(query.order_by(Unit.key)))


def descendants(session: Session, unit: Unit, levels: Iterable[str] | None = None) -> list[Unit]:
    """Every unit below ``unit`` at any depth, sorted by key."""
    tree = select(Unit.id).where(Unit.parent_id == unit.id).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    query = select(Unit).where(Unit.id.in_(select(tree.c.id)))
    if levels is not None:
        query = query.where(Unit.level.in_(tuple(levels)))
    return list(session.scalars(query.order_by(Unit.key)))


def ancestors(session: Session, unit: Unit) -> list[Unit]:
    """The units above ``unit``, from the top of the chain down to its parent."""
    chain: list[Unit] = []
    parent_id = unit.parent_id
    while parent_id is not None and len(chain) < 64:
        parent = session.get(Unit, parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return chain[::-1]


def select_units(session: Session, selector: str) -> list[Unit]:
    """The units a selector names, sorted by key, each once.

    A selector is a comma-separated list of unit keys and rules:

    - ``all:<level>``: every unit at a level (``all:province_office``; ``ทุกจังหวัด`` for short);
    - ``under:<key>[:<level>]``: every unit below a unit, at any depth (at one level);
    - ``children:<key>[:<level>]``: the units directly below a unit;
    - ``province:<code or name>[:<level>]``: the units of a province (``province:กระบี่:district_office``).

    A level may be given in English, by its Thai name (``ที่ว่าการอำเภอ``), abbreviation (``อบต.``), or as
    ``local`` / ``อปท.`` for all local administrations (``under:amphoe.8101:local``).
    """
    items = [item.strip() for item in selector.split(",") if item.strip()]
    if not items:
        raise DirectoryError("empty selector: give unit keys or rules such as all:province_office / "
                             "ไม่ได้ระบุผู้รับ")
    found: dict[int, Unit] = {}
    for item in items:
        item = _RULE_ALIASES.get(item, item)
        units = _select_rule(session, item) if ":" in item else [get_unit(session, item)]
        found.update((u.id, u) for u in units)
    return sorted(found.values(), key=lambda u: u.key)


def _select_rule(session: Session, item: str) -> list[Unit]:
    rule, _, rest = item.partition(":")
    rule = rule.strip().lower()
    arg, _, level_text = rest.partition(":")
    levels = resolve_levels(level_text) if level_text.strip() else None
    if not arg.strip():
        raise DirectoryError(f"'{item}': missing the argument after '{rule}:' / ตัวเลือกผู้รับไม่ครบ")
    if rule == "all":
        if level_text:
            raise DirectoryError(f"'{item}': all takes one level, e.g. all:province_office")
        query = select(Unit).where(Unit.level.in_(resolve_levels(arg)))
        return list(session.scalars(query.order_by(Unit.key)))
    if rule == "under":
        return descendants(session, get_unit(session, arg), levels)
    if rule == "children":
        return children(session, get_unit(session, arg), levels)
    if rule == "province":
        query = select(Unit).where(Unit.province_code == find_province(arg).code)
        if levels is not None:
            query = query.where(Unit.level.in_(levels))
        return list(session.scalars(query.order_by(Unit.key)))
    raise DirectoryError(f"unknown selector rule '{rule}' in '{item}'; expected unit keys or all:, under:, "
                         f"children:, province: / ไม่รู้จักตัวเลือกผู้รับ '{item}'")


def level_counts(session: Session) -> dict[str, int]:
    """How many units there are at each level."""
    rows = session.execute(select(Unit.level, func.count()).group_by(Unit.level)).all()
    return {level: count for level, count in sorted(rows, key=lambda r: _level_order(r[0]))}


def _level_order(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


# ---------------------------------------------------------------------------------------------- the tree


def _describe(unit: Unit) -> str:
    parts = [unit.name, f"[{unit.key}]", unit.level]
    if unit.letter_code:
        parts.append(f"ที่ {unit.letter_code}{'' if unit.letter_code_certain else ' ?'}")
    if unit.email:
        parts.append(f"<{unit.email}>")
    return "  ".join(parts)


def render_tree(session: Session, root: str | None = None, depth: int | None = None) -> str:
    """The directory (or the part below ``root``) as an indented tree: name, key, level, letter code
    ("?" after a code that is not certain) and e-mail; ``depth`` limits how many levels below the top
    are shown (0: the top only), with the number of units left out."""
    if root is not None:
        top = find_unit(session, root)
        units = [top, *descendants(session, top)]
        tops = [top]
    else:
        units = list(session.scalars(select(Unit)))
        tops = [u for u in units if u.parent_id is None]
    below: dict[int, list[Unit]] = {}
    for u in units:
        if u.parent_id is not None:
            below.setdefault(u.parent_id, []).append(u)

    def order(us: list[Unit]) -> list[Unit]:
        return sorted(us, key=lambda u: (_level_order(u.level), u.key))

    def count(u: Unit) -> int:
        return sum(1 + count(c) for c in below.get(u.id, []))

    lines: list[str] = []
    uncertain = False

    def walk(u: Unit, prefix: str, branch: str, level: int) -> None:
        nonlocal uncertain
        uncertain |= bool(u.letter_code) and not u.letter_code_certain
        kids = order(below.get(u.id, []))
        hidden = count(u) if kids and depth is not None and level >= depth else 0
        more = f"  (+{hidden} below / อีก {hidden} หน่วย)" if hidden else ""
        lines.append(f"{prefix}{branch}{_describe(u)}{more}")
        if more:
            return
        inner = prefix + ("" if not branch else ("   " if branch == "└─ " else "│  "))
        for i, kid in enumerate(kids):
            walk(kid, inner, "└─ " if i == len(kids) - 1 else "├─ ", level + 1)

    for u in order(tops):
        walk(u, "", "", 0)
    if not lines:
        return "(the directory is empty / ยังไม่มีหน่วยงาน)"
    if uncertain:
        lines.append("? = letter code not known for certain / รหัสหนังสือยังไม่แน่นอน")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- editing


def update_unit(session: Session, key: str, **changes: Any) -> Unit:
    """Change a unit's fields (``name``, ``level``, ``parent`` (a key), ``letter_code``,
    ``letter_code_certain``, ``email``, ``phone``, ``address``, ``sender_name``, ``short_name``,
    ``area_code``), checked as in an import; ``None`` or "" clears a field. Setting a letter code without
    saying whether it is certain marks it certain."""
    unit = get_unit(session, key)
    unknown = set(changes) - {*_FIELDS, "parent"}
    if unknown:
        raise DirectoryError(f"cannot set {', '.join(sorted(unknown))}; "
                             f"settable: {', '.join(_FIELDS)}, parent")
    values = {k: ("" if v is None else str(v) if not isinstance(v, bool) else ("yes" if v else "no"))
              for k, v in changes.items()}
    fields, problems = _check_values(values, new=False)
    if "parent" in fields and fields["parent"] is not None:
        parent = session.scalar(select(Unit).where(Unit.key == fields["parent"]))
        if parent is None:
            raise _unknown_unit(session, fields["parent"])
        if parent.id == unit.id or unit in ancestors(session, parent):
            problems.append(f"'{parent.key}' is below '{key}': a unit cannot be under itself / "
                            "หน่วยงานอยู่ใต้ตัวเองไม่ได้")
    if problems:
        raise DirectoryError(f"{key}: " + "; ".join(problems))
    _apply(session, unit, fields)
    return unit


def _apply(session: Session, unit: Unit, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name == "parent":
            parent = session.scalar(select(Unit).where(Unit.key == value)) if value else None
            unit.parent_id = parent.id if parent else None
            if parent is not None and parent.province_code and not fields.get("area_code"):
                unit.province_code = parent.province_code
        else:
            setattr(unit, name, value)
            if name == "area_code" and value:
                unit.province_code = value[:2]


# ---------------------------------------------------------------------------------------------- imports


@dataclass
class _Line:
    line: int
    values: dict[str, str]  # only the columns the file gives, stripped


def _read_csv(text: str) -> tuple[list[_Line], list[str]]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[_Line] = []
    problems: list[str] = []
    start = 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as e:
            problems.append(f"line {start}: malformed CSV ({e}) / รูปแบบ CSV ไม่ถูกต้อง")
            break
        if record is None:
            break
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in record]
            unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            dupes = sorted({c for c in header if header.count(c) > 1})
            if unknown:
                problems.append(f"line {line}: unknown column(s) {', '.join(unknown)}; the columns are "
                                f"{','.join(COLUMNS)} / ไม่รู้จักคอลัมน์ {', '.join(unknown)}")
            if missing:
                problems.append(f"line {line}: missing column(s) {', '.join(missing)} / "
                                f"ไม่มีคอลัมน์ {', '.join(missing)}")
            if dupes:
                problems.append(f"line {line}: column(s) given twice: {', '.join(dupes)} / คอลัมน์ซ้ำ")
            if problems:
                return [], problems
            continue
        if len(record) != len(header):
            problems.append(f"line {line}: {len(record)} fields, expected {len(header)} (as in the header) / "
                            f"มี {len(record)} ช่อง แต่หัวตารางมี {len(header)} ช่อง")
            continue
        rows.append(_Line(line, {c: v.strip() for c, v in zip(header, record, strict=True)}))
    if header is None:
        problems.append(f"line 1: no header row; expected {','.join(COLUMNS)} / ไม่มีแถวหัวตาราง")
    return rows, problems


def _read_yaml(text: str) -> tuple[list[_Line], list[str]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], [f"line {line}: not valid YAML ({getattr(e, 'problem', e)}) / ไฟล์ YAML ไม่ถูกต้อง"]
    if data is None:
        return [], []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        return [], ["line 1: expected a list of units (- key: ... name: ... level: ...) / "
                    "ต้องเป็นรายการของหน่วยงาน"]
    rows: list[_Line] = []
    problems: list[str] = []
    for item, item_node in zip(data, node.value, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(f"line {line}: expected a mapping of key, name, level ... / ต้องเป็นข้อมูลหน่วยงาน")
            continue
        values: dict[str, str] = {}
        for column, value in item.items():
            column = str(column).strip().lower()
            if column not in COLUMNS + OPTIONAL_COLUMNS:
                problems.append(f"line {line}: unknown field '{column}'; the fields are "
                                f"{', '.join(COLUMNS)} / ไม่รู้จักช่อง '{column}'")
            elif isinstance(value, dict | list):
                problems.append(f"line {line}: {column} must be a single value / {column} ต้องเป็นค่าเดียว")
                values[column] = str(value)  # the row is bad already; keep it from being reported as missing
            elif isinstance(value, bool):
                values[column] = "yes" if value else "no"
            else:
                values[column] = "" if value is None else str(value).strip()
        rows.append(_Line(line, values))
    return rows, problems


def _check_values(values: dict[str, str], *, new: bool) -> tuple[dict[str, Any], list[str]]:
    """The Unit fields of one row (only those given; "" → None) and its problems, without the database."""
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for column in REQUIRED_COLUMNS if new else ():
        if not values.get(column):
            problems.append(f"missing {column} / ไม่มี {column}")
    for column, value in values.items():
        limit = _MAX_LENGTH.get(column)
        if limit and len(value) > limit:
            problems.append(f"{column} is longer than {limit} characters / {column} ยาวเกิน {limit} ตัวอักษร")
            continue
        if column in ("key", "parent") and value and not _KEY.fullmatch(value):
            problems.append(f"bad {column} '{value}': use letters, digits, '.', '_' or '-' "
                            f"(e.g. muni.8101.krabi) / {column} '{value}' ใช้ได้เฉพาะอักษรอังกฤษ ตัวเลข . _ -")
            continue
        if column == "key":
            continue
        if column in ("name", "level") and not value:
            if not new:
                problems.append(f"{column} cannot be empty / {column} ต้องไม่ว่าง")
            continue
        if column == "level":
            levels = _LEVEL_ALIASES.get(" ".join(value.split())) or _LEVEL_ALIASES.get(value.lower())
            if not levels or len(levels) != 1:
                problems.append(f"unknown level '{value}'; expected one of {', '.join(LEVELS)} / "
                                f"ไม่รู้จักระดับหน่วยงาน '{value}'")
            else:
                fields["level"] = levels[0]
        elif column == "letter_code":
            try:
                fields["letter_code"] = normalize_letter_code(value) if value else None
            except DirectoryError as e:
                problems.append(str(e))
        elif column == "letter_code_certain":
            if value and value.lower() not in _TRUE | _FALSE:
                problems.append(f"letter_code_certain '{value}': expected yes or no / ต้องเป็น yes หรือ no")
            elif value:
                fields["letter_code_certain"] = value.lower() in _TRUE
        elif column == "email":
            if value and not _EMAIL.fullmatch(value):
                problems.append(f"bad e-mail '{value}' / อีเมล '{value}' ไม่ถูกต้อง")
            else:
                fields["email"] = value or None
        elif column == "area_code":
            if value and not (value.isascii() and value.isdigit() and len(value) in (2, 4, 6)):
                problems.append(f"bad area_code '{value}': a 2-, 4- or 6-digit geocode / รหัสพื้นที่ไม่ถูกต้อง")
            else:
                fields["area_code"] = value or None
        else:
            fields[column] = " ".join(value.split()) if column != "address" else value
            fields[column] = fields[column] or None
    if "letter_code" in fields and "letter_code_certain" not in fields:
        fields["letter_code_certain"] = fields["letter_code"] is not None
    if fields.get("letter_code_certain") and not fields.get("letter_code", values.get("letter_code", "x")):
        problems.append("letter_code_certain without a letter_code / ระบุว่ารหัสแน่นอนแต่ไม่มีรหัสหนังสือ")
    return fields, problems


def _differences(unit: Unit, fields: dict[str, Any], parent_key: str | None) -> list[str]:
    diffs = []
    for name, value in fields.items():
        old = parent_key if name == "parent" else getattr(unit, name)
        if name == "letter_code_certain":
            old = bool(old)
        if old != value:
            diffs.append(f"{name} {old!r} → {value!r}")
    return diffs


def _read_file(path: Path) -> tuple[list[_Line], list[str]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise DirectoryError(f"{path}: expected a .csv, .yaml or .yml file / ต้องเป็นไฟล์ .csv หรือ .yaml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DirectoryError(f"cannot read {path}: {e.strerror} / อ่านไฟล์ไม่ได้") from None
    except UnicodeDecodeError:
        raise DirectoryError(f"{path}: not UTF-8 text (save it as CSV UTF-8) / ไฟล์ต้องเป็น UTF-8") from None
    return _read_csv(text) if suffix == ".csv" else _read_yaml(text)


@cache
def _read_checked(path: Path) -> tuple[dict[str, Any], ...]:
    """A shipped data file as rows to insert; its parents are earlier rows or skeleton units."""
    lines, problems = _read_file(path)
    rows = []
    for ln in lines:
        fields, more = _check_values(ln.values, new=True)
        problems += [f"line {ln.line}: {p}" for p in more]
        if not more:
            rows.append(_new_row(ln.values["key"], fields))
    if problems:
        raise DirectoryImportError(problems, str(path))
    return tuple(rows)


def import_units(session: Session, path: str | Path, *, update: bool = False) -> ImportReport:
    """Import units from a CSV file (header ``key,name,level,parent,letter_code,email,phone,address,
    sender_name,short_name``; optional ``letter_code_certain``, ``area_code``; UTF-8) or a YAML file (a
    list of mappings with the same fields).

    Every row is checked before anything is written: a missing key, name or level, an unknown level, a
    malformed key, e-mail, letter code or row, a key given twice in the file, a parent that is neither in
    the directory nor on an earlier row. Any problem → ``DirectoryImportError`` listing every bad row and
    nothing imported. A row whose key is already in the directory is fine when it says the same thing
    (re-importing a file changes nothing); when it differs it is a problem unless ``update=True``, which
    changes the fields the file gives. A letter code given without ``letter_code_certain`` counts as
    certain. A new unit takes its province from ``area_code`` or from its parent."""
    path = Path(path)
    lines, problems = _read_file(path)
    existing: dict[str, tuple[int, int | None]] = {
        key: (uid, pid) for key, uid, pid in session.execute(select(Unit.key, Unit.id, Unit.parent_id))}
    key_of = {uid: key for key, (uid, _pid) in existing.items()}
    seen: dict[str, int] = {}  # key → line, for keys given in the file
    later = {ln.values.get("key", ""): ln.line for ln in lines}
    plan: list[tuple[_Line, dict[str, Any]]] = []
    hints = 0
    parents: dict[str, str | None] = {  # key → parent key, as it will be after the import
        k: key_of.get(pid) if pid else None for k, (_uid, pid) in existing.items()}
    for ln in lines:
        key = ln.values.get("key", "")
        in_db = key in existing
        fields, more = _check_values(ln.values, new=not in_db or not update)
        row_problems = list(more)
        if key and key in seen:
            row_problems.append(f"key '{key}' is already on line {seen[key]} / "
                                f"รหัส '{key}' ซ้ำกับบรรทัด {seen[key]}")
        parent = fields.get("parent")
        if parent is not None and parent not in existing and parent not in seen:
            if parent == key:
                row_problems.append(f"'{key}' cannot be its own parent / หน่วยงานเป็นต้นสังกัดของตัวเองไม่ได้")
            elif parent in later and later[parent] > ln.line:
                row_problems.append(f"parent '{parent}' comes later (line {later[parent]}); put parents "
                                    f"first / หน่วยงานต้นสังกัด '{parent}' ต้องอยู่ก่อน")
            else:
                hints += 1  # did-you-mean for the first 20 only: a file of wrong keys stays quick to check
                close = _close_keys(parent, [*existing, *seen]) if hints <= 20 else []
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                row_problems.append(f"unknown parent '{parent}'{hint} / ไม่พบหน่วยงานต้นสังกัด '{parent}'")
        if key and _KEY.fullmatch(key) and key not in seen:
            seen[key] = ln.line
            if "parent" in fields:
                parents[key] = parent
        problems += [f"line {ln.line}: {p}" for p in row_problems]
        if not row_problems:
            plan.append((ln, fields))
    problems += _cycles(plan, parents)
    report = ImportReport(str(path))
    changes: list[tuple[Unit, dict[str, Any]]] = []
    new_rows: list[dict[str, Any]] = []
    units = _units_by_key(session, [ln.values["key"] for ln, _f in plan if ln.values["key"] in existing])
    for ln, fields in plan:
        key = ln.values["key"]
        unit = units.get(key)
        if unit is None:
            new_rows.append(_new_row(key, fields))
            continue
        diffs = _differences(unit, fields, key_of.get(unit.parent_id) if unit.parent_id else None)
        if not diffs:
            report.unchanged.append(key)
        elif update:
            changes.append((unit, fields))
        else:
            problems.append(f"line {ln.line}: '{key}' is already in the directory with other data ("
                            f"{'; '.join(diffs)}); import with --update to change it / '{key}' มีอยู่แล้ว"
                            " แต่ข้อมูลต่างกัน")
    if problems:
        problems.sort(key=lambda p: int(p.split(":", 1)[0].removeprefix("line ")))
        raise DirectoryImportError(problems, str(path))
    _fill_provinces(session, new_rows)
    report.created = _insert_missing(session, new_rows)
    for unit, fields in changes:
        _apply(session, unit, fields)
        report.updated.append(unit.key)
    session.flush()
    return report


def _new_row(key: str, fields: dict[str, Any]) -> dict[str, Any]:
    fields = dict(fields)
    parent = fields.pop("parent", None)
    area = fields.get("area_code")
    return _row(key, parent=parent, province_code=area[:2] if area else None, **fields)


def _units_by_key(session: Session, keys: list[str]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for i in range(0, len(keys), 500):
        units.update((u.key, u) for u in session.scalars(select(Unit).where(Unit.key.in_(keys[i:i + 500]))))
    return units


def _fill_provinces(session: Session, rows: list[dict[str, Any]]) -> None:
    """A new unit without an area code takes its parent's province (the parent may be a new row)."""
    known = {r["key"]: r["province_code"] for r in rows}
    wanted = sorted({r["parent"] for r in rows if r["parent"] and r["parent"] not in known})
    for i in range(0, len(wanted), 500):
        known.update(session.execute(select(Unit.key, Unit.province_code)
                                     .where(Unit.key.in_(wanted[i:i + 500]))).all())
    for r in rows:
        if r["province_code"] is None and r["parent"]:
            r["province_code"] = known.get(r["parent"])
            known[r["key"]] = r["province_code"]


def _cycles(plan: list[tuple[_Line, dict[str, Any]]], parents: dict[str, str | None]) -> list[str]:
    """Rows that would put a unit below itself (an update moving a unit under its own descendant)."""
    problems = []
    for ln, fields in plan:
        key = ln.values["key"]
        if "parent" not in fields:
            continue
        step, node = 0, fields["parent"]
        while node is not None and step <= len(parents):
            if node == key:
                problems.append(f"line {ln.line}: parent '{fields['parent']}' is below '{key}': a unit "
                                "cannot be under itself / หน่วยงานอยู่ใต้ตัวเองไม่ได้")
                break
            node, step = parents.get(node), step + 1
    return problems


__all__ = [
    "COLUMNS", "LEVELS", "LEVEL_NAMES", "LOCAL_LEVELS", "MUNICIPAL_LEVELS", "DirectoryError",
    "DirectoryImportError", "ImportReport", "Province", "add_synthetic_local_layer", "ancestors", "children",
    "descendants", "ensure_directory", "find_province", "find_unit", "get_unit", "import_units",
    "level_counts", "load_municipalities", "load_skeleton", "normalize_letter_code", "provinces",
    "render_tree", "resolve_levels", "select_units", "update_unit",
]
