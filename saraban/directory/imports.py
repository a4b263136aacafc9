"""Changes to the directory: imports from CSV or YAML and edits of one unit, checked the same way.

``import_units`` checks a file as a whole first: one bad row and nothing is written, with every problem
reported as ``line N: ...``. ``update_unit`` (``saraban directory set``) changes one unit's fields.
A row's values are checked by one model (``NewUnit``, or ``UnitChanges`` for an edit) whose problems read
``column: Thai / English`` (saraban.kernel.problems).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from saraban.directory.levels import LEVELS, DirectoryError, normalize_letter_code, resolve_levels
from saraban.directory.units import ancestors, close_keys, get_unit, unknown_unit
from saraban.kernel.clock import at_or_now
from saraban.kernel.email_address import check_email
from saraban.kernel.problems import problem_list
from saraban.kernel.text_input import normalise_text, text_problem
from saraban.kernel.yaml_input import RefusedYaml, TextDatesLoader
from saraban.records.events import changed_fields, event_row, record_event
from saraban.records.models import Event, Unit

# Imports: the columns of a CSV header (YAML: the keys of each mapping).
COLUMNS = ("key", "name", "level", "parent", "letter_code", "email", "phone", "address", "sender_name",
           "short_name")
OPTIONAL_COLUMNS = ("letter_code_certain", "area_code")
REQUIRED_COLUMNS = ("key", "name", "level")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TRUE = {"yes", "y", "true", "1", "ใช่", "แน่นอน"}
_FALSE = {"no", "n", "false", "0", "ไม่", "ไม่ใช่", "ไม่แน่นอน"}
# The Unit columns a row may set (``parent`` is given as the parent's key).
_FIELDS = ("name", "level", "short_name", "sender_name", "letter_code", "letter_code_certain", "email",
           "phone", "address", "area_code")


class DirectoryImportError(DirectoryError):
    """A file that cannot be imported; ``problems`` holds every bad row as ``line N: ...``."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        head = (f"{where}พบข้อผิดพลาด {len(problems)} รายการ ไม่ได้นำเข้าข้อมูลใด / "
                f"{len(problems)} problem(s), nothing imported")
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))


@dataclass
class ImportReport:
    """What an import did: keys created, updated (``update=True``) and already there unchanged."""

    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.source}: เพิ่ม {len(self.created)} แก้ไข {len(self.updated)} คงเดิม {len(self.unchanged)} / "
                f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged")


# ---------------------------------------------------------------------------------------------- loading


def unit_row(key: str, name: str, level: str, parent: str | None, **fields: Any) -> dict[str, Any]:
    """A unit to insert: every column, and its parent's key."""
    row = {"key": key, "name": name, "level": level, "parent": parent, "short_name": None,
           "sender_name": None, "letter_code": None, "letter_code_certain": False, "email": None,
           "phone": None, "address": None, "province_code": None, "area_code": None, "synthetic": False}
    row.update(fields)
    return row


def insert_missing(session: Session, rows: Sequence[dict[str, Any]]) -> list[str]:
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


# ---------------------------------------------------------------------------------------------- editing


def update_unit(session: Session, key: str, *, actor: str = "saraban", at: datetime | None = None,
                **changes: Any) -> Unit:
    """Change a unit's fields (``name``, ``level``, ``parent`` (a key), ``letter_code``,
    ``letter_code_certain``, ``email``, ``phone``, ``address``, ``sender_name``, ``short_name``,
    ``area_code``), checked as in an import; ``None`` or "" clears a field. Setting a letter code without
    saying whether it is certain marks it certain. A change is an event ``unit.changed`` by ``actor`` with
    the changed fields before → after (the parent by its key)."""
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
            raise unknown_unit(session, fields["parent"])
        if parent.id == unit.id or unit in ancestors(session, parent):
            problems.append(f"'{parent.key}' is below '{key}': a unit cannot be under itself / "
                            "หน่วยงานอยู่ใต้ตัวเองไม่ได้")
    if problems:
        raise DirectoryError(f"{key}: " + "; ".join(problems))
    before = _state(session, unit, fields)
    _apply(session, unit, fields)
    before, after = changed_fields(before, _state(session, unit, fields))
    if after:
        record_event(session, "unit.changed", actor=actor, at=at_or_now(at), unit_id=unit.id, before=before,
                     after=after)
    return unit


def _state(session: Session, unit: Unit, fields: dict[str, Any]) -> dict[str, Any]:
    """The unit's values of ``fields`` (and its province, which follows them), the parent by its key."""
    state: dict[str, Any] = {}
    for name in [*fields, "province_code"]:
        if name == "parent":
            parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
            state[name] = parent.key if parent else None
        else:
            state[name] = getattr(unit, name)
    return state


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
    loader = TextDatesLoader(text)  # one read: the nodes (for line numbers) and the data built from them
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RefusedYaml as e:  # an alias bomb, deep nesting, a key written twice: refused as read
        return [], [f"line {e.line or 1}: {e}"]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], [f"line {line}: not valid YAML ({getattr(e, 'problem', e)}) / ไฟล์ YAML ไม่ถูกต้อง"]
    finally:
        loader.dispose()
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


# ------------------------------------------------------------------------------------------ a row's values


def _blank_is_none(value: Any) -> Any:
    """A blank cell clears an optional field."""
    return None if isinstance(value, str) and not value.strip() else value


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _unit_key(value: str, info: ValidationInfo) -> str:
    if not _KEY.fullmatch(value):
        thai = "รหัสต้นสังกัด" if info.field_name == "parent" else "รหัสหน่วยงาน"
        raise ValueError(f"{thai} '{value}' ใช้ได้เฉพาะอักษรอังกฤษ ตัวเลข . _ - (เช่น muni.8101.krabi) / "
                         f"bad {info.field_name} '{value}': use letters, digits, '.', '_' or '-' "
                         "(e.g. muni.8101.krabi)")
    return value


def _level(value: str) -> str:
    try:
        levels = resolve_levels(value)
    except DirectoryError:
        levels = ()
    if len(levels) != 1:  # a group (local, เทศบาล) names several levels: a unit has one
        raise ValueError(f"ไม่รู้จักระดับหน่วยงาน '{value}' / unknown level '{value}'; "
                         f"expected one of {', '.join(LEVELS)}")
    return levels[0]


def _yes_no(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        if value.strip().lower() not in _TRUE | _FALSE:
            raise ValueError(f"'{value}' ต้องเป็น ใช่ หรือ ไม่ใช่ (yes หรือ no) / expected yes or no; got '{value}'")
        return value.strip().lower() in _TRUE
    return _blank_is_none(value)


def _area_code(value: str) -> str:
    if not (value.isascii() and value.isdigit() and len(value) in (2, 4, 6)):
        raise ValueError(f"รหัสพื้นที่ '{value}' ไม่ถูกต้อง ต้องเป็นรหัส 2, 4 หรือ 6 หลัก / "
                         f"bad area_code '{value}': a 2-, 4- or 6-digit geocode")
    return value


Clearable = BeforeValidator(_blank_is_none)
UnitKey = Annotated[str, Field(max_length=64), AfterValidator(_unit_key)]
Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_one_line)]
Level = Annotated[str, Field(min_length=1), AfterValidator(_level)]


def _line(limit: int) -> Any:
    """Optional one-line text of at most ``limit`` characters (blanks inside collapsed)."""
    return Annotated[Annotated[str, Field(max_length=limit), AfterValidator(_one_line)] | None, Clearable]


Line80, Line120, Line255 = _line(80), _line(120), _line(255)


class UnitChanges(BaseModel):
    """What a row of an import (or ``update_unit``) gives for a unit's fields, as text: checked and made what
    the Unit columns hold. A blank clears an optional field; name and level cannot be cleared."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: UnitKey | None = None
    name: Name | None = None
    level: Level | None = None
    parent: Annotated[UnitKey | None, Clearable] = None
    letter_code: Annotated[Annotated[str, Field(max_length=40), AfterValidator(normalize_letter_code)] | None,
                           Clearable] = None
    letter_code_certain: Annotated[bool | None, BeforeValidator(_yes_no)] = None
    email: Annotated[Annotated[str, Field(max_length=255), AfterValidator(check_email)] | None, Clearable] = None
    phone: Line80 = None
    address: Annotated[str | None, Clearable] = None
    sender_name: Line255 = None
    short_name: Line120 = None
    area_code: Annotated[Annotated[str, Field(max_length=8), AfterValidator(_area_code)] | None, Clearable] = None

    @field_validator("*", mode="before")
    @classmethod
    def _one_form(cls, value: Any, info: ValidationInfo) -> Any:
        """Text in its one form (NFC, Thai sara am); control and invisible characters refused, named by field."""
        if not isinstance(value, str):
            return value
        value = normalise_text(value)
        problem = text_problem(value, multiline=info.field_name == "address")
        if problem:
            raise ValueError(problem)
        return value


class NewUnit(UnitChanges):
    """A row for a unit not in the directory yet: key, name and level are required (a blank is missing)."""

    key: UnitKey
    name: Name
    level: Level


def _check_values(values: dict[str, str], *, new: bool) -> tuple[dict[str, Any], list[str]]:
    """The Unit fields of one row (only those given; "" → None) and its problems, without the database.

    With problems, the fields are those of the good columns (the parent is still checked)."""
    model = NewUnit if new else UnitChanges
    given = {k: v for k, v in values.items() if not (new and k in REQUIRED_COLUMNS and not v.strip())}
    try:
        fields = model.model_validate(given).model_dump(exclude_unset=True)
    except ValidationError as e:
        bad = {error["loc"][0] for error in e.errors() if error["loc"]}
        good = UnitChanges.model_validate({k: v for k, v in given.items() if k not in bad})
        fields, problems = good.model_dump(exclude_unset=True), problem_list(e.errors(), model)
    else:
        problems = []
    fields.pop("key", None)
    if "letter_code" in fields and "letter_code_certain" not in fields:
        fields["letter_code_certain"] = fields["letter_code"] is not None
    if fields.get("letter_code_certain") and "letter_code" in fields and fields["letter_code"] is None:
        problems.append("letter_code_certain: ระบุว่ารหัสแน่นอนแต่ไม่มีรหัสหนังสือ / "
                        "letter_code_certain without a letter_code")
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
def read_checked(path: Path) -> tuple[dict[str, Any], ...]:
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


def import_units(session: Session, path: str | Path, *, update: bool = False, actor: str = "saraban",
                 at: datetime | None = None) -> ImportReport:
    """Import units from a CSV file (header ``key,name,level,parent,letter_code,email,phone,address,
    sender_name,short_name``; optional ``letter_code_certain``, ``area_code``; UTF-8) or a YAML file (a
    list of mappings with the same fields).

    Every row is checked before anything is written: a missing key, name or level, an unknown level, a
    malformed key, e-mail, letter code or row, a key given twice in the file, a parent that is neither in
    the directory nor on an earlier row. Any problem → ``DirectoryImportError`` listing every bad row and
    nothing imported. A row whose key is already in the directory is fine when it says the same thing
    (re-importing a file changes nothing); when it differs it is a problem unless ``update=True``, which
    changes the fields the file gives. A letter code given without ``letter_code_certain`` counts as
    certain. A new unit takes its province from ``area_code`` or from its parent. Every unit created or
    changed is an event by ``actor`` (``unit.created`` with its fields, ``unit.changed`` with the changed
    fields before → after), and the import as a whole one more (``directory.imported``)."""
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
                close = close_keys(parent, [*existing, *seen]) if hints <= 20 else []
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
    report.created = insert_missing(session, new_rows)
    at = at_or_now(at)
    events = _created_events(session, [r for r in new_rows if r["key"] in set(report.created)], actor, at)
    for unit, fields in changes:
        before = _state(session, unit, fields)
        _apply(session, unit, fields)
        before, after = changed_fields(before, _state(session, unit, fields))
        if after:
            events.append(event_row("unit.changed", actor=actor, at=at, unit_id=unit.id, before=before, after=after))
        report.updated.append(unit.key)
    session.flush()
    if report.created or report.updated:
        events.append(event_row("directory.imported", actor=actor, at=at, data={
            "file": path.name, "created": len(report.created), "updated": len(report.updated)}))
        session.execute(insert(Event), events)
    return report


def _created_events(session: Session, rows: list[dict[str, Any]], actor: str, at: datetime) -> list[dict[str, Any]]:
    keys = [r["key"] for r in rows]
    ids: dict[str, int] = {}
    for i in range(0, len(keys), 500):
        ids.update(session.execute(select(Unit.key, Unit.id).where(Unit.key.in_(keys[i:i + 500]))).all())
    return [event_row("unit.created", actor=actor, at=at, unit_id=ids[r["key"]],
                      after={k: v for k, v in r.items() if v is not None and v is not False and k != "key"})
            for r in rows]


def _new_row(key: str, fields: dict[str, Any]) -> dict[str, Any]:
    fields = dict(fields)
    parent = fields.pop("parent", None)
    area = fields.get("area_code")
    return unit_row(key, parent=parent, province_code=area[:2] if area else None, **fields)


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
