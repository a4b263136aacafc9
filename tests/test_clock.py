"""One clock: Thai time whatever the server's time zone (issue 8).

The default clock is read at 17:30 UTC on 31 December 2026, which is 00:30 on 1 January 2027 (B.E. 2570)
in Bangkok, on a server in UTC and on one in Asia/Bangkok: both must record and show the same.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from saraban.chain.circulars import issue_circular, make_files, receive, receive_incoming
from saraban.chain.status import LetterStatus, Node, as_dict, as_text, letter_status
from saraban.directory.units import get_unit
from saraban.kernel import clock
from saraban.kernel.clock import BANGKOK
from saraban.letters.paper.stamps import stamp_lines
from saraban.notify.mail import OutgoingMail, build_message
from saraban.records.db import MIGRATIONS, Database, make_engine
from saraban.records.models import Delivery, Event
from saraban.records.registers import entries
from saraban.reports.registers import register_rows
from saraban.reports.status import status_report
from tests.dbs import (  # noqa: F401  (the db and settings fixtures)
    KINDS,
    circular_spec,
    database_param,
    database_url,
    directory_db,
    empty_postgres,
    fresh_database,
    own_output_settings,
)
from tests.stored import local

ZONES = ("UTC", "Asia/Bangkok")
INSTANT = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)
THAI_INSTANT = datetime(2027, 1, 1, 0, 30, tzinfo=BANGKOK)
STAMP_DATE, STAMP_TIME = "วันที่ ๑ ม.ค. ๒๕๗๐", "เวลา ๐๐.๓๐ น."
MOMENT = "๑ ม.ค. ๒๕๗๐ ๐๐.๓๐ น."


@pytest.fixture(params=ZONES)
def server_zone(request):
    """The process runs in ``TZ`` = the param (as a container in UTC would), restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.localtime().tm_gmtoff == (0 if request.param == "UTC" else 7 * 3600)
    yield request.param
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def fixed_clock(monkeypatch, server_zone):
    """The system clock reads 17:30 UTC on 31 December 2026 (00:30 on 1 January 2027 in Bangkok)."""
    monkeypatch.setattr(clock, "utc_now", lambda: INSTANT)
    return server_zone


def test_now_is_thai_time_whatever_the_servers_zone(fixed_clock):
    now = clock.now()
    assert now == THAI_INSTANT and now.utcoffset() == timedelta(hours=7) and now.tzinfo is BANGKOK
    assert now.isoformat() == "2027-01-01T00:30:00+07:00"
    assert clock.today() == date(2027, 1, 1)
    assert clock.at_or_now(None) == THAI_INSTANT
    assert clock.at_or_now(INSTANT).isoformat() == "2027-01-01T00:30:00+07:00"
    assert (clock.time_text(INSTANT), clock.moment_text(INSTANT), clock.iso(INSTANT)) == (
        "๐๐.๓๐ น.", MOMENT, "2027-01-01T00:30:00+07:00")
    assert clock.date_text(INSTANT, "arabic", abbreviated=False) == "1 มกราคม 2570"


def test_an_e_mail_is_dated_by_the_same_clock(fixed_clock):
    message = build_message(OutgoingMail(to=["a@example.org"], subject="s", body="b"), "saraban@example.org")
    assert message["Date"] == "Fri, 01 Jan 2027 00:30:00 +0700"


def test_a_naive_time_is_thai_wall_clock_time(server_zone):
    naive = datetime(2027, 1, 1, 0, 30)  # noqa: DTZ001  (what a clerk types: taken as Thai time)
    assert clock.as_thai(naive) == THAI_INSTANT == clock.as_thai(INSTANT)
    assert clock.moment_text(naive) == MOMENT


def test_a_receipt_at_half_past_midnight_on_new_years_day(db, settings, fixed_clock):
    """Issued at 00:30 Bangkok time on 1 January 2570 (17:30 UTC the day before) and received at once:
    number 1 of the 2570 receive register, stamped 1 January 00.30, shown so in the status, register
    and report; the same on a server in UTC as in Bangkok."""
    issued = issue_circular(db, settings, circular_spec(date="2026-12-31"), sender_key="dla.env.2",
                            to="prov.81")
    make_files(db, settings, [issued.letter_id], pdf=True)
    r = receive(db, settings, issued.letter_id, "prov.81")
    assert (r.year, r.number, r.new) == (2570, 1, True)
    assert r.received_at == THAI_INSTANT and r.received_at.isoformat() == "2027-01-01T00:30:00+07:00"

    with db.transaction() as s:
        unit = get_unit(s, "prov.81")
        (line,) = entries(s, unit.id, 2570, "receive")
        assert entries(s, unit.id, 2569, "receive") == []
        delivery = s.scalar(select(Delivery).where(Delivery.letter_id == issued.letter_id))
        event = s.scalar(select(Event).where(Event.kind == "delivery.received"))
        stored = [line.entered_at, delivery.sent_at, delivery.received_at, event.at]
        assert all(t == THAI_INSTANT and t.tzinfo is BANGKOK for t in stored), stored
        assert (delivery.receipt_year, delivery.receipt_number) == (2570, 1)
        (row,) = register_rows(s, unit.id, 2570, "receive")
        assert row.number == "๑" and row.received == MOMENT and row.note == ""

    assert stamp_lines(unit.name, r.number, r.received_at)[1:] == ["เลขรับ ๑", STAMP_DATE, STAMP_TIME]
    stamped = subprocess.run(["pdftotext", str(local(settings, r.stamped_pdf_key)), "-"], capture_output=True,
                             text=True, check=True).stdout
    lines = [x.strip() for x in stamped.splitlines() if x.strip()]
    assert "เลขรับ ๑" in lines and STAMP_DATE in lines and STAMP_TIME in lines

    status = letter_status(db, issued.letter_id)
    assert f"- {unit.name} [prov.81] ลงรับแล้ว เลขรับ ๑/๒๕๗๐ {MOMENT}" in as_text(status)
    (node,) = as_dict(status)["recipients"]
    assert node["received_at"] == node["sent_at"] == "2027-01-01T00:30:00+07:00"
    report = status_report(status)  # as of now: the header and the rows agree
    assert report.title_lines[-1] == f"ข้อมูล ณ วันที่ {MOMENT}"
    assert report.units[0].received_at == MOMENT

    # A letter from outside, received the same minute: the next number of the same register.
    incoming = receive_incoming(db, "prov.81", ref="ทลส.001/2569", letter_date=date(2026, 12, 30),
                                sender="โครงการ", subject="ทดสอบ")
    assert (incoming.year, incoming.number, incoming.received_at) == (2570, 2, THAI_INSTANT)


def test_status_text_shows_be_dates_and_thai_time(server_zone):
    sent = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # 17.00 in Bangkok
    node = Node("prov.81", "สำนักงานจังหวัดกระบี่", "province_office", "มท 0820.2/ว 1", sent, INSTANT, "2570/1",
                None, None)
    status = LetterStatus(1, "มท 0820.2/ว 1", "กรม", "เรื่อง", [node])
    assert f"เลขรับ ๑/๒๕๗๐ {MOMENT}" in as_text(status)
    assert "2026-12-31" not in as_text(status) and "17:30" not in as_text(status)
    data = as_dict(status)["recipients"][0]
    assert (data["sent_at"], data["received_at"]) == ("2026-12-31T17:00:00+07:00", "2027-01-01T00:30:00+07:00")


# ------------------------------------------------------------------------------------- the columns


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_times_are_stored_aware_and_read_back_in_thai_time(kind, tmp_path, server_zone):
    db = fresh_database(kind, tmp_path)
    try:
        naive = datetime(2027, 1, 1, 0, 30)  # noqa: DTZ001  (a naive time is taken as Thai wall-clock time)
        with db.transaction() as s:
            s.add_all([Event(at=INSTANT, actor="t", kind="utc"), Event(at=naive, actor="t", kind="naive"),
                       Event(at=THAI_INSTANT + timedelta(hours=1), actor="t", kind="later")])
        with db.transaction() as s:
            events = {e.kind: e.at for e in s.scalars(select(Event))}
            assert events["utc"] == events["naive"] == THAI_INSTANT
            assert all(at.tzinfo is BANGKOK for at in events.values())
            # Comparisons in SQL take the instant, whatever zone the bound value is in.
            found = s.scalars(select(Event.kind).where(Event.at < datetime(2026, 12, 31, 18, 0, tzinfo=UTC))
                              .order_by(Event.kind)).all()
            assert found == ["naive", "utc"]
            if kind == "sqlite":  # Thai wall-clock text, as saraban always kept it
                raw = s.execute(text("SELECT at FROM events WHERE kind = 'utc'")).scalar_one()
                assert raw.startswith("2027-01-01 00:30:00")
            else:
                column = s.execute(text("SELECT data_type FROM information_schema.columns "
                                        "WHERE table_name = 'events' AND column_name = 'at'")).scalar_one()
                assert column == "timestamp with time zone"
                utc = s.execute(text("SELECT at AT TIME ZONE 'UTC' FROM events WHERE kind = 'utc'")).scalar_one()
                assert utc == datetime(2026, 12, 31, 17, 30)  # noqa: DTZ001  (PostgreSQL's naive UTC)
    finally:
        db.engine.dispose()


def _alembic(engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


@pytest.mark.parametrize("kind", [database_param(k) for k in KINDS])
def test_migration_0003_reads_the_old_naive_times_as_bangkok_time(kind, tmp_path, server_zone):
    url = database_url(kind, tmp_path)
    if kind == "postgresql":
        empty_postgres(url)
    engine = make_engine(url)
    try:
        _alembic(engine, command.upgrade, "0002")
        with engine.begin() as c:  # what saraban wrote before: Bangkok wall-clock time, no zone
            c.execute(text("INSERT INTO events (at, actor, kind) VALUES ('2027-01-01 00:30:00', 'old', 'old')"))
        _alembic(engine, command.upgrade, "head")
        with Database(engine).transaction() as s:
            assert s.scalar(select(Event.at).where(Event.kind == "old")) == THAI_INSTANT
            if kind == "postgresql":
                types = s.execute(text(
                    "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND (column_name = 'at' OR column_name LIKE '%\\_at')")).scalars().all()
                assert types == ["timestamp with time zone"]
        _alembic(engine, command.downgrade, "0002")
        with engine.begin() as c:
            back = c.execute(text("SELECT at FROM events WHERE kind = 'old'")).scalar_one()
        assert str(back).startswith("2027-01-01 00:30:00")
    finally:
        engine.dispose()
