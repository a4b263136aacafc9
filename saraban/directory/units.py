"""The directory of units (ทำเนียบหน่วยงาน): every office of the chain with its level, parent, letter
code (รหัสหนังสือ, e.g. ``มท 0820.2``) and e-mail; finding a unit, the units above and below it, the tree.

Keys are the stable names of units everywhere (CLI, imports, selectors): ministries by their romanised
initials (``mt`` มหาดไทย, ``ts`` ทรัพยากรธรรมชาติและสิ่งแวดล้อม ... see data/central.csv), ``dla``, ``dla.env``,
``dla.env.2``, ``prov.<province code>``, ``amphoe.<district code>``, ``pao.<province code>``,
``muni.<district code>.<name>``, ``syn.<subdistrict code>``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from saraban.directory.levels import DirectoryError, level_order
from saraban.kernel.text_input import normalise_text
from saraban.records.models import Unit

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


def close_keys(text: str, keys: Iterable[str]) -> list[str]:
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
    close = close_keys(text, session.scalars(select(Unit.key)).all())
    if len(close) < 3 and text:
        named = session.scalars(select(Unit).where(or_(
            Unit.name.contains(text, autoescape=True),
            Unit.short_name.contains(text, autoescape=True))).order_by(Unit.key).limit(50)).all()
        named.sort(key=lambda u: (level_order(u.level), u.key))
        close += [u.key for u in named if u.key not in close]
    return close[:3]


def unknown_unit(session: Session, key: str) -> DirectoryError:
    close = _suggestions(session, key)
    thai_hint = f" (หรือหมายถึง {', '.join(close)}?)" if close else ""
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return DirectoryError(f"ไม่พบหน่วยงาน '{key}'{thai_hint} / unknown unit '{key}'{hint}")


def get_unit(session: Session, key: str) -> Unit:
    """The unit with this key; DirectoryError (with did-you-mean) when there is none."""
    unit = session.scalar(select(Unit).where(Unit.key == key.strip()))
    if unit is None:
        raise unknown_unit(session, key)
    return unit


class AmbiguousUnit(DirectoryError):
    """A name (or part of one) that fits several units; ``candidates`` holds them (the first few)."""

    def __init__(self, text: str, candidates: list[Unit], total: int) -> None:
        shown = "\n".join(f"  {u.key}\t{u.name}" for u in candidates)
        more = f"\n  … อีก {total - len(candidates)} หน่วย / {total - len(candidates)} more" \
            if total > len(candidates) else ""
        super().__init__(f"'{text}' ตรงกับ {total} หน่วยงาน: ระบุรหัสหรือชื่อให้ชัดกว่านี้ / '{text}' matches "
                         f"{total} units: give the key or more of the name\n{shown}{more}")
        self.candidates = candidates
        self.total = total


AMBIGUOUS_SHOWN = 12


def resolve_unit(session: Session, text: str) -> Unit:
    """The unit a clerk means by ``text``: its key; else its exact name, short name or sender name (in
    that order, each only when it names one unit); else the one unit whose name, short name or sender
    name contains ``text``. Several → :class:`AmbiguousUnit` listing them with their keys; none →
    DirectoryError with did-you-mean.

    ``จังหวัดกระบี่`` is prov.81's sender name (an exact match wins over the PAO whose name contains it);
    ``กระบี่`` alone fits four units and is refused with the four keys.
    """
    unit = session.scalar(select(Unit).where(Unit.key == text.strip()))
    if unit is not None:
        return unit
    name = " ".join(normalise_text(text).split())  # อําเภอ typed with ํ + า is อำเภอ
    if not name:
        raise DirectoryError("ไม่ได้ระบุหน่วยงาน / no unit given")
    for column in (Unit.name, Unit.short_name, Unit.sender_name):
        exact = session.scalars(select(Unit).where(column == name).limit(AMBIGUOUS_SHOWN + 1)).all()
        if len(exact) == 1:
            return exact[0]
        if exact:
            raise _ambiguous(session, name, column == name)
    part = or_(Unit.name.contains(name, autoescape=True), Unit.short_name.contains(name, autoescape=True),
               Unit.sender_name.contains(name, autoescape=True))
    found = session.scalars(select(Unit).where(part).limit(2)).all()
    if len(found) == 1:
        return found[0]
    if found:
        raise _ambiguous(session, name, part)
    raise unknown_unit(session, text)


def _ambiguous(session: Session, text: str, condition) -> AmbiguousUnit:
    total = session.scalar(select(func.count()).select_from(Unit).where(condition))
    units = list(session.scalars(select(Unit).where(condition).order_by(Unit.key).limit(1000)))
    units.sort(key=lambda u: (level_order(u.level), u.key))
    return AmbiguousUnit(text, units[:AMBIGUOUS_SHOWN], total)


find_unit = resolve_unit  # the older name


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


def subtree_sizes(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """For each of ``keys``: how many units are at or below it, at any depth (what carrying a letter down
    from it may take). A key not in the directory counts 1."""
    below: dict[int | None, list[int]] = {}
    by_key: dict[str, int] = {}
    for unit_id, parent_id, key in session.execute(select(Unit.id, Unit.parent_id, Unit.key)):
        below.setdefault(parent_id, []).append(unit_id)
        by_key[key] = unit_id
    sizes: dict[str, int] = {}
    for key in keys:
        count, todo = 0, [by_key[key]] if key in by_key else []
        while todo:
            count += 1
            todo += below.get(todo.pop(), [])
        sizes[key] = max(1, count)
    return sizes


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


def level_counts(session: Session) -> dict[str, int]:
    """How many units there are at each level."""
    rows = session.execute(select(Unit.level, func.count()).group_by(Unit.level)).all()
    return {level: count for level, count in sorted(rows, key=lambda r: level_order(r[0]))}


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
        top = resolve_unit(session, root)
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
        return sorted(us, key=lambda u: (level_order(u.level), u.key))

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
