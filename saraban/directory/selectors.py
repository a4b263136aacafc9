"""Selectors name the recipients of a circular: unit keys and rules, separated by commas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saraban.directory.levels import DirectoryError, find_province, resolve_levels
from saraban.directory.units import children, descendants, resolve_unit
from saraban.records.models import Unit

_RULE_ALIASES = {"ทุกจังหวัด": "all:province_office", "ทุกอำเภอ": "all:district_office"}


def select_units(session: Session, selector: str) -> list[Unit]:
    """The units a selector names, sorted by key, each once.

    A selector is a comma-separated list of units (a key, or a name or a unique part of one: see
    :func:`resolve_unit`) and rules:

    - ``all:<level>``: every unit at a level (``all:province_office``; ``ทุกจังหวัด`` for short);
    - ``under:<unit>[:<level>]``: every unit below a unit, at any depth (at one level);
    - ``children:<unit>[:<level>]``: the units directly below a unit;
    - ``province:<code or name>[:<level>]``: the units of a province (``province:กระบี่:district_office``).

    A level may be given in English, by its Thai name (``ที่ว่าการอำเภอ``), abbreviation (``อบต.``), or as
    ``local`` / ``อปท.`` for all local administrations (``under:amphoe.8101:local``).
    """
    items = [item.strip() for item in selector.split(",") if item.strip()]
    if not items:
        raise DirectoryError("ไม่ได้ระบุผู้รับ / empty selector: give unit keys or rules such as all:province_office")
    found: dict[int, Unit] = {}
    for item in items:
        item = _RULE_ALIASES.get(item, item)
        units = _select_rule(session, item) if ":" in item else [resolve_unit(session, item)]
        found.update((u.id, u) for u in units)
    return sorted(found.values(), key=lambda u: u.key)


def _select_rule(session: Session, item: str) -> list[Unit]:
    rule, _, rest = item.partition(":")
    rule = rule.strip().lower()
    arg, _, level_text = rest.partition(":")
    levels = resolve_levels(level_text) if level_text.strip() else None
    if not arg.strip():
        raise DirectoryError(f"ตัวเลือกผู้รับไม่ครบ / '{item}': missing the argument after '{rule}:'")
    if rule == "all":
        if level_text:
            raise DirectoryError(f"'{item}': all รับระดับเดียว / all takes one level, e.g. all:province_office")
        query = select(Unit).where(Unit.level.in_(resolve_levels(arg)))
        return list(session.scalars(query.order_by(Unit.key)))
    if rule == "under":
        return descendants(session, resolve_unit(session, arg), levels)
    if rule == "children":
        return children(session, resolve_unit(session, arg), levels)
    if rule == "province":
        query = select(Unit).where(Unit.province_code == find_province(arg).code)
        if levels is not None:
            query = query.where(Unit.level.in_(levels))
        return list(session.scalars(query.order_by(Unit.key)))
    raise DirectoryError(f"ไม่รู้จักตัวเลือกผู้รับ '{item}' / unknown selector rule '{rule}' in '{item}'; expected "
                         "units or all:, under:, children:, province:")
