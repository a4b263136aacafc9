"""The owner's dashboard of a programme (issue 11): the figures of its report (saraban.reports.programmes),
counted in the database, narrowed by province and level, with the lists a page shows 25 at a time.

- :func:`read_filter`: the ``province`` and ``level`` a person typed (code, Thai or English name; a level's
  key, Thai name or abbreviation such as ``อบต.``), or :class:`DashboardError` saying what is known;
- :func:`programme_dashboard`: the coverage (per province, the map; per level; totals), the provisional
  levels, the reminders by mail status, and one page each of the applications, the eligible units that have
  not applied (with their e-mail and phone) and the reminders (refused and failed e-mails first);
- :func:`dashboard_stamp`: a cheap version of what the dashboard shows, for a short cache in the face;
- :func:`owned_programmes`: the programmes a person may watch, with their counts.

Unfiltered, every figure here is that of the report's .xlsx: both come from ``coverage_cells`` and
``summarise``. The province table and the map follow the level filter only (every province stays on the
map, the chosen one marked); the level table, the totals and the lists follow both filters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from saraban.chain.follow import Page
from saraban.directory.levels import LEVEL_NAMES, LEVELS, DirectoryError, find_province, provinces, resolve_levels
from saraban.records.models import Application, Delivery, Letter, Programme, Reminder, Unit
from saraban.reports.programmes import (
    CONTACT_EMAIL,
    CONTACT_NAME,
    CONTACT_PHONE,
    NO_PROVINCE,
    Coverage,
    CoverageCell,
    ReminderFigure,
    contact_field,
    coverage_cells,
    province_column,
    provisional_order,
    summarise,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

PER_PAGE = 25
PROBLEM_MAIL = ("refused", "failed", "no-address")
MAX_TYPED = 100  # a province or level name is far shorter; longer text is not looked up


class DashboardError(ValueError):
    """A filter the dashboard does not know (Thai / English)."""


@dataclass(frozen=True)
class DashboardFilter:
    province: str | None = None  # a province code
    levels: tuple[str, ...] = ()  # empty: every level

    @property
    def active(self) -> bool:
        return bool(self.province or self.levels)

    def keeps(self, cell: CoverageCell, *, province: bool = True) -> bool:
        return ((not province or self.province is None or cell.province_code == self.province)
                and (not self.levels or cell.level in self.levels))


def read_filter(province: str | None, level: str | None) -> DashboardFilter:
    """The filter of the query's ``province`` and ``level`` (blank: all); DashboardError when unknown."""
    if len(province or "") > MAX_TYPED or len(level or "") > MAX_TYPED:
        raise DashboardError(f"ตัวกรองยาวเกินไป (ไม่เกิน {MAX_TYPED} ตัวอักษร) / a filter is too long (at most "
                             f"{MAX_TYPED} characters)")
    code = None
    if province and province.strip():
        try:
            code = find_province(province).code
        except DirectoryError as e:
            raise DashboardError(f"{e} — เลือกจังหวัดจากรายการ หรือพิมพ์ชื่อหรือรหัสจังหวัด เช่น กระบี่ หรือ 81 / "
                                 "choose a province by name or code, e.g. Krabi or 81") from None
    levels: tuple[str, ...] = ()
    if level and level.strip():
        try:
            levels = resolve_levels(level)
        except DirectoryError:
            known = ", ".join(f"{LEVEL_NAMES[lv]} ({lv})" for lv in LEVELS)
            raise DashboardError(f"ไม่รู้จักระดับหน่วยงาน '{level.strip()}' ใช้ได้: {known} / unknown level "
                                 f"'{level.strip()}'") from None
    return DashboardFilter(code, levels)


@dataclass(frozen=True)
class ApplicationRow:
    id: int
    unit_name: str
    level: str
    province_name: str
    submitted_at: datetime
    revision: int
    contact_name: str
    contact_email: str
    contact_phone: str
    provisional_level: str | None


@dataclass(frozen=True)
class WaitingUnit:
    """An eligible unit that has not applied, with the contact the directory has."""

    unit_id: int
    key: str
    name: str
    level: str
    province_name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Dashboard:
    map: Coverage  # per province, of the level filter (the province table and the map)
    coverage: Coverage  # of both filters (the level table and the totals)
    provisional_levels: dict[str, int]
    reminders_by_status: dict[str | None, int]
    reminders_by_kind: dict[str, int]
    applications: Page[ApplicationRow]
    waiting: Page[WaitingUnit]
    reminders: Page[ReminderFigure]
    tiles: list = field(default_factory=list)  # the map's provinces in Thai alphabetical order

    @property
    def reminders_total(self) -> int:
        return sum(self.reminders_by_status.values())

    @property
    def reminder_problems(self) -> int:
        return sum(v for k, v in self.reminders_by_status.items() if k in PROBLEM_MAIL)


def reminder_condition(programme: Programme):
    """The programme's reminders (saraban.reports.programmes.programme_reminders) as a condition in SQL:
    its deadline reminders and the receipt reminders of its invitation's deliveries."""
    own = Reminder.about == f"programme:{programme.id}"
    if programme.invitation_letter_id is None:
        return own
    deliveries = select(literal("delivery:", String) + cast(Delivery.id, String)).where(
        Delivery.letter_id == programme.invitation_letter_id)
    return or_(own, Reminder.about.in_(deliveries.scalar_subquery()))


def _level_rank():
    return case({lv: i for i, lv in enumerate(LEVELS)}, value=Unit.level, else_=len(LEVELS))


def _unit_filter(wanted: DashboardFilter) -> list:
    where = []
    if wanted.province:
        where.append(province_column() == wanted.province)
    if wanted.levels:
        where.append(Unit.level.in_(wanted.levels))
    return where


def _alphabetical(rows: Sequence) -> list:
    from pythainlp.util import collate

    by_name = {p.name: p for p in rows if p.code}
    return [by_name[name] for name in collate(list(by_name))]


def programme_dashboard(session: Session, programme: Programme, wanted: DashboardFilter = DashboardFilter(), *,
                        page: int = 1, waiting_page: int = 1, reminders_page: int = 1,
                        per_page: int = PER_PAGE) -> Dashboard:
    """What the dashboard shows of ``programme`` under ``wanted``: a few grouped queries and three pages."""
    from saraban.programmes.applications import eligible_condition

    cells = coverage_cells(session, programme)
    by_level = summarise([c for c in cells if wanted.keeps(c, province=False)])
    both = summarise([c for c in cells if wanted.keeps(c)]) if wanted.province else by_level
    names = {p.code: p.name for p in provinces()}
    where = _unit_filter(wanted)

    provisional = Counter(dict(session.execute(
        select(Application.provisional_level, func.count()).join(Unit, Unit.id == Application.unit_id)
        .where(Application.programme_id == programme.id, *where).group_by(Application.provisional_level)).all()))

    page, waiting_page, reminders_page = max(1, page), max(1, waiting_page), max(1, reminders_page)
    applications = session.execute(
        select(Application, Unit.name, Unit.level, province_column())
        .join(Unit, Unit.id == Application.unit_id).where(Application.programme_id == programme.id, *where)
        .order_by(func.coalesce(func.nullif(province_column(), ""), "99"), _level_rank(), Unit.name, Unit.id)
        .offset((page - 1) * per_page).limit(per_page)).all()
    application_rows = [ApplicationRow(
        id=a.id, unit_name=name, level=level, province_name=names.get(code or "", NO_PROVINCE),
        submitted_at=a.submitted_at, revision=a.revision, contact_name=contact_field(a.contact, CONTACT_NAME),
        contact_email=contact_field(a.contact, CONTACT_EMAIL), contact_phone=contact_field(a.contact, CONTACT_PHONE),
        provisional_level=a.provisional_level) for a, name, level, code in applications]

    applied = select(Application.id).where(Application.programme_id == programme.id,
                                           Application.unit_id == Unit.id).exists()
    waiting = session.execute(
        select(Unit.id, Unit.key, Unit.name, Unit.level, province_column(), Unit.email, Unit.phone)
        .where(eligible_condition(session, programme), ~applied, *where)
        .order_by(province_column(), _level_rank(), Unit.name, Unit.id)
        .offset((waiting_page - 1) * per_page).limit(per_page)).all()
    waiting_rows = [WaitingUnit(i, key, name, level, names.get(code or "", NO_PROVINCE), email or "", phone or "")
                    for i, key, name, level, code, email, phone in waiting]

    mine = [reminder_condition(programme)]
    if where:
        mine.append(Reminder.unit_id.in_(select(Unit.id).where(*where)))
    counts = session.execute(select(Reminder.kind, Reminder.mail_status, func.count()).where(*mine)
                             .group_by(Reminder.kind, Reminder.mail_status)).all()
    by_status: Counter = Counter()
    by_kind: Counter = Counter()
    for kind, status, n in counts:
        by_status[status] += n
        by_kind[kind] += n
    late, addressee = aliased(Unit), aliased(Unit)
    problem_first = case((Reminder.mail_status.in_(PROBLEM_MAIL), 0), else_=1)
    reminders = session.execute(
        select(Reminder, late.name, addressee.name, Letter.ref_text)
        .join(late, late.id == Reminder.unit_id).join(addressee, addressee.id == Reminder.addressee_id)
        .outerjoin(Letter, Letter.id == Reminder.letter_id).where(*mine)
        .order_by(problem_first, Reminder.created_at.desc(), Reminder.id.desc())
        .offset((reminders_page - 1) * per_page).limit(per_page)).all()
    reminder_rows = [ReminderFigure(r.id, r.unit_id, unit_name, addressee_name, r.kind, r.step, ref or "",
                                    r.mail_status, r.created_at, r.mailed_at)
                     for r, unit_name, addressee_name, ref in reminders]

    total_reminders = sum(by_status.values())
    return Dashboard(
        map=by_level, coverage=both, provisional_levels=provisional_order(programme, provisional),
        reminders_by_status=dict(sorted(by_status.items(), key=lambda kv: (kv[0] not in PROBLEM_MAIL, str(kv[0])))),
        reminders_by_kind=dict(by_kind),
        applications=Page(application_rows, both.applicants_total, page, per_page),
        waiting=Page(waiting_rows, both.eligible_total - both.eligible_applicants, waiting_page, per_page),
        reminders=Page(reminder_rows, total_reminders, reminders_page, per_page),
        tiles=_alphabetical(by_level.provinces))


def dashboard_stamp(session: Session, programme: Programme) -> tuple:
    """Changes whenever what the dashboard shows may have: an application of the programme made or updated, a
    reminder made, issued or mailed, a unit's contact changed (each records an event in the same transaction;
    the applications and reminders are counted too, for rows written without one). Index lookups only: the
    key under which a face may keep what the dashboard read."""
    from saraban.records.models import Event

    mine = Application.programme_id == programme.id
    return (programme.id, *session.execute(select(
        select(func.count()).select_from(Application).where(mine).scalar_subquery(),
        select(func.max(Application.id)).where(mine).scalar_subquery(),
        select(func.max(Reminder.id)).scalar_subquery(), select(func.max(Event.id)).scalar_subquery())).one())


@dataclass(frozen=True)
class ProgrammeLine:
    """A programme in the list of one's programmes, with its counts."""

    key: str
    name: str
    year: int
    opens_at: datetime
    closes_at: datetime
    eligible: int
    applicants: int
    provinces_covered: int
    province_count: int


def programme_lines(session: Session, programmes: Sequence[Programme]) -> list[ProgrammeLine]:
    lines = []
    for p in programmes:
        c = summarise(coverage_cells(session, p))
        lines.append(ProgrammeLine(p.key, p.name, p.year, p.opens_at, p.closes_at, c.eligible_total,
                                   c.applicants_total, c.provinces_covered, c.province_count))
    return lines


def owned_programmes(session: Session, unit_id: int, *, only: set[int] | None = None) -> list[Programme]:
    """The programmes the office ``unit_id`` owns (``only``: those ids among them), newest year first."""
    query = select(Programme).where(Programme.owner_unit_id == unit_id)
    if only is not None:
        query = query.where(Programme.id.in_(sorted(only)))
    return list(session.scalars(query.order_by(Programme.year.desc(), Programme.key)))

