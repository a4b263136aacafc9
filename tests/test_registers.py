"""Registers on SQLite and PostgreSQL: gapless numbers per unit, series and B.E. year (also under
concurrent writers in several OS processes), cancellation, and the printed register (.xlsx, .docx, CLI).

PostgreSQL cases need ``SARABAN_TEST_POSTGRES_URL`` (``export SARABAN_TEST_POSTGRES_URL=$(sh
scripts/test-postgres.sh)``); without it they are skipped.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import typer
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Cm
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from saraban.faces.cli.registers import app as register_app
from saraban.kernel.clock import BANGKOK
from saraban.records.models import Event, RegisterCounter, RegisterEntry
from saraban.records.registers import EntryText, RegisterError, add_entries, cancel_entry, entries, take_numbers
from saraban.reports.registers import (
    RegisterRow,
    export_docx,
    export_register,
    export_xlsx,
    headers,
    register_rows,
)
from tests.dbs import KINDS, add_unit, database_param, fresh_database, register_worker
from tests.sheets import shown, shown_rows

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2024, 3, 26, 10, 30, tzinfo=BANGKOK)  # B.E. 2567
HOSTILE = "ขอเชิญประชุม <b>ด่วน</b> & {{ x }} {% if y %}ก{% endif %} R&D <![CDATA[x]]>"
UNIT_NAME = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"


@pytest.fixture(params=[database_param(kind) for kind in KINDS])
def db(request, tmp_path: Path):
    database = fresh_database(request.param, tmp_path)
    yield database
    database.engine.dispose()


@pytest.fixture
def units(db) -> tuple[int, int]:
    return (add_unit(db, "lao.krabi", UNIT_NAME, level="provincial_office"),
            add_unit(db, "amphoe.8101", "ที่ทำการปกครองอำเภอเมืองกระบี่", level="district_office"))


def letter(subject: str = "ทดสอบ", **kw) -> EntryText:
    fields = {"ref_text": "มท 0820.2/ว 1144", "letter_date": date(2024, 3, 25),
              "from_text": "กรมส่งเสริมการปกครองท้องถิ่น", "to_text": "ผู้ว่าราชการจังหวัดกระบี่"} | kw
    return EntryText(subject=subject, **fields)


def write(db, unit_id: int, series: str, count: int = 1, *, at: datetime = AT) -> list[int]:
    """``count`` entries in one transaction; their numbers."""
    with db.transaction() as s:
        rows = add_entries(s, unit_id, series, [letter(f"{series} {i}") for i in range(count)], at=at)
        return [r.number for r in rows]


def numbers(db, unit_id: int, year: int, series: str) -> list[int]:
    with db.transaction() as s:
        return [e.number for e in entries(s, unit_id, year, series)]


# --- numbering ----------------------------------------------------------------------------------------


def test_numbers_are_consecutive_per_unit_series_and_year(db, units):
    a, b = units
    assert write(db, a, "receive", 3) == [1, 2, 3]
    assert write(db, a, "receive") == [4]
    assert write(db, a, "receive") == [5]
    assert write(db, b, "receive", 2) == [1, 2]
    assert write(db, a, "receive") == [6]
    assert numbers(db, a, 2567, "receive") == [1, 2, 3, 4, 5, 6]
    assert numbers(db, b, 2567, "receive") == [1, 2]
    with db.transaction() as s:
        assert s.get(RegisterCounter, (a, 2567, "receive")).last_number == 6
        assert list(take_numbers(s, a, 2567, "receive", 3)) == [7, 8, 9]
        assert [e.subject for e in entries(s, a, 2567, "receive")][:4] == [
            "receive 0", "receive 1", "receive 2", "receive 0"]


def test_each_series_has_its_own_numbers_from_one(db, units):
    a, _ = units
    assert write(db, a, "send", 2) == [1, 2]
    assert write(db, a, "circular") == [1]
    assert write(db, a, "receive", 3) == [1, 2, 3]
    assert write(db, a, "circular") == [2]
    assert write(db, a, "send") == [3]
    assert numbers(db, a, 2567, "send") == [1, 2, 3]
    assert numbers(db, a, 2567, "circular") == [1, 2]
    assert numbers(db, a, 2567, "receive") == [1, 2, 3]


def test_numbers_restart_on_1_january(db, units):
    a, _ = units
    assert write(db, a, "send", 2, at=datetime(2024, 6, 1, 9, 0, tzinfo=BANGKOK)) == [1, 2]
    assert write(db, a, "send", at=datetime(2024, 12, 31, 23, 59, tzinfo=BANGKOK)) == [3]
    assert write(db, a, "send", at=datetime(2025, 1, 1, 0, 0, tzinfo=BANGKOK)) == [1]
    assert write(db, a, "send", at=datetime(2025, 1, 2, 8, 0, tzinfo=BANGKOK)) == [2]
    assert numbers(db, a, 2567, "send") == [1, 2, 3]
    assert numbers(db, a, 2568, "send") == [1, 2]
    with db.transaction() as s:
        (late,) = add_entries(s, a, "send", [letter()], at=datetime(2025, 1, 3, tzinfo=BANGKOK), year=2567)  # as given
        assert (late.year, late.number) == (2567, 4)
        years = {e.number: e.year for e in entries(s, a, 2568, "send")}
    assert years == {1: 2568, 2: 2568}


def test_a_failed_transaction_leaves_no_gap(db, units):
    a, _ = units
    # The very first number of a series: the counter row itself is rolled back.
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert [r.number for r in add_entries(s, a, "send", [letter(), letter()], at=AT)] == [1, 2]
        raise RuntimeError("the letter could not be rendered")
    assert write(db, a, "send") == [1]
    # Later in the series.
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert [r.number for r in add_entries(s, a, "send", [letter()], at=AT)] == [2]
        raise RuntimeError("boom")
    # The database refuses a line (จาก is required): the number taken for it goes back too.
    with pytest.raises(IntegrityError), db.transaction() as s:
        add_entries(s, a, "send", [letter(), letter(from_text=None)], at=AT)
    assert write(db, a, "send", 2) == [2, 3]
    assert numbers(db, a, 2567, "send") == [1, 2, 3]
    with db.transaction() as s:
        assert s.get(RegisterCounter, (a, 2567, "send")).last_number == 3


def test_take_numbers_refuses_bad_arguments(db, units):
    a, _ = units
    with db.transaction() as s:
        with pytest.raises(RegisterError, match="unknown register series"):
            take_numbers(s, a, 2567, "outgoing")
        with pytest.raises(RegisterError, match="at least 1"):
            take_numbers(s, a, 2567, "send", 0)
        assert add_entries(s, a, "send", [], at=AT) == []


def test_cancellation_keeps_the_number_adds_a_line_and_an_event_and_is_idempotent(db, units):
    a, _ = units
    write(db, a, "receive", 3)
    with db.transaction() as s:
        second = entries(s, a, 2567, "receive")[1]
        line = cancel_entry(s, second.id, reason="ลงทะเบียนซ้ำ", actor="clerk",
                            at=datetime(2024, 3, 27, 11, 15, tzinfo=BANGKOK))
        line_id = line.id
    with db.transaction() as s:
        lines = entries(s, a, 2567, "receive")
        assert [e.number for e in lines] == [1, 2, 3, 4]
        cancelled, cancellation = lines[1], lines[3]
        assert cancelled.id == second.id and cancelled.cancels_id is None and cancelled.action is None
        assert cancellation.id == line_id
        assert cancellation.cancels_id == cancelled.id
        assert (cancellation.action, cancellation.note) == ("ยกเลิก", "ยกเลิกเลขที่ 2: ลงทะเบียนซ้ำ")
        assert (cancellation.subject, cancellation.ref_text) == (cancelled.subject, cancelled.ref_text)
        assert (cancellation.actor, cancellation.entered_at) == ("clerk", datetime(2024, 3, 27, 11, 15, tzinfo=BANGKOK))
        (event,) = s.scalars(select(Event)).all()
        assert (event.kind, event.actor, event.unit_id) == ("register.cancelled", "clerk", a)
        assert event.data == {"entry": cancelled.id, "number": 2, "series": "receive", "reason": "ลงทะเบียนซ้ำ"}
    with db.transaction() as s:  # again: the same line, nothing new
        assert cancel_entry(s, second.id, reason="อีกครั้ง", actor="x", at=AT).id == line_id
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegisterEntry)) == 4
        assert s.scalar(select(func.count()).select_from(Event)) == 1
        assert s.get(RegisterCounter, (a, 2567, "receive")).last_number == 4
        with pytest.raises(RegisterError, match="cannot itself be cancelled"):
            cancel_entry(s, line_id, reason="x", actor="x", at=AT)
        with pytest.raises(RegisterError, match="no register entry"):
            cancel_entry(s, 999_999, reason="x", actor="x", at=AT)
    assert write(db, a, "receive") == [5]


def test_two_clerks_cancelling_the_same_line_at_once_make_one_cancellation(db, units):
    """cancel_entry locks the line before it looks for an earlier cancellation (SELECT ... FOR UPDATE on
    PostgreSQL; SQLite's write lock from BEGIN IMMEDIATE): the second clerk sees the first one's line."""
    a, _ = units
    write(db, a, "send", 2)
    with db.transaction() as s:
        target = entries(s, a, 2567, "send")[0].id
    errors: list[BaseException] = []

    def second_clerk() -> None:
        try:
            with db.transaction() as s2:
                cancel_entry(s2, target, reason="clerk 2", actor="clerk2", at=AT)
        except BaseException as e:  # surfaced below
            errors.append(e)

    with db.transaction() as s1:
        cancel_entry(s1, target, reason="clerk 1", actor="clerk1", at=AT)
        s1.flush()
        thread = threading.Thread(target=second_clerk)
        thread.start()
        _wait_until_blocked(db, thread)
    thread.join(timeout=30)
    assert not thread.is_alive() and not errors, errors
    with db.transaction() as s:
        cancellations = s.scalars(select(RegisterEntry).where(RegisterEntry.cancels_id == target)).all()
        assert len(cancellations) == 1
        assert s.scalar(select(func.count()).select_from(Event)) == 1


def _wait_until_blocked(db, thread: threading.Thread, timeout: float = 10) -> None:
    """Until the other transaction waits on a lock (PostgreSQL) or has had time to reach it (SQLite)."""
    deadline = time.monotonic() + timeout
    if db.dialect != "postgresql":
        time.sleep(0.3)
        return
    while time.monotonic() < deadline and thread.is_alive():
        with db.engine.connect() as c:
            waiting = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                     "AND datname = current_database()")).scalar()
        if waiting:
            return
        time.sleep(0.02)


# --- concurrency ---------------------------------------------------------------------------------------

WORKERS, PER_WORKER, OTHER_EVERY = 4, 25, 5
HOLD = 0.002  # seconds each transaction keeps its number's lock, so that the others queue behind it


def test_concurrent_processes_take_gapless_unique_numbers(db, units, capsys):
    """4 OS processes × 25 entries on one unit/series/year, each its own transaction, plus one on
    another unit after every 5th: numbers 1..100 and 1..20 exactly, whatever the interleaving."""
    a, b = units
    url = db.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS + 1)
    results = ctx.Queue()
    at = datetime(2024, 6, 1, 12, 0, tzinfo=BANGKOK)
    procs = [ctx.Process(target=register_worker, daemon=True, kwargs={"hold": HOLD},
                         args=(url, w, a, b, PER_WORKER, OTHER_EVERY, "receive", at.isoformat(), start,
                               results))
             for w in range(WORKERS)]
    t0 = time.perf_counter()
    try:
        for p in procs:
            p.start()
        start.wait(timeout=90)  # every worker has imported saraban and connected
        t1 = time.perf_counter()
        reports = [results.get(timeout=90) for _ in procs]
        t2 = time.perf_counter()
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * WORKERS
    assert [r[2] for r in reports] == [None] * WORKERS, [r[2] for r in reports]
    by_number = {n: w for w, worker_taken, _ in reports for unit, n, _ in worker_taken if unit == a}
    switches = sum(by_number[n] != by_number[n + 1] for n in range(1, len(by_number)))
    with capsys.disabled():
        print(f"\n[{db.dialect}] {WORKERS} processes: start-up {t1 - t0:.2f} s, "
              f"{WORKERS * (PER_WORKER + PER_WORKER // OTHER_EVERY)} transactions {t2 - t1:.2f} s, "
              f"{switches} changes of writer along 1..{len(by_number)}")

    taken = [t for _, worker_taken, _ in reports for t in worker_taken]
    on_a = sorted(n for unit, n, _ in taken if unit == a)
    on_b = sorted(n for unit, n, _ in taken if unit == b)
    total_a, total_b = WORKERS * PER_WORKER, WORKERS * (PER_WORKER // OTHER_EVERY)
    assert on_a == list(range(1, total_a + 1))
    assert on_b == list(range(1, total_b + 1))
    with db.transaction() as s:
        stored = {(e.unit_id, e.number): e.subject for u in (a, b) for e in entries(s, u, 2567, "receive")}
        assert stored == {(unit, n): subject for unit, n, subject in taken}
        assert s.get(RegisterCounter, (a, 2567, "receive")).last_number == total_a
        assert s.get(RegisterCounter, (b, 2567, "receive")).last_number == total_b
        # Every worker's own numbers rise: each transaction saw the one before it.
        for _, worker_taken, _ in reports:
            mine = [n for unit, n, _ in worker_taken if unit == a]
            assert mine == sorted(mine) and len(mine) == PER_WORKER


# --- the printed register ------------------------------------------------------------------------------


def _receive_register(db, unit_id: int) -> None:
    """Three letters received, the second cancelled the next day."""
    with db.transaction() as s:
        add_entries(s, unit_id, "receive", [letter(HOSTILE, to_text="ผู้ว่าราชการจังหวัดกระบี่ & <ทุกอำเภอ>")],
                    at=datetime(2024, 3, 26, 10, 30, tzinfo=BANGKOK))
        add_entries(s, unit_id, "receive", [letter(
            "=SUM(A1:A3) แบบรายงาน 3 ฉบับ", ref_text="ลพ 0023.3/ว 55", letter_date=date(2024, 3, 20),
            from_text="สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดลำพูน", action="แจ้งอำเภอทุกอำเภอ",
            note="ด่วน\r\nโทร 0 2241 9000 หรือ saraban1@x.go.th")], at=datetime(2024, 3, 26, 14, 5, tzinfo=BANGKOK))
        add_entries(s, unit_id, "receive", [letter("ขอความร่วมมือ\tตอบแบบสำรวจ", letter_date=date(2024, 1, 9))],
                    at=datetime(2024, 3, 27, 9, 0, tzinfo=BANGKOK))
    with db.transaction() as s:
        second = entries(s, unit_id, 2567, "receive")[1]
        cancel_entry(s, second.id, reason="ลงทะเบียนซ้ำ", actor="clerk", at=datetime(2024, 3, 27, 11, 15, tzinfo=BANGKOK))


# The moment of receipt has its own column (วันเวลาที่รับ, beside the number); for the cancellation line,
# when it was written.
EXPECTED = [
    RegisterRow("๑", "มท ๐๘๒๐.๒/ว ๑๑๔๔", "๒๕ มี.ค. ๒๕๖๗", "กรมส่งเสริมการปกครองท้องถิ่น",
                "ผู้ว่าราชการจังหวัดกระบี่ & <ทุกอำเภอ>", HOSTILE, "", "", received="๒๖ มี.ค. ๒๕๖๗ ๑๐.๓๐ น."),
    RegisterRow("๒", "ลพ ๐๐๒๓.๓/ว ๕๕", "๒๐ มี.ค. ๒๕๖๗", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดลำพูน",
                "ผู้ว่าราชการจังหวัดกระบี่", "=SUM(A1:A3) แบบรายงาน ๓ ฉบับ", "แจ้งอำเภอทุกอำเภอ",
                "ยกเลิก (ดูเลขที่ ๔)\nด่วน\nโทร ๐ ๒๒๔๑ ๙๐๐๐ หรือ saraban1@x.go.th", received="๒๖ มี.ค. ๒๕๖๗ ๑๔.๐๕ น."),
    RegisterRow("๓", "มท ๐๘๒๐.๒/ว ๑๑๔๔", "๙ ม.ค. ๒๕๖๗", "กรมส่งเสริมการปกครองท้องถิ่น",
                "ผู้ว่าราชการจังหวัดกระบี่", "ขอความร่วมมือ\tตอบแบบสำรวจ", "", "", received="๒๗ มี.ค. ๒๕๖๗ ๐๙.๐๐ น."),
    RegisterRow("๔", "ลพ ๐๐๒๓.๓/ว ๕๕", "๒๐ มี.ค. ๒๕๖๗", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดลำพูน",
                "ผู้ว่าราชการจังหวัดกระบี่", "=SUM(A1:A3) แบบรายงาน ๓ ฉบับ", "ยกเลิก",
                "ยกเลิกเลขที่ ๒: ลงทะเบียนซ้ำ", received="๒๗ มี.ค. ๒๕๖๗ ๑๑.๑๕ น."),
]
TITLES = ["ทะเบียนหนังสือรับ", UNIT_NAME, "ประจำปี พ.ศ. ๒๕๖๗"]


def test_register_rows_print_the_regulation_columns(db, units):
    a, b = units
    _receive_register(db, a)
    with db.transaction() as s:
        assert register_rows(s, a, 2567, "receive") == EXPECTED
        assert register_rows(s, b, 2567, "receive") == []
        assert register_rows(s, a, 2568, "receive") == []
        arabic = register_rows(s, a, 2567, "receive", digits="arabic")
        with pytest.raises(RegisterError):
            register_rows(s, a, 2567, "incoming")
        with pytest.raises(ValueError, match="digits"):
            register_rows(s, a, 2567, "receive", digits="roman")
    assert arabic[1] == RegisterRow(
        "2", "ลพ 0023.3/ว 55", "20 มี.ค. 2567", EXPECTED[1].sender, EXPECTED[1].recipient,
        "=SUM(A1:A3) แบบรายงาน 3 ฉบับ", "แจ้งอำเภอทุกอำเภอ",
        "ยกเลิก (ดูเลขที่ 4)\nด่วน\nโทร 0 2241 9000 หรือ saraban1@x.go.th", received="26 มี.ค. 2567 14.05 น.")
    assert headers("receive")[:2] == ("เลขทะเบียนรับ", "วันเวลาที่รับ") and headers("send")[0] == "เลขทะเบียนส่ง"
    assert len(headers("receive")) == len(EXPECTED[0].cells()) == 9
    assert len(headers("send")) == 8


def test_circular_numbers_print_with_wor(db, units):
    a, _ = units
    write(db, a, "circular", 2)
    write(db, a, "send")
    with db.transaction() as s:
        circular = register_rows(s, a, 2567, "circular")
        send = register_rows(s, a, 2567, "send")
        cancel_entry(s, entries(s, a, 2567, "circular")[0].id, reason="ผิดเรื่อง", actor="x", at=AT)
        circular_after = register_rows(s, a, 2567, "circular")
    assert [r.number for r in circular] == ["ว ๑", "ว ๒"]
    assert [r.number for r in send] == ["๑"]
    assert send[0].note == "" and send[0].received is None  # no receipt time in a send register
    assert len(send[0].cells()) == len(headers("send"))
    assert [r.number for r in circular_after] == ["ว ๑", "ว ๒", "ว ๓"]
    assert circular_after[0].note == "ยกเลิก (ดูเลขที่ ว ๓)"
    assert circular_after[2].note == "ยกเลิกเลขที่ ๑: ผิดเรื่อง"


def _row(cells: list[str]) -> RegisterRow:
    """A receive register's nine printed columns as a RegisterRow."""
    number, received, *rest = cells
    return RegisterRow(number, *rest, received=received)


def _xlsx_table(path: Path) -> tuple[list[str], list[str], list[RegisterRow]]:
    ws = openpyxl.load_workbook(path).active
    values = shown_rows(ws)  # the number column as the clerk sees it (a number cell, Thai digits)
    titles = [r[0] for r in values[:3]]
    head = values[3]
    rows = [_row(r) for r in values[4:]]
    return titles, head, rows


def _docx_table(path: Path) -> tuple[list[str], list[str], list[RegisterRow]]:
    doc = Document(str(path))
    titles = [p.text for p in doc.paragraphs if p.text]
    (table,) = doc.tables
    head = [c.text for c in table.rows[0].cells]
    rows = [_row([c.text for c in r.cells]) for r in table.rows[1:]]
    return titles, head, rows


def test_export_writes_the_rows_exactly_to_xlsx_and_docx(db, units, settings, tmp_path):
    a, _ = units
    _receive_register(db, a)
    with db.transaction() as s:
        paths = export_register(s, "lao.krabi", 2567, "receive", tmp_path / "out", settings=settings)
        by_id = export_register(s, a, 2567, "receive", tmp_path / "by-id", ("docx",), settings=settings)
    assert by_id == [tmp_path / "by-id" / "register-receive-lao.krabi-2567.docx"]
    assert paths == [tmp_path / "out" / "register-receive-lao.krabi-2567.xlsx",
                     tmp_path / "out" / "register-receive-lao.krabi-2567.docx"]
    expected_head = list(headers("receive"))
    assert _xlsx_table(paths[0]) == (TITLES, expected_head, EXPECTED)
    assert _docx_table(paths[1]) == (TITLES, expected_head, EXPECTED)


def test_xlsx_layout(tmp_path):
    rows = [replace(r, value=n) for n, r in enumerate(EXPECTED, 1)]
    path = export_xlsx(rows, tmp_path / "r.xlsx", title_lines=TITLES)
    ws = openpyxl.load_workbook(path).active
    assert ws.title == "ทะเบียนหนังสือรับ ๒๕๖๗"  # within a sheet name's 31 characters, not cut
    assert [c.value for c in ws[4]] == list(headers("receive"))
    assert ws["B5"].value == "๒๖ มี.ค. ๒๕๖๗ ๑๐.๓๐ น." and ws["B5"].data_type == "s"
    assert all(c.font.b for c in ws[4]) and not ws["G5"].font.b
    fonts = {(c.font.name, c.font.sz) for row in ws.iter_rows() for c in row if c.value}
    assert fonts == {("TH SarabunIT๙", 16)}
    assert ws["G5"].alignment.wrap_text and ws["G5"].alignment.vertical == "top"
    assert ws["G6"].data_type == "s" and ws["G6"].value.startswith("=SUM(")  # text, not a formula
    assert "A1:I1" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    assert ws.print_title_rows == "$4:$4"
    assert ws.freeze_panes == "A5"
    assert ws.column_dimensions["G"].width > ws.column_dimensions["A"].width
    # The register numbers are numbers, shown in Thai digits; ที่ and the dates stay text.
    numbers = [ws.cell(r, 1) for r in range(5, 9)]
    assert [c.value for c in numbers] == [1, 2, 3, 4] and {c.data_type for c in numbers} == {"n"}
    assert {c.number_format for c in numbers} == {"[$-D00041E]0"}
    assert {ws.cell(r, c).data_type for r in range(5, 9) for c in (3, 4)} == {"s"}
    send = export_xlsx([], tmp_path / "s.xlsx", title_lines=["ทะเบียนหนังสือส่ง", "x", "ประจำปี"])
    assert openpyxl.load_workbook(send).active["A4"].value == "เลขทะเบียนส่ง"


def test_send_and_circular_registers_in_xlsx_number_as_numbers(db, units, tmp_path):
    a, _ = units
    write(db, a, "circular", 3)
    write(db, a, "send", 2)
    with db.transaction() as s:
        circular, send = (export_register(s, a, 2567, series, tmp_path, ("xlsx",))[0]
                          for series in ("circular", "send"))
        arabic = export_register(s, a, 2567, "send", tmp_path / "arabic", ("xlsx",), digits="arabic")[0]
    ws = openpyxl.load_workbook(circular).active
    # The circular register's sheet is named in full (its title line is longer than 31 characters).
    assert ws.title == "ทะเบียนหนังสือเวียน ๒๕๖๗"
    assert ws["A1"].value == "ทะเบียนหนังสือส่ง (หนังสือเวียน ว)" and len(headers("circular")) == ws.max_column == 8
    numbers = [ws.cell(r, 1) for r in range(5, ws.max_row + 1)]
    assert [c.value for c in numbers] == [1, 2, 3] and {c.data_type for c in numbers} == {"n"}
    assert {c.number_format for c in numbers} == {'[$-D00041E]"ว "0'}
    assert [shown(c) for c in numbers] == ["ว ๑", "ว ๒", "ว ๓"]
    ws = openpyxl.load_workbook(send).active
    assert ws.title == "ทะเบียนหนังสือส่ง ๒๕๖๗"
    assert [shown(ws.cell(r, 1)) for r in (5, 6)] == ["๑", "๒"] and sum(ws.cell(r, 1).value for r in (5, 6)) == 3
    ws = openpyxl.load_workbook(arabic).active
    assert ws.title == "ทะเบียนหนังสือส่ง 2567"
    assert [(ws.cell(r, 1).value, ws.cell(r, 1).number_format) for r in (5, 6)] == [(1, "0"), (2, "0")]


def test_docx_layout(settings, tmp_path):
    path = export_docx(EXPECTED, tmp_path / "r.docx", title_lines=TITLES, settings=settings)
    doc = Document(str(path))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (29.7, 21.0)
    (table,) = doc.tables
    head = table.rows[0]._tr
    assert head.trPr is not None and head.trPr.find(qn("w:tblHeader")) is not None
    assert all(r._tr.trPr is None or r._tr.trPr.find(qn("w:tblHeader")) is None for r in table.rows[1:])
    assert sum(int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))) == pytest.approx(
        Cm(26.2).twips, abs=10)
    fonts = {f.get(qn("w:cs")) for f in doc.element.iter(qn("w:rFonts"))}
    assert fonts == {"TH SarabunIT๙"}
    sizes = {s.get(qn("w:val")) for s in table._tbl.iter(qn("w:szCs"))}
    assert sizes == {"32"}
    # The office's own font is named instead of the template's.
    other = export_docx(EXPECTED[:1], tmp_path / "o.docx", title_lines=TITLES,
                        settings=replace(settings, font_name="TH Sarabun New"))
    other_fonts = {f.get(qn("w:cs")) for f in Document(str(other)).element.iter(qn("w:rFonts"))}
    assert other_fonts == {"TH Sarabun New"}
    # No rows: the header alone.
    empty = Document(str(export_docx([], tmp_path / "e.docx", title_lines=TITLES, settings=settings)))
    assert [len(t.rows) for t in empty.tables] == [1]


def test_the_template_builder_can_be_run_again(tmp_path, settings):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_report_templates",
                                                  ROOT / "scripts" / "build_report_templates.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    first = builder.main(["--out", str(tmp_path / "t")])
    again = builder.main(["--out", str(tmp_path / "t")])
    assert first == again == [tmp_path / "t" / "register.docx", tmp_path / "t" / "status.docx",
                              tmp_path / "t" / "programme.docx"]
    own = replace(settings, templates_dir=tmp_path / "office")
    (own.templates_dir / "reports").mkdir(parents=True)
    (tmp_path / "t" / "register.docx").rename(own.templates_dir / "reports" / "register.docx")
    path = export_docx(EXPECTED, tmp_path / "r.docx", title_lines=TITLES, settings=own)
    assert _docx_table(path) == (TITLES, list(headers("receive")), EXPECTED)
    shipped = ROOT / "templates" / "reports" / "register.docx"
    assert shipped.exists() and "{%tr for r in rows %}" in "".join(
        c.text for row in Document(str(shipped)).tables[0].rows for c in row.cells)


def test_export_register_refuses_bad_arguments(db, units, tmp_path):
    with db.transaction() as s:
        with pytest.raises(RegisterError, match="no unit 'nowhere'"):
            export_register(s, "nowhere", 2567, "receive", tmp_path)
        with pytest.raises(RegisterError, match="B.E."):
            export_register(s, "lao.krabi", 2024, "receive", tmp_path)
        with pytest.raises(RegisterError, match="format"):
            export_register(s, "lao.krabi", 2567, "receive", tmp_path, formats=("pdf",))
        with pytest.raises(RegisterError, match="series"):
            export_register(s, "lao.krabi", 2567, "outgoing", tmp_path)
    assert not list(tmp_path.glob("register-*"))


# --- CLI ------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path):
    database = fresh_database("sqlite", tmp_path)
    unit_id = add_unit(database, "lao.krabi", UNIT_NAME, level="provincial_office")
    yield database, unit_id, f"sqlite:///{tmp_path}/x.db"
    database.engine.dispose()


def run_cli(args: list[str], url: str):
    parent = typer.Typer()
    parent.add_typer(register_app, name="register")  # as saraban.faces.cli.app registers it
    return CliRunner().invoke(parent, ["register", *args], env={"SARABAN_DATABASE_URL": url})


def test_cli_exports_a_register(cli_db, tmp_path):
    database, unit_id, url = cli_db
    _receive_register(database, unit_id)
    out = tmp_path / "out"
    result = run_cli(["export", "lao.krabi", "--year", "2567", "--series", "receive", "--out", str(out)], url)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / "register-receive-lao.krabi-2567.xlsx"),
                                     str(out / "register-receive-lao.krabi-2567.docx")]
    assert _xlsx_table(out / "register-receive-lao.krabi-2567.xlsx")[2] == EXPECTED
    result = run_cli(["export", "lao.krabi", "--year", "2567", "--series", "circular", "--out", str(out),
                      "--format", "docx"], url)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / "register-circular-lao.krabi-2567.docx")]
    assert _docx_table(out / "register-circular-lao.krabi-2567.docx")[0][0] == "ทะเบียนหนังสือส่ง (หนังสือเวียน ว)"


@pytest.mark.parametrize(("args", "message"), [
    (["export", "nowhere", "--year", "2567", "--series", "receive"], "unknown unit 'nowhere'"),
    (["export", "lao.krabi", "--year", "2024", "--series", "send"], "B.E."),
    (["export", "lao.krabi", "--year", "2567", "--series", "incoming"], "incoming"),
    (["export", "lao.krabi", "--year", "2567", "--series", "send", "--format", "pdf"], "pdf"),
])
def test_cli_refuses_with_exit_code_2(cli_db, tmp_path, args, message):
    _, _, url = cli_db
    result = run_cli([*args, "--out", str(tmp_path / "out")], url)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()
