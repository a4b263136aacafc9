"""The cascade flow under Prefect: down the chain, dying halfway and run again, waiting for receipts."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from saraban.chain.circulars import receive
from saraban.directory.skeleton import ensure_directory
from saraban.kernel.settings import load_settings
from saraban.records.models import Delivery, Letter, RegisterEntry, Unit
from tests.conftest import EXAMPLES
from tests.dbs import KINDS, database_param, database_url, fresh_database

pytestmark = pytest.mark.prefect
SPEC = str(EXAMPLES / "03-department-circular.yaml")


@pytest.fixture(params=[database_param(k) for k in KINDS])
def db(request, tmp_path, monkeypatch, prefect_server):
    """A fresh database that the flow's tasks find through the environment, as in production."""
    database = fresh_database(request.param, tmp_path)
    ensure_directory(database)
    monkeypatch.setenv("SARABAN_DATABASE_URL", database_url(request.param, tmp_path))
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    yield database
    database.engine.dispose()


def run(**kwargs):
    from saraban.kernel.clock import today
    from workflows.cascade import cascade_flow

    # Dated the day it is numbered: a letter dated far from that day needs a reason (saraban.chain.numbering).
    return cascade_flow(SPEC, "dla.env.2", "all:province_office", dated=today(), return_state=True,
                        **kwargs)


def assert_no_duplicates(db) -> None:
    """Every register gapless from 1, every unit forwards a letter at most once."""
    with db.transaction() as s:
        lines = s.execute(select(RegisterEntry.unit_id, RegisterEntry.year, RegisterEntry.series,
                                 RegisterEntry.number)).all()
        series = Counter((u, y, x) for u, y, x, _ in lines)
        for (u, y, x), n in series.items():
            numbers = sorted(num for uu, yy, xx, num in lines if (uu, yy, xx) == (u, y, x))
            assert numbers == list(range(1, n + 1)), (u, y, x, numbers)
        per_unit = Counter(s.scalars(select(Letter.unit_id)))
        assert max(per_unit.values()) == 1
        forwarded = s.scalars(select(Delivery.forwarded_letter_id).where(
            Delivery.forwarded_letter_id.is_not(None))).all()
        assert len(forwarded) == len(set(forwarded)) == len(per_unit) - 1


def test_cascade_down_two_provinces(db):
    state = run(branches=["prov.70", "prov.81"])
    assert state.is_completed(), state.message
    with db.transaction() as s:
        letters = s.scalar(select(func.count()).select_from(Letter))
        deliveries = s.scalar(select(func.count()).select_from(Delivery))
        unreceived = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.received_at.is_(None)))
    # the department's circular, Ratchaburi's and Krabi's, Ban Pong district's
    assert letters == 4
    assert deliveries == 76 + (10 + 1 + 1) + (8 + 1 + 1) + 2
    assert unreceived == 0
    assert_no_duplicates(db)


def test_a_flow_that_dies_halfway_is_run_again_without_duplicates(db, monkeypatch):
    import workflows.cascade as cascade

    real = cascade.carry_down

    def dies_at_krabi(db_, settings, letter_id, unit_key, **kwargs):
        if unit_key == "prov.81":
            raise RuntimeError("the server went down")
        return real(db_, settings, letter_id, unit_key, **kwargs)

    monkeypatch.setattr(cascade, "carry_down", dies_at_krabi)
    failed = run(branches=["prov.70", "prov.81"])
    assert failed.is_failed()
    with db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(Letter))
    assert before == 3  # the department's, Ratchaburi's, Ban Pong's; Krabi never forwarded
    monkeypatch.setattr(cascade, "carry_down", real)
    again = run(branches=["prov.70", "prov.81"])
    assert again.is_completed()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 4
        assert s.scalar(select(func.count()).select_from(Delivery)) == 76 + 12 + 10 + 2
    assert_no_duplicates(db)


def test_waiting_for_receipts_goes_only_as_far_as_clerks_have_received(db):
    assert run(branches=["prov.70"], wait_for_receipts=True).is_completed()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 1
        first = s.scalar(select(Letter.id))
    receive(db, load_settings(), first, "prov.70")
    assert run(branches=["prov.70"], wait_for_receipts=True).is_completed()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 2
        ratchaburi = s.scalar(select(Letter).join(Unit, Unit.id == Letter.unit_id).where(Unit.key == "prov.70"))
        received = s.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.letter_id == ratchaburi.id, Delivery.received_at.is_not(None)))
    assert received == 0  # nobody below has received yet, so nothing went further
    assert_no_duplicates(db)


def test_the_flow_refuses_a_new_database_over_issued_letters(db, tmp_path, monkeypatch):
    """Run once, then give the flow a brand-new database with the same output folder: the flow run fails
    at its first task with the data folder's message, and the new database numbers nothing."""
    assert run(branches=[]).is_completed()
    kind = "sqlite" if db.dialect == "sqlite" else "postgresql"
    place = tmp_path / "second" if kind == "sqlite" else tmp_path  # PostgreSQL: the same database, emptied
    fresh = fresh_database(kind, place)
    ensure_directory(fresh)
    monkeypatch.setenv("SARABAN_DATABASE_URL", database_url(kind, place))
    state = run(branches=[])
    assert state.is_failed()
    assert "this database is new or missing" in str(state.message) + repr(state.result(raise_on_failure=False))
    with fresh.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 0
    fresh.engine.dispose()
