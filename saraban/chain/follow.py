"""Following a letter down the chain (ติดตาม), counted by the database: the follow pages read these.

A letter's *tree* is its deliveries plus, recursively, the deliveries of the letters that forwarded them
(``Delivery.forwarded_letter_id``): one recursive CTE (``WITH RECURSIVE``, SQLite and PostgreSQL alike)
walks it, and the counts are ``GROUP BY`` over it, so a page about the department's national circular
(~9,000 deliveries on three levels) reads a few dozen rows, never the tree. What a unit still owes is the
chain's rule (saraban.chain.expectations): not received (``owes_receipt``), or received and not carried on
although it is expected to forward (``expected_to_forward``, a correlated ``EXISTS`` asked only of the
units that received and did not forward). The counts agree with saraban.chain.status.letter_status (which
loads the tree for the reports): ``sent``, ``received``, ``forwarded`` and ``not_received`` are
:meth:`LetterStatus.by_level`'s sent, received, forwarded and missing; ``missing`` counts
:meth:`LetterStatus.missing` (what is still owed, receipt or forward).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import CTE, ColumnElement, Integer, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from saraban.chain.expectations import Owed, expected_to_forward, owes
from saraban.directory.levels import LEVEL_NAMES, LEVELS
from saraban.records.models import Delivery, Letter, Reminder, Unit

T = TypeVar("T")
PER_PAGE = 50


@dataclass(frozen=True)
class Counts:
    """How many units of (part of) a tree were sent the letter, received it, carried it on, have not
    received it, and still owe something (receipt or forward: the chain's rule)."""

    sent: int = 0
    received: int = 0
    forwarded: int = 0
    not_received: int = 0
    missing: int = 0

    @property
    def not_forwarded(self) -> int:
        """Received, expected to forward, not forwarded yet."""
        return self.missing - self.not_received

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))


@dataclass(frozen=True)
class LevelCounts:
    level: str
    counts: Counts

    @property
    def name(self) -> str:
        return LEVEL_NAMES.get(self.level, self.level)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a long list: its items, how many there are in all, which page (from 1)."""

    items: list[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class SentLetter:
    """A letter the office sent, with the counts of its whole tree."""

    letter_id: int
    ref: str
    letter_date: Any
    subject: str
    circular: bool
    counts: Counts


@dataclass(frozen=True)
class Recipient:
    """One delivery of the tree: the unit, what it did, and (``below``) the counts of the units its
    forwarding letter reached, recursively."""

    delivery_id: int
    letter_id: int  # the letter it was sent
    letter_ref: str
    unit_key: str
    unit_name: str
    level: str
    sent_at: datetime
    received_at: datetime | None
    receipt_year: int | None
    receipt_number: int | None
    forwarded_letter_id: int | None
    forwarded_ref: str | None
    expected_to_forward: bool
    below: Counts = field(default_factory=Counts)

    @property
    def owes(self) -> Owed | None:
        return owes(received=self.received_at is not None, forwarded=self.forwarded_letter_id is not None,
                    expected_to_forward=self.expected_to_forward)

    @property
    def state(self) -> str:
        if self.forwarded_letter_id:
            return "forwarded"
        return "received" if self.received_at else "sent"


@dataclass(frozen=True)
class MissingUnit:
    """A unit that still owes its part, with whom to call: its own contact and its parent office's."""

    delivery_id: int
    unit_key: str
    unit_name: str
    level: str
    owes: Owed
    depth: int
    letter_ref: str  # the letter it was sent
    sent_by: str  # that letter's sender
    sent_at: datetime
    phone: str | None
    email: str | None
    parent_name: str | None
    parent_phone: str | None
    parent_email: str | None
    reminded_at: datetime | None = None  # the latest receipt reminder (ทวงถาม) made about this delivery


# --------------------------------------------------------------------------------------------- the tree


def _seed(root: ColumnElement[Any]) -> Any:
    """The tree's first rows: deliveries (the caller adds which), each with ``root`` (the column it is
    grouped by later: its letter, or itself) and depth 1."""
    return select(Delivery.id.label("id"), Delivery.letter_id.label("letter_id"), Delivery.unit_id.label("unit_id"),
                  Delivery.received_at.label("received_at"),
                  Delivery.forwarded_letter_id.label("forwarded_letter_id"), literal(1, Integer).label("depth"),
                  root.label("root"))


def _tree(seed: Any) -> CTE:
    """The recursive CTE over ``seed`` (see :func:`_seed`) and every delivery below its rows: those of the
    letters that forwarded them, and so on down the chain."""
    start = seed.cte("tree", recursive=True)
    below = aliased(Delivery, name="below")
    # A forwarding letter is always newer than the one it carries on: the guard keeps the walk finite
    # whatever the rows say.
    return start.union_all(select(
        below.id, below.letter_id, below.unit_id, below.received_at, below.forwarded_letter_id,
        start.c.depth + 1, start.c.root,
    ).where(below.letter_id == start.c.forwarded_letter_id, below.letter_id > start.c.letter_id))


def _letter_tree(letter_id: int, root: ColumnElement[Any] = Delivery.letter_id) -> CTE:
    return _tree(_seed(root).where(Delivery.letter_id == letter_id))


def _owes_sql(tree: CTE) -> ColumnElement[bool]:
    """SQL: the tree row still owes (rule 3); the EXISTS of ``expected_to_forward`` is asked only of the
    rows that received and did not forward (CASE stops at the first branch that holds)."""
    return case((tree.c.received_at.is_(None), True),
                (tree.c.forwarded_letter_id.is_not(None), False),
                else_=expected_to_forward(Unit))


def _count_columns(tree: CTE) -> list[ColumnElement[Any]]:
    missing = case((tree.c.received_at.is_(None), 1), (tree.c.forwarded_letter_id.is_not(None), 0),
                   (expected_to_forward(Unit), 1), else_=0)
    return [func.count(), func.count(tree.c.received_at), func.count(tree.c.forwarded_letter_id),
            func.count() - func.count(tree.c.received_at), func.coalesce(func.sum(missing), 0)]


def counts_by(session: Session, tree: CTE, *keys: ColumnElement[Any]) -> dict[Any, Counts]:
    """The counts of ``tree`` grouped by ``keys`` (columns of the tree or of ``Unit``)."""
    rows = session.execute(select(*keys, *_count_columns(tree)).select_from(tree)
                           .join(Unit, Unit.id == tree.c.unit_id).group_by(*keys)).all()
    n = len(keys)
    return {(row[0] if n == 1 else tuple(row[:n])): Counts(*(int(x or 0) for x in row[n:])) for row in rows}


def _level_order(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


@dataclass(frozen=True)
class TreeSummary:
    """A letter's whole tree, counted: per level of the units (top down), and per recipient of the letter
    the counts of its branch below it (what its forwarding letter reached, recursively)."""

    levels: list[LevelCounts]
    below: dict[int, Counts]  # by the recipient's delivery id; one that forwarded nothing is absent

    @property
    def total(self) -> Counts:
        out = Counts()
        for level in self.levels:
            out += level.counts
        return out


def tree_summary(session: Session, letter_id: int) -> TreeSummary:
    """One statement over the letter's tree, grouped by branch, depth and level: a few hundred rows for a
    national circular, whatever the number of deliveries."""
    tree = _letter_tree(letter_id, root=Delivery.id)
    by_level: dict[str, Counts] = {}
    below: dict[int, Counts] = {}
    for (branch, depth, level), counts in counts_by(session, tree, tree.c.root, tree.c.depth, Unit.level).items():
        by_level[level] = by_level.get(level, Counts()) + counts
        if depth > 1:
            below[branch] = below.get(branch, Counts()) + counts
    return TreeSummary([LevelCounts(level, by_level[level]) for level in sorted(by_level, key=_level_order)], below)


def level_counts(session: Session, letter_id: int) -> list[LevelCounts]:
    """Per level of the units (top down), the counts of the letter's whole tree."""
    return tree_summary(session, letter_id).levels


def sent_letters(session: Session, office_id: int, page: int = 1, per_page: int = PER_PAGE) -> Page[SentLetter]:
    """The letters the office sent, newest first, one page, each with the counts of its whole tree (one
    statement over the trees of the page's letters)."""
    page = max(1, page)
    mine = Letter.unit_id == office_id
    count = session.scalar(select(func.count()).select_from(Letter).where(mine)) or 0
    letters = session.execute(select(Letter.id, Letter.ref_text, Letter.letter_date, Letter.subject, Letter.circular)
                              .where(mine).order_by(Letter.created_at.desc(), Letter.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).all()
    counts: dict[Any, Counts] = {}
    if letters:
        tree = _tree(_seed(Delivery.letter_id).where(Delivery.letter_id.in_([x.id for x in letters])))
        counts = counts_by(session, tree, tree.c.root)
    return Page([SentLetter(x.id, x.ref_text, x.letter_date, x.subject, x.circular, counts.get(x.id, Counts()))
                 for x in letters], count, page, per_page)


# ------------------------------------------------------------------------------------- units of the tree

_SENT = aliased(Letter, name="sent")
_ONWARD = aliased(Letter, name="onward")


def _recipient_query(delivery_filter: ColumnElement[bool]) -> Any:
    return (select(Delivery, Unit.key, Unit.name, Unit.level, expected_to_forward(Unit), _SENT.ref_text,
                   _ONWARD.ref_text)
            .join(Unit, Unit.id == Delivery.unit_id).join(_SENT, _SENT.id == Delivery.letter_id)
            .outerjoin(_ONWARD, _ONWARD.id == Delivery.forwarded_letter_id).where(delivery_filter))


def _recipient(row: Any, below: Counts | None = None) -> Recipient:
    d, key, name, level, forwards, sent_ref, onward_ref = row
    return Recipient(d.id, d.letter_id, sent_ref, key, name, level, d.sent_at, d.received_at, d.receipt_year,
                     d.receipt_number, d.forwarded_letter_id, onward_ref, bool(forwards), below or Counts())


def recipients(session: Session, letter_id: int, page: int = 1, per_page: int = PER_PAGE,
               summary: TreeSummary | None = None) -> Page[Recipient]:
    """The letter's own recipients (by unit key), one page, each with the counts of its branch below it
    (from ``summary``; counted when not given)."""
    page = max(1, page)
    summary = summary or tree_summary(session, letter_id)
    count = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.letter_id == letter_id)) or 0
    rows = session.execute(_recipient_query(Delivery.letter_id == letter_id).order_by(Unit.key)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return Page([_recipient(row, summary.below.get(row[0].id)) for row in rows], count, page, per_page)


def find_in_tree(session: Session, letter_id: int, unit_key: str) -> Recipient | None:
    """The unit's delivery in the letter's tree (the highest, should the letter reach it twice); ``None``
    when the tree does not reach it. Walks *up* from the unit's deliveries of letters no older than this
    one (a forwarding letter is always newer than what it carries on) to see which reach the letter: a
    handful of rows, where walking down would read the whole tree."""
    start = (select(Delivery.id.label("start"), Delivery.id.label("id"), Delivery.letter_id.label("letter_id"),
                    literal(0, Integer).label("steps"))
             .join(Unit, Unit.id == Delivery.unit_id).where(Unit.key == unit_key, Delivery.letter_id >= letter_id)
             .cte("up", recursive=True))
    carried, above = aliased(Letter, name="carried"), aliased(Delivery, name="above")
    up = start.union_all(
        select(start.c.start, above.id, above.letter_id, start.c.steps + 1).select_from(start)
        .join(carried, carried.id == start.c.letter_id).join(above, above.id == carried.forwards_delivery_id)
        .where(start.c.letter_id != letter_id, above.letter_id >= letter_id, above.letter_id < start.c.letter_id))
    found = session.execute(select(up.c.start).where(up.c.letter_id == letter_id)
                            .order_by(up.c.steps, up.c.start).limit(1)).scalar()
    if found is None:
        return None
    return _recipient(session.execute(_recipient_query(Delivery.id == found)).one())


def path_to(session: Session, node: Recipient, root_letter_id: int) -> list[Recipient]:
    """The deliveries from the root letter's recipient down to ``node`` (without it): who carried the letter
    to it, top down; one query per level."""
    path: list[Recipient] = []
    letter_id = node.letter_id
    while letter_id != root_letter_id:
        above = session.scalar(select(Letter.forwards_delivery_id).where(Letter.id == letter_id))
        if above is None:
            break
        row = session.execute(_recipient_query(Delivery.id == above)).one()
        path.append(_recipient(row))
        letter_id = row[0].letter_id
    return path[::-1]


def missing_units(session: Session, letter_id: int, page: int = 1, per_page: int = PER_PAGE, *,
                  total: int | None = None) -> Page[MissingUnit]:
    """The units of the letter's tree that still owe their part (rule 3), top level first then by key, one
    page, with their contact, their parent office's, and the latest reminder made about them. ``total``:
    how many there are (``TreeSummary.total.missing``), counted when not given."""
    page = max(1, page)
    tree = _letter_tree(letter_id)
    owing = _owes_sql(tree)
    if total is None:
        total = session.scalar(select(func.count()).select_from(tree).join(Unit, Unit.id == tree.c.unit_id)
                               .where(owing)) or 0
    # The page's deliveries first (the tree, the rule and the order), then their details: the joins for
    # 50 rows, not for every unit that owes.
    page_rows = (select(tree.c.id, tree.c.depth, Unit.key).select_from(tree).join(Unit, Unit.id == tree.c.unit_id)
                 .where(owing).order_by(tree.c.depth, Unit.key, tree.c.id)
                 .offset((page - 1) * per_page).limit(per_page).subquery("page_rows"))
    parent = aliased(Unit, name="parent")
    sender = aliased(Unit, name="sender_unit")
    rows = session.execute(
        select(Delivery.id, page_rows.c.depth, Delivery.received_at, Unit.key, Unit.name, Unit.level, Unit.phone,
               Unit.email, parent.name, parent.phone, parent.email, _SENT.ref_text, sender.name, sender.sender_name,
               Delivery.sent_at)
        .select_from(page_rows).join(Delivery, Delivery.id == page_rows.c.id).join(Unit, Unit.id == Delivery.unit_id)
        .join(_SENT, _SENT.id == Delivery.letter_id).join(sender, sender.id == _SENT.unit_id)
        .outerjoin(parent, parent.id == Unit.parent_id)
        .order_by(page_rows.c.depth, page_rows.c.key, page_rows.c.id)).all()
    reminded = _reminded(session, [r[0] for r in rows])
    return Page([MissingUnit(r[0], r[3], r[4], r[5], "receipt" if r[2] is None else "forward", r[1], r[11],
                             r[13] or r[12], r[14], r[6], r[7], r[8], r[9], r[10], reminded.get(r[0]))
                 for r in rows], total, page, per_page)


def _reminded(session: Session, delivery_ids: Sequence[int]) -> dict[int, datetime]:
    """The latest receipt reminder made about each of these deliveries (saraban.programmes.reminders)."""
    if not delivery_ids:
        return {}
    about = {f"delivery:{i}": i for i in delivery_ids}
    rows = session.execute(select(Reminder.about, func.max(Reminder.created_at)).where(
        Reminder.kind == "receipt", Reminder.about.in_(list(about))).group_by(Reminder.about)).all()
    return {about[a]: at for a, at in rows}


def owing_receipt(session: Session, letter_id: int) -> int:
    """How many of the letter's own recipients have not received it (whom ทวงถาม reminds)."""
    return session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.letter_id == letter_id, Delivery.received_at.is_(None))) or 0


def as_counts(by_level: dict[str, dict[str, int]], missing_levels: Sequence[str]) -> dict[str, Counts]:
    """saraban.chain.status's per-level counts (``by_level()``, and the levels of ``missing()``) as
    :class:`Counts`: what the two must agree on."""
    return {level: Counts(c.get("sent", 0), c.get("received", 0), c.get("forwarded", 0), c.get("missing", 0),
                          sum(1 for m in missing_levels if m == level)) for level, c in by_level.items()}


__all__ = ["PER_PAGE", "Counts", "LevelCounts", "MissingUnit", "Page", "Recipient", "SentLetter", "TreeSummary",
           "as_counts", "counts_by", "find_in_tree", "level_counts", "missing_units", "owing_receipt", "path_to",
           "recipients", "sent_letters", "tree_summary"]
