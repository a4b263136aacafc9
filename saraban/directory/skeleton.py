"""The shipped directory: the national skeleton and the field examples' municipalities, loaded once.

- ``load_skeleton``: the ministries, the Department of Local Administration (``dla``) with its divisions
  and the environment agencies (data/central.csv); then, from geothai's official names and codes, one
  provincial local-administration office per province (``prov.81``, 76: Bangkok has none), one district
  office per amphoe (``amphoe.8101``, 878: Bangkok's 50 khet are left out) and each province's PAO
  (``pao.81``, 76).
- ``load_municipalities``: the real municipalities of the field examples (data/municipalities.csv).
- ``add_synthetic_local_layer``: one made-up local administration per subdistrict, for benchmarks.

Both loaders only *insert* units whose key is missing and never change a unit that is there, so edits
made with ``update_unit`` (``saraban directory set``) or ``import_units(update=True)`` survive reloading.
A letter code that is a best guess has ``letter_code_certain=False`` ("?" in the tree).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saraban.directory.levels import BANGKOK, DirectoryError, provinces
from saraban.kernel.clock import now
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Unit

DATA_DIR = Path(__file__).resolve().parent / "data"
CENTRAL_FILE = DATA_DIR / "central.csv"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities.csv"
# The provincial local-administration office's code after the province's letters (กบ ๐๐๒๓.๖, §1.4).
PROVINCE_OFFICE_CODE = "0023"
KNOWN_PROVINCE_OFFICE_CODES = {"81": "กบ 0023.6"}  # seen on a real letter: field-examples §1.4
PAO_CODE = "51001"  # a guess, marked uncertain
_LOCK_KEY = 0x5A7AB0D1  # PostgreSQL advisory lock taken while ensure_directory fills an empty directory


@cache
def _provincial_rows() -> tuple[dict[str, Any], ...]:
    import geothai

    from saraban.directory.imports import unit_row

    rows = []
    for p in provinces():
        if p.code == BANGKOK:  # no provincial office, no PAO; its 50 districts are khet, not amphoe
            continue
        office = f"prov.{p.code}"
        known = KNOWN_PROVINCE_OFFICE_CODES.get(p.code)
        rows.append(unit_row(office, f"สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด{p.name}", "province_office", "dla",
                         short_name=f"สถจ.{p.name}", sender_name=f"จังหวัด{p.name}",
                         letter_code=known or f"{p.abbr} {PROVINCE_OFFICE_CODE}",
                         letter_code_certain=known is not None,
                         province_code=p.code, area_code=p.code))
        rows.append(unit_row(f"pao.{p.code}", f"องค์การบริหารส่วนจังหวัด{p.name}", "pao", office,
                         short_name=f"อบจ.{p.name}", letter_code=f"{p.abbr} {PAO_CODE}",
                         province_code=p.code, area_code=p.code))
        for d in geothai.districts(p.code):
            rows.append(unit_row(f"amphoe.{d.code}", f"ที่ว่าการอำเภอ{d.name_th}", "district_office", office,
                             short_name=f"อ.{d.name_th}", sender_name=f"อำเภอ{d.name_th}",
                             letter_code=f"{p.abbr} {d.code}", province_code=p.code, area_code=d.code))
    return tuple(rows)


def _loaded(session: Session, source: str, added: int, actor: str, **data: Any) -> int:
    """A load that added units is one event (``directory.loaded``), not one per unit."""
    if added:
        record_event(session, "directory.loaded", actor=actor, at=now(),
                     data={"source": source, "added": added} | {k: v for k, v in data.items() if v})
    return added


def load_skeleton(session: Session, actor: str = "saraban") -> int:
    """Insert the built-in national skeleton (about 1,060 units); return how many were added.

    Idempotent: only missing keys are inserted and existing units are never changed, so a letter code or
    e-mail set by hand survives reloading (and a unit deleted by hand comes back)."""
    from saraban.directory.imports import insert_missing, read_checked  # pydantic: only when loading

    rows = [*read_checked(CENTRAL_FILE), *_provincial_rows()]
    return _loaded(session, "skeleton", len(insert_missing(session, rows)), actor)


def load_municipalities(session: Session, actor: str = "saraban") -> int:
    """Insert the shipped municipalities of the field examples that are missing (needs the skeleton)."""
    from saraban.directory.imports import insert_missing, read_checked

    return _loaded(session, "municipalities", len(insert_missing(session, read_checked(MUNICIPALITIES_FILE))), actor)


def add_synthetic_local_layer(session: Session, district: str | None = None, actor: str = "saraban") -> int:
    """Add one made-up local administration per subdistrict outside Bangkok (7,256), under its district
    office, for the national benchmark: key ``syn.<subdistrict code>``, name "อปท. (สมมติ) ตำบล<name>",
    level ``sao``, ``synthetic=True``. ``district`` (e.g. ``amphoe.8101``) limits it to one district (the
    demo). Needs the skeleton; idempotent; returns how many were added."""
    import geothai

    from saraban.directory.imports import insert_missing, unit_row

    if session.scalar(select(func.count()).select_from(Unit).where(Unit.level == "district_office")) == 0:
        raise DirectoryError("ยังไม่มีโครงสร้างหน่วยงาน ให้โหลดโครงสร้างก่อน / load the skeleton first "
                             "(saraban directory load-skeleton)")
    rows = [unit_row(f"syn.{s.code}", f"อปท. (สมมติ) ตำบล{s.name_th}", "sao", f"amphoe.{s.district_code}",
                 province_code=s.province_code, area_code=s.code, synthetic=True)
            for p in provinces() if p.code != BANGKOK
            for d in geothai.districts(p.code) for s in geothai.subdistricts(d.code)
            if district is None or f"amphoe.{d.code}" == district]
    return _loaded(session, "synthetic", len(insert_missing(session, rows)), actor, district=district)


def ensure_directory(db: Database) -> int:
    """Load the skeleton and the shipped municipalities when the directory is empty; return the number
    of units added (0 when there already were units)."""
    with db.transaction() as session:
        if db.dialect == "postgresql":  # two processes starting at once: the second waits, then finds units
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if session.scalar(select(Unit.id).limit(1)) is not None:
            return 0
        return load_skeleton(session) + load_municipalities(session)
