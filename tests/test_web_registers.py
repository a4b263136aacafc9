"""ทะเบียน on the web: the office's registers by year and series as the regulation's table (Thai digits, 100
lines a page, cancelled lines marked as the report marks them), the exports, and nobody else's."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from saraban.chain.circulars import cancel_letter, forward, receive
from saraban.kernel.clock import now, today
from saraban.records.models import Unit
from saraban.records.registers import EntryText, add_entries
from saraban.reports.registers import headers, register_rows
from tests.sheets import shown_rows
from tests.web import web_world  # noqa: F401  (the web fixture)
from thai_text import be_year, to_thai_digits


def cells(html: str) -> list[list[str]]:
    """The rows of the page's register table, cell by cell, as text."""
    body = re.search(r'<table class="register">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, "no register table"
    return [[re.sub(r"<br>", "\n", re.sub(r"<(?!br>)[^>]+>", "", c)).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body[1], re.S)]


def krabi_registers(web):
    """Krabi receives the department's circular (receive register ๑), forwards it (ว ๑), and cancels
    the forwarding letter (ว ๒, the cancellation line)."""
    issued = web.circular(date=today())
    receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    onward = forward(web.db, web.settings, issued.letter_id, "prov.81", "amphoe.8101", actor="krabi.clerk",
                     files=False)
    cancel_letter(web.db, onward.letter_id, reason="ส่งผิดหน่วยงาน", actor="krabi.clerk")
    return issued, onward


def test_the_office_reads_its_registers_as_the_regulations_table(web) -> None:
    krabi_registers(web)
    year = be_year(today())
    client = web.client("krabi.clerk")
    index = client.get("/registers")
    assert index.status_code == 200
    assert to_thai_digits(year) in index.text
    for series in ("receive", "circular", "send"):
        assert f'href="/registers/{year}/{series}"' in index.text
    assert client.get(f"/registers?year={year}&series=รับ").headers["location"] == f"/registers/{year}/receive"

    page = client.get(f"/registers/{year}/receive")
    assert page.status_code == 200
    assert "ทะเบียนหนังสือรับ" in page.text and "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่" in page.text
    assert f"ประจำปี พ.ศ. {to_thai_digits(year)}" in page.text
    assert all(f"<th>{h}</th>" in page.text for h in headers("receive"))
    (line,) = cells(page.text)
    assert line[0] == "๑" and line[2] == "มท ๐๘๒๐.๒/ว ๑" and line[4] == "กรมส่งเสริมการปกครองท้องถิ่น"
    assert line[1].endswith(" น.")  # วันเวลาที่รับ: its own column, not in หมายเหตุ
    # การปฏิบัติ: the forward, whose letter was then cancelled.
    assert line[7] == "ส่งต่อ ที่ กบ ๐๐๒๓.๖/ว ๑ (ยกเลิกแล้ว)" and line[8] == ""
    assert not re.search(r"[0-9]", " ".join(line))  # Thai digits only
    with web.db.reading() as s:
        krabi = s.scalar(select(Unit.id).where(Unit.key == "prov.81"))
        expected = register_rows(s, krabi, year, "receive")
    assert line == list(expected[0].cells())

    circulars = cells(client.get(f"/registers/{year}/circular").text)
    assert [row[0] for row in circulars] == ["ว ๑", "ว ๒"]
    assert circulars[0][1] == "กบ ๐๐๒๓.๖/ว ๑" and "ยกเลิก (ดูเลขที่ ว ๒)" in circulars[0][7]
    assert circulars[1][6] == "ยกเลิก" and "ส่งผิดหน่วยงาน" in circulars[1][7]
    assert cells(client.get(f"/registers/{year}/send").text) == []  # no ordinary letters yet: an empty table

    # Only one's own office: the department's register shows its own circular, not Krabi's lines.
    dept = cells(web.client("dept.clerk").get(f"/registers/{year}/circular").text)
    assert [row[1] for row in dept] == ["มท ๐๘๒๐.๒/ว ๑"]


def test_exports_open_and_hold_the_rows_of_the_page(web) -> None:
    krabi_registers(web)
    year = be_year(today())
    client = web.client("krabi.head")
    with web.db.reading() as s:
        krabi = s.scalar(select(Unit.id).where(Unit.key == "prov.81"))
        expected = [list(r.cells()) for r in register_rows(s, krabi, year, "circular")]

    xlsx = client.get(f"/registers/{year}/circular/export/xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    assert unquote(xlsx.headers["content-disposition"]).endswith(f"ทะเบียนหนังสือเวียน-{year}.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = shown_rows(sheet)  # the numbers as shown: number cells in Thai digits
    header = values.index(list(headers("circular")))
    assert values[header + 1:] == expected
    assert [sheet.cell(r, 1).value for r in range(header + 2, sheet.max_row + 1)] == [1, 2]

    docx = client.get(f"/registers/{year}/receive/export/docx")
    assert docx.status_code == 200 and "wordprocessingml" in docx.headers["content-type"]
    assert unquote(docx.headers["content-disposition"]).endswith(f"ทะเบียนหนังสือรับ-{year}.docx")
    table = Document(io.BytesIO(docx.content)).tables[-1]
    with web.db.reading() as s:
        receive_rows = [list(r.cells()) for r in register_rows(s, krabi, year, "receive")]
    assert [[c.text for c in row.cells] for row in table.rows] == [list(headers("receive")), *receive_rows]
    assert client.get(f"/registers/{year}/receive/export/pdf").status_code == 404


def test_the_receive_register_says_where_a_forwarded_letter_went(web) -> None:
    """การปฏิบัติ of the received letter names the forwarding letter, on the page and in both exports."""
    issued = web.circular(date=today())
    receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    year = be_year(today())
    client = web.client("krabi.clerk")
    (before,) = cells(client.get(f"/registers/{year}/receive").text)
    assert before[7] == ""  # received only: nothing done yet (being received is not an action)
    forward(web.db, web.settings, issued.letter_id, "prov.81", "amphoe.8101", actor="krabi.clerk", files=False)
    (line,) = cells(client.get(f"/registers/{year}/receive").text)
    assert line[7] == "ส่งต่อ ที่ กบ ๐๐๒๓.๖/ว ๑"
    assert line[1] == before[1] and line[1].endswith(" น.") and line[8] == ""
    sheet = load_workbook(io.BytesIO(client.get(f"/registers/{year}/receive/export/xlsx").content)).active
    assert sheet.title == f"ทะเบียนหนังสือรับ {to_thai_digits(year)}"
    assert [c.value for c in sheet[4]] == list(headers("receive"))
    assert [sheet.cell(5, c).value for c in (1, 2, 8)] == [1, line[1], "ส่งต่อ ที่ กบ ๐๐๒๓.๖/ว ๑"]
    assert sheet.cell(5, 1).data_type == "n"
    table = Document(io.BytesIO(client.get(f"/registers/{year}/receive/export/docx").content)).tables[-1]
    assert [c.text for c in table.rows[1].cells] == line


def test_a_long_register_is_paged_by_100_lines(web) -> None:
    year = be_year(today())
    with web.db.transaction() as s:
        krabi = s.scalar(select(Unit.id).where(Unit.key == "prov.81"))
        add_entries(s, krabi, "receive", [EntryText(ref_text=f"ทดสอบ 1/{i}", letter_date=today(), from_text="ผู้ส่ง",
                                                    to_text="กระบี่", subject=f"เรื่องที่ {i}")
                                          for i in range(1, 131)], at=now(), actor="test")
    client = web.client("krabi.clerk")
    first = client.get(f"/registers/{year}/receive")
    rows = cells(first.text)
    assert len(rows) == 100 and rows[0][0] == "๑" and rows[-1][0] == "๑๐๐"
    assert f'href="/registers/{year}/receive?page=2"' in first.text and "หน้า ๑ จาก ๒" in first.text
    second = cells(client.get(f"/registers/{year}/receive?page=2").text)
    assert [r[0] for r in second] == [to_thai_digits(n) for n in range(101, 131)]
    assert second[-1][2] == "ทดสอบ ๑/๑๓๐"


def test_registers_are_the_clerks_and_heads_of_the_office_only(web) -> None:
    year = be_year(today())
    for who in ("krabi.staff", "krabi.admin"):
        client = web.client(who)
        for path in ("/registers", f"/registers/{year}/receive", f"/registers/{year}/receive/export/xlsx"):
            assert client.get(path).status_code == 403, (who, path)
    client = web.client("krabi.clerk")
    for path in (f"/registers/{year}/nonsense", "/registers/2026/receive", "/registers/abc/receive",
                 f"/registers/{year}/receive/export/pdf", f"/registers/{year}/nonsense/export/xlsx"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/registers/{year}/ว").status_code == 200  # what a clerk calls it
