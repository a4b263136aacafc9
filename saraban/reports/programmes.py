"""The report of a yearly programme's applications (field-examples §2-§3), to .xlsx and .docx, with a
chart of the applicants per province.

- :func:`programme_figures`: the numbers, counted once from the database. Per province: the 76 provinces
  (Bangkok too when an eligible unit or an applicant is there, and a row ``ไม่ระบุจังหวัด`` for units
  without a province), each with its eligible units, its applicants and the share of its eligible units
  that applied; per level (Thai names, in the directory's order); the provinces with no applicant (by
  code); the totals; the provisional levels of the applications; the reminders of the programme (its
  deadline reminders, ``about = "programme:<id>"``, and the receipt reminders of its invitation letter's
  deliveries) counted by kind, step and mail status.
- :func:`coverage_chart_png`: a horizontal bar chart of the applicants per province, provinces in code
  order, those without an applicant in red, Thai labels in the "Saraban TH" face of saraban.letters.paper.fonts
  (never a system font); 1600 × 2400 px, for a 15 cm wide image on an A4 portrait page.
- :func:`write_programme_report`: ``programme-<key>.xlsx`` (sheets สรุปรายจังหวัด, รายระดับ,
  จังหวัดที่ยังไม่มีผู้สมัคร, ผู้สมัคร, ประวัติการทวงถาม; laid out as saraban.reports.status' sheets) and
  ``programme-<key>.docx`` (templates/reports/programme.docx, made by scripts/build_report_templates.py:
  title, ข้อมูล ณ วันที่, totals, the province and level tables, the provinces without an applicant as
  one line, the chart, the reminder history).

An applicant counts in the ``applicants`` of its province and level whether or not it is among the
eligible units (the eligibility may have changed since it applied); the share is that of the eligible
units that applied. Digits are Thai unless ``digits="arabic"``; in the .xlsx, ลำดับ, counts, ครั้งที่ and
ร้อยละ are numbers (shown in Thai digits by their number format, a share with one decimal; ``-`` for a
share of nothing), every other cell text, never a formula.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from saraban.directory.levels import BANGKOK, LEVEL_NAMES, LEVELS, provinces
from saraban.kernel.clock import as_thai, at_or_now, moment_text
from saraban.kernel.files import saved, write_replacing
from saraban.kernel.settings import Settings, load_settings, template_file
from saraban.letters.paper.fonts import fontconfig_file
from saraban.letters.render import use_office_font
from saraban.records.models import Application, Delivery, Letter, Programme, Reminder, Unit
from saraban.reports.cells import printable
from saraban.reports.sheets import Value, write_sheet
from thai_text import apply_digits, format_thai_date

if TYPE_CHECKING:
    from collections.abc import Sequence

NO_PROVINCE = "ไม่ระบุจังหวัด"
NOT_ASSESSED = "ยังไม่ระบุ"
TOTAL = "รวม"
SHEETS = ("สรุปรายจังหวัด", "รายระดับ", "จังหวัดที่ยังไม่มีผู้สมัคร", "ผู้สมัคร", "ประวัติการทวงถาม")
PROVINCE_HEADERS = ("ลำดับ", "จังหวัด", "หน่วยงานที่มีสิทธิ์สมัคร", "ผู้สมัคร", "ร้อยละ")
LEVEL_HEADERS = ("ระดับหน่วยงาน", "หน่วยงานที่มีสิทธิ์สมัคร", "ผู้สมัคร", "ร้อยละ")
MISSING_HEADERS = ("ลำดับ", "รหัสจังหวัด", "จังหวัด", "หน่วยงานที่มีสิทธิ์สมัคร")
APPLICANT_HEADERS = ("ลำดับ", "หน่วยงาน", "ระดับ", "จังหวัด", "วันเวลาที่สมัคร", "ครั้งที่", "ผู้ประสานงาน",
                     "ตำแหน่ง", "อีเมล", "โทรศัพท์", "ระดับผลการประเมินเบื้องต้น")
REMINDER_HEADERS = ("ลำดับ", "หน่วยงาน", "เรื่อง", "ขั้น", "หนังสือที่", "อีเมล", "วันที่")
REMINDER_XLSX_HEADERS = ("ลำดับ", "หน่วยงาน", "ถึง", "เรื่อง", "ขั้น", "หนังสือที่", "การส่งอีเมล",
                         "วันเวลาที่ทวงถาม", "วันเวลาที่ส่งอีเมล")
PROVISIONAL_HEADERS = ("ระดับผลการประเมินเบื้องต้น", "จำนวน")
PROVINCE_WIDTHS = (8, 30, 22, 14, 12)
LEVEL_WIDTHS = (44, 22, 14, 12)
MISSING_WIDTHS = (8, 14, 30, 22)
APPLICANT_WIDTHS = (8, 40, 22, 18, 22, 9, 28, 24, 30, 16, 24)
REMINDER_WIDTHS = (8, 40, 40, 22, 16, 20, 16, 22, 22)
KIND_TH = {"deadline": "กำหนดส่งใบสมัคร", "receipt": "ยังไม่ลงรับหนังสือ"}
MAIL_TH = {"sent": "ส่งแล้ว", "refused": "ถูกปฏิเสธ", "failed": "ส่งไม่สำเร็จ", "no-address": "ไม่มีที่อยู่อีเมล",
           None: "ยังไม่ส่ง"}
_STEP = re.compile(r"(before|after)-(\d+)([dh])")
CHART_SIZE = (8.0, 12.0)  # inches; at CHART_DPI: 1600 × 2400 px
CHART_DPI = 200
CHART_WIDTH_MM = 150
ZERO_COLOUR, BAR_COLOUR = "#d62728", "#1f5fa8"


@dataclass(frozen=True)
class ProvinceFigure:
    code: str  # "" for units without a province
    name: str
    eligible: int
    applicants: int  # every applicant of the province, eligible or not
    eligible_applicants: int  # those of them that are eligible

    @property
    def share(self) -> float | None:
        """Per cent of the eligible units that applied; None when there are none."""
        return 100 * self.eligible_applicants / self.eligible if self.eligible else None


@dataclass(frozen=True)
class LevelFigure:
    level: str
    name: str
    eligible: int
    applicants: int
    eligible_applicants: int

    @property
    def share(self) -> float | None:
        return 100 * self.eligible_applicants / self.eligible if self.eligible else None


@dataclass(frozen=True)
class ApplicantFigure:
    """One application, as its unit and contact give it."""

    unit_id: int
    unit_key: str
    unit_name: str
    level: str
    province_code: str
    province_name: str
    submitted_at: datetime
    revision: int
    contact_name: str
    contact_position: str
    contact_email: str
    contact_phone: str
    provisional_level: str | None
    eligible: bool


@dataclass(frozen=True)
class ReminderFigure:
    id: int
    unit_id: int
    unit_name: str
    addressee_name: str
    kind: str
    step: str
    letter_ref: str
    mail_status: str | None
    created_at: datetime
    mailed_at: datetime | None


class _Covered:
    """What the province rows and the totals say (of :class:`ProgrammeFigures` and :class:`Coverage`)."""

    provinces: list[ProvinceFigure]
    eligible_total: int
    eligible_applicants: int

    @property
    def provinces_covered(self) -> int:
        """Provinces (of ``provinces``, the row without a province not counted) with an applicant."""
        return sum(1 for p in self.provinces if p.code and p.applicants)

    @property
    def province_count(self) -> int:
        return sum(1 for p in self.provinces if p.code)

    @property
    def share(self) -> float | None:
        return 100 * self.eligible_applicants / self.eligible_total if self.eligible_total else None


@dataclass(frozen=True)
class ProgrammeFigures(_Covered):
    key: str
    name: str
    year: int
    owner_name: str
    opens_at: datetime
    closes_at: datetime
    at: datetime  # the moment the figures are of (aware, Thai time)
    window: str  # the application window in words (saraban.programmes.window_text), "" when unknown
    provinces: list[ProvinceFigure]  # in code order; the row without a province last
    levels: list[LevelFigure]  # in the directory's order of levels
    missing_provinces: list[str]  # Thai names of the provinces (of ``provinces``) without an applicant
    eligible_total: int
    applicants_total: int
    eligible_applicants: int  # applicants among the eligible units
    provisional_levels: dict[str, int]  # provisional level (NOT_ASSESSED when none) → applications
    applications: list[ApplicantFigure]
    reminders: list[ReminderFigure]  # by time made
    reminders_by_kind: dict[str, int] = field(default_factory=dict)
    reminders_by_step: dict[str, int] = field(default_factory=dict)
    reminders_by_status: dict[str | None, int] = field(default_factory=dict)


def _province_of(unit: Unit) -> str:
    return unit.province_code or (unit.area_code or "")[:2]


CONTACT_NAME = ("name", "ชื่อ", "contact_name", "full_name")
CONTACT_POSITION = ("position", "ตำแหน่ง")
CONTACT_EMAIL = ("email", "e-mail", "อีเมล")
CONTACT_PHONE = ("phone", "tel", "โทรศัพท์")


def contact_field(contact: dict | None, keys: Sequence[str]) -> str:
    """One field of an application's contact, under whichever of its names it was given."""
    return _contact(contact, *keys)


def _contact(contact: dict | None, *keys: str) -> str:
    for key in keys:
        value = (contact or {}).get(key)
        if value:
            return str(value)
    return ""


def _level_order(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _definition_levels(programme: Programme) -> list[str]:
    """The award levels the programme's definition names (``structure.levels``, lowest first), if any."""
    definition = programme.definition or {}
    structure = definition.get("structure") if isinstance(definition.get("structure"), dict) else {}
    found = structure.get("levels") or definition.get("levels") or []
    names = []
    for item in found if isinstance(found, list) else []:
        name = item.get("name") if isinstance(item, dict) else item
        if name:
            names.append(str(name))
    return names


def programme_reminders(session: Session, programme: Programme) -> list[Reminder]:
    """The reminders of a programme: its deadline reminders and those about the receipt of its
    invitation letter, by time made."""
    conditions = [Reminder.about == f"programme:{programme.id}"]
    if programme.invitation_letter_id is not None:
        deliveries = [f"delivery:{d}" for d in session.scalars(
            select(Delivery.id).where(Delivery.letter_id == programme.invitation_letter_id))]
        if deliveries:
            conditions.append(Reminder.about.in_(deliveries))
    return list(session.scalars(select(Reminder).where(or_(*conditions))
                                .order_by(Reminder.created_at, Reminder.id)))


@dataclass(frozen=True)
class CoverageCell:
    """The units of one province (``_province_of``) and level: eligible, applied, both."""

    province_code: str
    level: str
    eligible: int
    applicants: int
    eligible_applicants: int


@dataclass(frozen=True)
class Coverage(_Covered):
    """The per-province and per-level counts and their totals (of the report, or of a dashboard's filter)."""

    provinces: list[ProvinceFigure]  # in code order; the row without a province last
    levels: list[LevelFigure]  # in the directory's order of levels
    eligible_total: int
    applicants_total: int
    eligible_applicants: int

    @property
    def missing_provinces(self) -> list[str]:
        return [p.name for p in self.provinces if p.code and not p.applicants]


def province_column():
    """``_province_of`` in SQL: the unit's province, else the first two digits of its area code, else ""."""
    return func.coalesce(func.nullif(Unit.province_code, ""), func.substr(Unit.area_code, 1, 2), "")


def coverage_cells(session: Session, programme: Programme,
                   eligible: Sequence[Unit] | None = None) -> list[CoverageCell]:
    """The counts of ``programme`` per (province, level): of ``eligible`` (counted here), or by default of
    saraban.programmes' eligibility, counted in the database (GROUP BY, never loading the units)."""
    if eligible is not None:
        eligible_by_id = {u.id: u for u in eligible}
        applied = set(session.scalars(select(Application.unit_id).where(Application.programme_id == programme.id)))
        units = dict(eligible_by_id)
        wanted = [i for i in applied if i not in units]
        if wanted:
            units.update((u.id, u) for u in session.scalars(select(Unit).where(Unit.id.in_(wanted))))
        counts: dict[tuple[str, str], list[int]] = {}
        for i in set(eligible_by_id) | applied:
            u = units[i]
            cell = counts.setdefault((_province_of(u), u.level), [0, 0, 0])
            cell[0] += i in eligible_by_id
            cell[1] += i in applied
            cell[2] += i in eligible_by_id and i in applied
        return [CoverageCell(p, lv, *c) for (p, lv), c in sorted(counts.items())]
    from saraban.programmes.applications import eligible_condition

    condition = eligible_condition(session, programme)
    applied = Application.id.is_not(None)
    rows = (select(province_column().label("province"), Unit.level.label("level"),
                   case((condition, 1), else_=0).label("eligible"), case((applied, 1), else_=0).label("applied"))
            .select_from(Unit)
            .outerjoin(Application, and_(Application.unit_id == Unit.id, Application.programme_id == programme.id))
            .where(or_(condition, applied)).subquery())
    query = (select(rows.c.province, rows.c.level, func.sum(rows.c.eligible), func.sum(rows.c.applied),
                    func.sum(rows.c.eligible * rows.c.applied))
             .group_by(rows.c.province, rows.c.level).order_by(rows.c.province, rows.c.level))
    return [CoverageCell(p or "", lv, int(e), int(a), int(b)) for p, lv, e, a, b in session.execute(query)]


def summarise(cells: Sequence[CoverageCell]) -> Coverage:
    """The province rows (the 76 provinces, Bangkok when it has a unit, the row without a province), the
    level rows and the totals of ``cells``."""
    province_names = {p.code: p.name for p in provinces()}
    el: Counter = Counter()
    ap: Counter = Counter()
    both: Counter = Counter()
    lel: Counter = Counter()
    lap: Counter = Counter()
    lboth: Counter = Counter()
    for c in cells:
        el[c.province_code] += c.eligible
        ap[c.province_code] += c.applicants
        both[c.province_code] += c.eligible_applicants
        lel[c.level] += c.eligible
        lap[c.level] += c.applicants
        lboth[c.level] += c.eligible_applicants
    codes = [p.code for p in provinces() if p.code != BANGKOK or el[BANGKOK] or ap[BANGKOK]]
    province_rows = [ProvinceFigure(c, province_names[c], el[c], ap[c], both[c]) for c in codes]
    others = sorted(c for c in set(el) | set(ap) if c not in province_names and (el[c] or ap[c]))
    if others:
        province_rows.append(ProvinceFigure("", NO_PROVINCE, sum(el[c] for c in others), sum(ap[c] for c in others),
                                            sum(both[c] for c in others)))
    level_rows = [LevelFigure(lv, LEVEL_NAMES.get(lv, lv), lel[lv], lap[lv], lboth[lv])
                  for lv in sorted((lv for lv in set(lel) | set(lap) if lel[lv] or lap[lv]),
                                   key=lambda lv: (_level_order(lv), lv))]
    return Coverage(province_rows, level_rows, sum(el.values()), sum(ap.values()), sum(both.values()))


def provisional_order(programme: Programme, counts: Counter | dict[str | None, int]) -> dict[str, int]:
    """Provisional level (NOT_ASSESSED for none) → applications: the definition's levels in order, then
    others by count, the unassessed last."""
    merged: Counter = Counter()
    for k, v in counts.items():
        merged[k or NOT_ASSESSED] += v
    order = {name: i for i, name in enumerate(_definition_levels(programme))}
    return dict(sorted(merged.items(), key=lambda kv: (
        kv[0] == NOT_ASSESSED, order.get(kv[0], len(order)), -kv[1], kv[0])))


def programme_figures(session: Session, programme: Programme, eligible: Sequence[Unit] | None = None,
                      *, at: datetime | None = None) -> ProgrammeFigures:
    """The figures of ``programme``: ``eligible`` units (default: saraban.programmes' eligibility, counted
    in the database) and its applications and reminders, as of ``at`` (default now; Thai time)."""
    at = at_or_now(at)
    coverage = summarise(coverage_cells(session, programme, eligible))
    if eligible is None:
        from saraban.programmes.applications import eligible_condition

        found = session.execute(select(Application, Unit, case((eligible_condition(session, programme), True),
                                                               else_=False))
                                .join(Unit, Unit.id == Application.unit_id)
                                .where(Application.programme_id == programme.id)).tuples().all()
    else:
        eligible_ids = {u.id for u in eligible}
        applications = list(session.scalars(select(Application).where(Application.programme_id == programme.id)))
        units = {u.id: u for u in eligible}
        wanted = [a.unit_id for a in applications if a.unit_id not in units]
        if wanted:
            units.update((u.id, u) for u in session.scalars(select(Unit).where(Unit.id.in_(wanted))))
        found = [(a, units[a.unit_id], a.unit_id in eligible_ids) for a in applications]
    province_names = {p.code: p.name for p in provinces()}
    provisional_levels = provisional_order(programme, Counter(a.provisional_level for a, _, _ in found))

    applicant_rows = []
    for a, u, is_eligible in found:
        code = _province_of(u)
        applicant_rows.append(ApplicantFigure(
            unit_id=u.id, unit_key=u.key, unit_name=u.name, level=u.level, province_code=code,
            province_name=province_names.get(code, NO_PROVINCE), submitted_at=a.submitted_at, revision=a.revision,
            contact_name=_contact(a.contact, *CONTACT_NAME), contact_position=_contact(a.contact, *CONTACT_POSITION),
            contact_email=_contact(a.contact, *CONTACT_EMAIL), contact_phone=_contact(a.contact, *CONTACT_PHONE),
            provisional_level=a.provisional_level, eligible=bool(is_eligible)))
    applicant_rows.sort(key=lambda r: (r.province_code or "99", _level_order(r.level), r.unit_name, r.unit_id))

    reminders = programme_reminders(session, programme)
    ids = {r.unit_id for r in reminders} | {r.addressee_id for r in reminders}
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).tuples().all()) if ids else {}
    letter_ids = {r.letter_id for r in reminders if r.letter_id is not None}
    refs = dict(session.execute(select(Letter.id, Letter.ref_text).where(Letter.id.in_(letter_ids))).tuples().all()) \
        if letter_ids else {}
    reminder_rows = [ReminderFigure(
        id=r.id, unit_id=r.unit_id, unit_name=names.get(r.unit_id, ""), addressee_name=names.get(r.addressee_id, ""),
        kind=r.kind, step=r.step, letter_ref=refs.get(r.letter_id, ""), mail_status=r.mail_status,
        created_at=r.created_at, mailed_at=r.mailed_at) for r in reminders]

    owner = session.get(Unit, programme.owner_unit_id)
    try:
        from saraban.programmes.applications import window_text

        window = window_text(programme)
    except ImportError:
        window = ""
    return ProgrammeFigures(
        key=programme.key, name=programme.name, year=programme.year, owner_name=owner.name if owner else "",
        opens_at=programme.opens_at, closes_at=programme.closes_at, at=at, window=window,
        provinces=coverage.provinces, levels=coverage.levels, missing_provinces=coverage.missing_provinces,
        eligible_total=coverage.eligible_total, applicants_total=coverage.applicants_total,
        eligible_applicants=coverage.eligible_applicants, provisional_levels=provisional_levels,
        applications=applicant_rows, reminders=reminder_rows,
        reminders_by_kind=dict(Counter(r.kind for r in reminders)),
        reminders_by_step=dict(Counter(r.step for r in reminders)),
        reminders_by_status=dict(Counter(r.mail_status for r in reminders)))


# --- text ---------------------------------------------------------------------------------------------


def _n(n: int, digits: str) -> str:
    return apply_digits(f"{n:,}", digits)


def _pct(share: float | None, digits: str) -> str:
    return "-" if share is None else apply_digits(f"{share:.1f}", digits)


def _share(share: float | None) -> float | str:
    """A share as the .xlsx holds it: a number to one decimal, ``-`` when there is none."""
    return "-" if share is None else round(share, 1)


def _text(value: Value, digits: str) -> str:
    """A cell of the tables as the .docx prints it."""
    if isinstance(value, int):
        return _n(value, digits)
    if isinstance(value, float):
        return _pct(value, digits)
    return "" if value is None else value


def step_text(step: str, digits: str = "thai") -> str:
    """What a reminder's step is measured from (saraban.programmes.reminders): a receipt reminder's
    ``after-7d`` → ``๗ วันหลังส่งหนังสือ`` (days since the letter was sent; ``after-0d``, a clerk's ทวงถาม
    the same day → ``วันที่ส่งหนังสือ``), a deadline reminder's ``before-3d`` → ``๓ วันก่อนปิดรับสมัคร``;
    other steps as they are."""
    m = _STEP.fullmatch(step or "")
    if not m:
        return apply_digits(printable(step), digits)
    if m[1] == "after" and int(m[2]) == 0:
        return "วันที่ส่งหนังสือ"
    when = "ก่อนปิดรับสมัคร" if m[1] == "before" else "หลังส่งหนังสือ"
    return apply_digits(f"{int(m[2])} {'วัน' if m[3] == 'd' else 'ชั่วโมง'}{when}", digits)


def _when(at: datetime, digits: str) -> str:
    """A date, with its time unless midnight (Thai time)."""
    at = as_thai(at)
    if (at.hour, at.minute) == (0, 0):
        return format_thai_date(at.date(), abbreviated=True, digits=digits)
    return moment_text(at, digits)


def title_lines(figures: ProgrammeFigures, digits: str = "thai") -> list[str]:
    """รายงานผลการรับสมัคร<name> ประจำปี <year>, the owner, the window, ข้อมูล ณ วันที่."""
    name = printable(figures.name)
    year = "" if "ประจำปี" in name else f" ประจำปี {figures.year}"
    window = f"ระยะเวลารับสมัคร {figures.window}" if figures.window else (
        f"ระยะเวลารับสมัคร {_when(figures.opens_at, digits)} ถึง {_when(figures.closes_at, digits)}")
    lines = [f"รายงานผลการรับสมัคร{name}{year}", printable(figures.owner_name), window,
             f"ข้อมูล ณ วันที่ {moment_text(figures.at, digits)}"]
    return [apply_digits(line, digits) for line in lines if line]


def total_lines(figures: ProgrammeFigures, digits: str = "thai") -> list[str]:
    f, d = figures, digits
    lines = [f"หน่วยงานที่มีสิทธิ์สมัคร {_n(f.eligible_total, d)} แห่ง สมัครแล้ว {_n(f.eligible_applicants, d)} แห่ง "
             f"(ร้อยละ {_pct(f.share, d)})",
             f"จังหวัดที่มีผู้สมัคร {_n(f.provinces_covered, d)} จังหวัด จาก {_n(f.province_count, d)} จังหวัด "
             f"ยังไม่มีผู้สมัคร {_n(len(f.missing_provinces), d)} จังหวัด"]
    if f.applicants_total != f.eligible_applicants:
        lines.append(f"ผู้สมัครที่ไม่อยู่ในกลุ่มที่มีสิทธิ์สมัคร {_n(f.applicants_total - f.eligible_applicants, d)} แห่ง")
    return lines


def missing_line(figures: ProgrammeFigures, digits: str = "thai") -> str:
    """``จังหวัดที่ยังไม่มีผู้สมัคร 6 จังหวัด: มุกดาหาร, เพชรบุรี, ...`` (field-examples §3)."""
    if not figures.missing_provinces:
        return "มีผู้สมัครครบทุกจังหวัดแล้ว"
    return (f"จังหวัดที่ยังไม่มีผู้สมัคร {_n(len(figures.missing_provinces), digits)} จังหวัด: "
            + ", ".join(figures.missing_provinces))


def reminder_lines(figures: ProgrammeFigures, digits: str = "thai") -> list[str]:
    if not figures.reminders:
        return ["ยังไม่มีการทวงถาม"]
    d = digits

    def parts(counts: dict, name) -> str:
        return ", ".join(f"{name(k)} {_n(v, d)}" for k, v in counts.items())

    return [f"ทวงถามแล้ว {_n(len(figures.reminders), d)} ครั้ง",
            f"ตามเรื่อง: {parts(figures.reminders_by_kind, lambda k: KIND_TH.get(k, k))}",
            f"ตามขั้น: {parts(figures.reminders_by_step, lambda k: step_text(k, d))}",
            f"การส่งอีเมล: {parts(figures.reminders_by_status, lambda k: MAIL_TH.get(k, k))}"]


def _province_rows(figures: ProgrammeFigures) -> list[tuple[Value, ...]]:
    return [(i, p.name, p.eligible, p.applicants, _share(p.share)) for i, p in enumerate(figures.provinces, 1)]


def _province_total(figures: ProgrammeFigures) -> tuple[Value, ...]:
    return ("", TOTAL, figures.eligible_total, figures.applicants_total, _share(figures.share))


def _level_rows(figures: ProgrammeFigures) -> list[tuple[Value, ...]]:
    return [(lv.name, lv.eligible, lv.applicants, _share(lv.share)) for lv in figures.levels]


def _level_total(figures: ProgrammeFigures) -> tuple[Value, ...]:
    return (TOTAL, figures.eligible_total, figures.applicants_total, _share(figures.share))


def _reminder_row(i: int, r: ReminderFigure, digits: str) -> dict[str, str]:
    return {"no": _n(i, digits), "unit": apply_digits(printable(r.unit_name), digits),
            "addressee": apply_digits(printable(r.addressee_name), digits),
            "kind": KIND_TH.get(r.kind, printable(r.kind)),
            "step": step_text(r.step, digits), "letter": apply_digits(printable(r.letter_ref), digits),
            "mail": MAIL_TH.get(r.mail_status, printable(r.mail_status)), "date": moment_text(r.created_at, digits),
            "mailed": moment_text(r.mailed_at, digits) if r.mailed_at else ""}


# --- chart --------------------------------------------------------------------------------------------


def chart_fonts(settings: Settings) -> tuple[Path, Path]:
    """The Regular and Bold "Saraban TH" TTFs (written into the data folder once)."""
    fonts_dir = settings.data_dir / "fonts"
    fontconfig_file(fonts_dir, settings.font_name)
    return fonts_dir / "SarabanTH-Regular.ttf", fonts_dir / "SarabanTH-Bold.ttf"


def coverage_chart_png(figures: ProgrammeFigures, path: Path | str, settings: Settings | None = None, *,
                       digits: str = "thai") -> Path:
    """A horizontal bar chart of the applicants of every province (code order, top down), provinces
    without an applicant in red; 1600 × 2400 px PNG."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    path = Path(path)
    settings = settings or load_settings()
    regular, bold = chart_fonts(settings)
    for font in (regular, bold):
        font_manager.fontManager.addfont(str(font))
    label = font_manager.FontProperties(fname=str(regular), size=13)
    small = font_manager.FontProperties(fname=str(regular), size=12)
    heading = font_manager.FontProperties(fname=str(bold), size=20)
    rows = [p for p in figures.provinces if p.code]
    names = [p.name for p in rows]
    values = [p.applicants for p in rows]
    colours = [BAR_COLOUR if v else ZERO_COLOUR for v in values]

    fig = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = range(len(rows))
    ax.barh(positions, values, color=colours, height=0.7)
    ax.set_yticks(list(positions), names, fontproperties=label)
    for tick, v in zip(ax.get_yticklabels(), values, strict=True):
        if not v:
            tick.set_color(ZERO_COLOUR)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first province at the top
    top = max(values, default=0)
    ax.set_xlim(0, max(1, top) * 1.12 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: apply_digits(f"{x:,.0f}", digits)))
    for t in ax.get_xticklabels():
        t.set_fontproperties(small)
    ax.tick_params(axis="x", labelsize=12)
    ax.tick_params(axis="y", length=0, pad=3)
    for y, v in zip(positions, values, strict=True):  # the count at the end of the bar; 0 in red
        ax.text(v + top * 0.01 + 0.05, y, apply_digits(str(v), digits), va="center", fontproperties=small,
                color="black" if v else ZERO_COLOUR)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("จำนวนผู้สมัคร (แห่ง)", fontproperties=small)
    title = (f"ผู้สมัครรายจังหวัด: มีผู้สมัคร {_n(figures.provinces_covered, digits)} จาก "
             f"{_n(figures.province_count, digits)} จังหวัด")
    ax.set_title(apply_digits(title, digits), fontproperties=heading, pad=10)
    ax.legend(handles=[Patch(color=BAR_COLOUR, label="มีผู้สมัคร"),
                       Patch(color=ZERO_COLOUR, label="ยังไม่มีผู้สมัคร")],
              prop=small, loc="lower right", frameon=False)
    fig.subplots_adjust(left=0.2, right=0.97, top=0.955, bottom=0.055)
    write_replacing(path, saved(lambda f: fig.savefig(f, format="png", dpi=CHART_DPI, metadata={"Software": None})))
    return path


# --- files --------------------------------------------------------------------------------------------


def programme_report_xlsx(figures: ProgrammeFigures, path: Path | str, *, digits: str = "thai") -> Path:
    """The workbook: สรุปรายจังหวัด, รายระดับ, จังหวัดที่ยังไม่มีผู้สมัคร, ผู้สมัคร, ประวัติการทวงถาม."""
    from openpyxl import Workbook

    path = Path(path)
    d = digits
    titles = title_lines(figures, d)
    wb = Workbook()
    sheets = [wb.active] + [wb.create_sheet() for _ in SHEETS[1:]]
    for ws, name in zip(sheets, SHEETS, strict=True):
        ws.title = name
    by_province, by_level, missing, applicants, history = sheets
    write_sheet(by_province, [*titles, *total_lines(figures, d)], PROVINCE_HEADERS,
           [*_province_rows(figures), _province_total(figures)], PROVINCE_WIDTHS, centre={0, 2, 3, 4},
           bold_last=True, digits=d)
    write_sheet(by_level, titles, LEVEL_HEADERS, [*_level_rows(figures), _level_total(figures)], LEVEL_WIDTHS,
           centre={1, 2, 3}, bold_last=True, digits=d)
    missing_title = (f"จังหวัดที่ยังไม่มีผู้สมัคร {_n(len(figures.missing_provinces), d)} จังหวัด"
                     if figures.missing_provinces else missing_line(figures, d))
    write_sheet(missing, [*titles, missing_title], MISSING_HEADERS,
           [(i, apply_digits(p.code, d), p.name, p.eligible)  # the province's code is a code: text
            for i, p in enumerate((p for p in figures.provinces if p.code and not p.applicants), 1)],
           MISSING_WIDTHS, centre={0, 1, 3}, digits=d)

    def t(value) -> str:
        return apply_digits(printable(value), d)

    write_sheet(applicants, titles, APPLICANT_HEADERS,
           [(i, t(a.unit_name), LEVEL_NAMES.get(a.level, a.level), a.province_name,
             moment_text(a.submitted_at, d), a.revision, t(a.contact_name), t(a.contact_position),
             printable(a.contact_email), t(a.contact_phone), t(a.provisional_level))
            for i, a in enumerate(figures.applications, 1)],
           APPLICANT_WIDTHS, centre={0, 4, 5}, digits=d)
    rows = [_reminder_row(i, r, d) for i, r in enumerate(figures.reminders, 1)]
    write_sheet(history, [*titles, *reminder_lines(figures, d)], REMINDER_XLSX_HEADERS,
           [(i, r["unit"], r["addressee"], r["kind"], r["step"], r["letter"], r["mail"], r["date"],
             r["mailed"]) for i, r in enumerate(rows, 1)], REMINDER_WIDTHS, centre={0, 4, 6, 7, 8}, digits=d)
    wb.properties.title = titles[0]
    wb.properties.creator = "saraban"
    write_replacing(path, saved(wb.save))  # whole or not at all; a report may be made again
    return path


def programme_report_docx(figures: ProgrammeFigures, path: Path | str, settings: Settings | None = None, *,
                          chart: Path | None = None, digits: str = "thai") -> Path:
    """The report with templates/reports/programme.docx, the chart (``chart``, else drawn next to
    ``path``) 15 cm wide."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    path = Path(path)
    settings = settings or load_settings()
    d = digits
    if chart is None:
        chart = coverage_chart_png(figures, path.with_suffix(".png"), settings, digits=d)
    tpl = DocxTemplate(str(template_file(settings, "reports/programme.docx")))

    def row(fields: Sequence[str], values: Sequence[Value]) -> dict[str, str]:
        return dict(zip(fields, (_text(v, d) for v in values), strict=True))

    province_fields = ("no", "name", "eligible", "applicants", "share")
    level_fields = ("name", "eligible", "applicants", "share")
    context = {
        "title_lines": title_lines(figures, d),
        "total_lines": total_lines(figures, d),
        "province_heading": "สรุปรายจังหวัด",
        "province_headers": list(PROVINCE_HEADERS),
        "provinces": [row(province_fields, r) for r in _province_rows(figures)],
        "province_total": row(province_fields, _province_total(figures)),
        "missing_heading": "จังหวัดที่ยังไม่มีผู้สมัคร",
        "missing_line": missing_line(figures, d),
        "level_heading": "สรุปตามระดับหน่วยงาน",
        "level_headers": list(LEVEL_HEADERS),
        "levels": [row(level_fields, r) for r in _level_rows(figures)],
        "level_total": row(level_fields, _level_total(figures)),
        "provisional_heading": "ระดับผลการประเมินเบื้องต้นของผู้สมัคร",
        "provisional_headers": list(PROVISIONAL_HEADERS),
        "provisional": [{"name": apply_digits(printable(k), d), "count": _n(v, d)}
                        for k, v in figures.provisional_levels.items()],
        "chart_heading": "แผนภูมิจำนวนผู้สมัครรายจังหวัด",
        "chart": InlineImage(tpl, str(chart), width=Mm(CHART_WIDTH_MM)),
        "reminder_heading": "ประวัติการทวงถาม",
        "reminder_lines": reminder_lines(figures, d),
        "reminder_headers": list(REMINDER_HEADERS),
        "reminders": [_reminder_row(i, r, d) for i, r in enumerate(figures.reminders, 1)],
    }
    tpl.render(context, autoescape=True)
    use_office_font(tpl, settings.font_name)
    props = tpl.docx.core_properties
    props.title = context["title_lines"][0]
    props.author = props.last_modified_by = "saraban"
    write_replacing(path, saved(tpl.save))
    return path


def _stem(key: str) -> str:
    return "programme-" + re.sub(r"[^A-Za-z0-9._-]", "_", key)


def write_programme_report(session: Session, programme: Programme, out_dir: Path | str,
                           settings: Settings | None = None, *, eligible: Sequence[Unit] | None = None,
                           digits: str = "thai", at: datetime | None = None) -> list[Path]:
    """Write ``programme-<key>.xlsx``, ``programme-<key>.docx`` and its chart ``programme-<key>.png`` to
    ``out_dir``; the paths, in that order."""
    apply_digits("", digits)  # rejects an unknown digit style before any work
    settings = settings or load_settings()
    out_dir = Path(out_dir)
    figures = programme_figures(session, programme, eligible, at=at)
    stem = _stem(programme.key)
    chart = coverage_chart_png(figures, out_dir / f"{stem}.png", settings, digits=digits)
    return [programme_report_xlsx(figures, out_dir / f"{stem}.xlsx", digits=digits),
            programme_report_docx(figures, out_dir / f"{stem}.docx", settings, chart=chart, digits=digits), chart]
