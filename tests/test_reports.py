"""The status report of a circular (.xlsx, .docx, ``saraban status LETTER --report DIR``), on SQLite and
PostgreSQL: the figures read back from the files are exactly those of the chain's data.

PostgreSQL cases need ``SARABAN_TEST_POSTGRES_URL``; without it they are skipped.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Cm
from typer.testing import CliRunner

from saraban.chain.circulars import carry_down, issue_circular, receive, receive_many
from saraban.chain.status import STATE_TH, LetterStatus, Node, letter_status
from saraban.directory.levels import LEVEL_NAMES
from saraban.kernel.clock import BANGKOK
from saraban.reports.status import (
    DOCX_MAX_ROWS,
    LEVEL_SHORT,
    MISSING_HEADERS,
    SEE_XLSX,
    SHEETS,
    SUMMARY_HEADERS,
    UNIT_HEADERS,
    WHY_NOT_FORWARDED,
    WHY_NOT_RECEIVED,
    status_report_docx,
    status_report_xlsx,
    write_status_report,
)
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.sheets import shown_rows
from thai_text import to_thai_digits

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
AS_OF = datetime(2024, 4, 2, 16, 5, tzinfo=BANGKOK)
TITLES = ["รายงานสถานะการรับและส่งต่อหนังสือ", "ที่ มท ๐๘๒๐.๒/ว ๑", "กรมส่งเสริมการปกครองท้องถิ่น",
          "เรื่อง ส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน "
          "และแผนปฏิบัติการลดมลพิษและนโยบายลดความเสี่ยงจากมลพิษฯ",
          "ข้อมูล ณ วันที่ ๒ เม.ย. ๒๕๖๗ ๑๖.๐๕ น."]
SUMMARY_ORDER = ["province_office", "district_office", "pao", "town_municipality", "subdistrict_municipality"]


@pytest.fixture
def chain(db, settings) -> LetterStatus:
    """The department's circular to every province: Krabi and Chiang Mai receive it (Krabi does not pass it
    on yet), Ratchaburi receives it and carries it down to its districts, PAO, town municipality and, from
    Ban Pong district, the two subdistrict municipalities."""
    issued = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="all:province_office",
                            at=AT)
    receive(db, settings, issued.letter_id, "prov.81", at=datetime(2024, 3, 30, 9, 15, tzinfo=BANGKOK))
    receive(db, settings, issued.letter_id, "prov.50", at=datetime(2024, 3, 30, 14, 2, tzinfo=BANGKOK))
    receive_many(db, settings, issued.letter_id, ["prov.70"], at=AT)
    carry_down(db, settings, issued.letter_id, "prov.70", at=datetime(2024, 4, 1, 8, 45, tzinfo=BANGKOK))
    return letter_status(db, issued.letter_id)


# --- what the rows must be, worked out from the nodes themselves ------------------------------------------


def th(value) -> str:
    return to_thai_digits(value) if value is not None else ""


def thai_moment(at: datetime | None) -> str:
    if at is None:
        return ""
    months = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
    return th(f"{at.day} {months[at.month - 1]} {at.year + 543} {at:%H.%M} น.")


def depths(status: LetterStatus) -> dict[int, int]:
    out: dict[int, int] = {}

    def down(nodes, depth):
        for n in nodes:
            out[id(n)] = depth
            down(n.children, depth + 1)

    down(status.recipients, 1)
    return out


def expected_summary(status: LetterStatus) -> list[list[str]]:
    levels = status.by_level()
    rows = [[LEVEL_NAMES[level], *(th(f"{levels[level][k]:,}") for k in ("sent", "received", "forwarded",
                                                                         "missing"))]
            for level in SUMMARY_ORDER]
    total = ["รวม", *(th(f"{sum(c[k] for c in levels.values()):,}") for k in ("sent", "received", "forwarded",
                                                                              "missing"))]
    return [*rows, total]


def level(node: Node, short: bool) -> str:
    """The .docx's long tables abbreviate the level."""
    return LEVEL_SHORT[node.level] if short else LEVEL_NAMES[node.level]


def expected_units(status: LetterStatus, *, short: bool = False) -> list[list[str]]:
    depth = depths(status)
    return [[th(i), th(depth[id(n)]), n.unit_name, level(n, short), STATE_TH[n.state],
             th(n.receipt.split("/")[1]) if n.receipt else "", thai_moment(n.received_at), th(n.forwarded_ref),
             th(n.letter_ref)] for i, n in enumerate(status.nodes(), 1)]


def expected_missing(status: LetterStatus, *, short: bool = False) -> list[list[str]]:
    sent_by = {id(n): status.sender for n in status.recipients}
    for n in status.nodes():
        sent_by |= {id(c): n.unit_name for c in n.children}
    return [[th(i), n.unit_name, level(n, short), th(n.letter_ref), sent_by[id(n)], thai_moment(n.sent_at),
             WHY_NOT_RECEIVED if n.received_at is None else WHY_NOT_FORWARDED]
            for i, n in enumerate(status.missing(), 1)]


# --- reading the files back -------------------------------------------------------------------------------


def read_xlsx(path: Path) -> dict[str, tuple[list[str], list[str], list[list[str]]]]:
    """Each sheet: its title lines, its header row, its rows, as shown (number cells by their format)."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        values = shown_rows(ws)
        header_at = next(i for i, row in enumerate(values) if row[1])  # titles are merged across the row
        out[ws.title] = ([row[0] for row in values[:header_at]], values[header_at], values[header_at + 1:])
    return out


def cells(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def read_docx(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    doc = Document(str(path))
    return [p.text for p in doc.paragraphs if p.text], [cells(t) for t in doc.tables]


# --- the chain ----------------------------------------------------------------------------------------------


def test_the_chain_is_what_the_report_is_checked_against(chain):
    """The figures the other tests read back, worked out by hand."""
    levels = chain.by_level()
    assert levels["province_office"] == {"sent": 76, "received": 3, "forwarded": 1, "missing": 73}
    assert levels["district_office"] == {"sent": 10, "received": 10, "forwarded": 1, "missing": 0}
    assert levels["subdistrict_municipality"] == {"sent": 2, "received": 2, "forwarded": 0, "missing": 0}
    assert sorted(levels) == sorted(SUMMARY_ORDER)
    assert len(chain.nodes()) == 76 + 10 + 1 + 1 + 2
    # 73 provinces not received; Krabi and Chiang Mai received, not passed on. Ratchaburi's 9 districts with
    # nothing below them have received: they are done, not missing (saraban.chain.expectations).
    assert len(chain.missing()) == 73 + 2
    assert not any(n.level == "district_office" for n in chain.missing())


def test_xlsx_has_the_figures_of_the_data_exactly(chain, tmp_path):
    path = status_report_xlsx(chain, tmp_path / "s.xlsx", at=AS_OF)
    sheets = read_xlsx(path)
    assert list(sheets) == list(SHEETS) == ["สรุป", "รายหน่วยงาน", "ยังไม่ครบ"]
    titles, head, rows = sheets["สรุป"]
    assert titles == TITLES
    assert head == list(SUMMARY_HEADERS) == ["ระดับ", "ส่งแล้ว", "ลงรับแล้ว", "ส่งต่อแล้ว", "ยังไม่ลงรับ"]
    assert rows == expected_summary(chain)
    assert rows[0] == ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "๗๖", "๓", "๑", "๗๓"]
    assert rows[-1] == ["รวม", "๙๐", "๑๗", "๒", "๗๓"]

    titles, head, rows = sheets["รายหน่วยงาน"]
    assert titles == TITLES and head == list(UNIT_HEADERS)
    assert rows == expected_units(chain)
    by_name = {r[2]: r for r in rows}
    krabi = by_name["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"]
    assert krabi[3:] == ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "ลงรับแล้ว", "๑",
                         "๓๐ มี.ค. ๒๕๖๗ ๐๙.๑๕ น.", "", "มท ๐๘๒๐.๒/ว ๑"]
    ratchaburi = next(n for n in chain.recipients if n.unit_key == "prov.70")
    banpong = next(n for n in ratchaburi.children if n.unit_key == "amphoe.7005")
    assert by_name[ratchaburi.unit_name][4] == "ลงรับและส่งต่อแล้ว"
    assert ratchaburi.forwarded_ref.startswith("รบ ")
    assert by_name[ratchaburi.unit_name][7] == th(ratchaburi.forwarded_ref)
    assert by_name[banpong.unit_name][1] == "๒" and by_name[banpong.unit_name][8] == th(ratchaburi.forwarded_ref)
    muni = banpong.children[0]
    assert by_name[muni.unit_name][1] == "๓" and by_name[muni.unit_name][8] == th(banpong.forwarded_ref)
    assert by_name[muni.unit_name][6] == "๑ เม.ย. ๒๕๖๗ ๐๘.๔๕ น."

    titles, head, rows = sheets["ยังไม่ครบ"]
    assert titles == TITLES and head == list(MISSING_HEADERS)
    assert rows == expected_missing(chain)
    assert [r[1] for r in rows] == [n.unit_name for n in chain.missing()]
    assert {r[6] for r in rows} == {WHY_NOT_RECEIVED, WHY_NOT_FORWARDED}
    why = {r[1]: r[6] for r in rows}
    assert why[krabi[2]] == "ลงรับแล้ว ยังไม่ส่งต่อ"
    assert sum(r[6] == "ยังไม่ลงรับ" for r in rows) == 73


def test_xlsx_layout(chain, tmp_path):
    wb = openpyxl.load_workbook(status_report_xlsx(chain, tmp_path / "s.xlsx", at=AS_OF))
    header_row = len(TITLES) + 1
    for ws in wb.worksheets:
        assert all(c.font.b for c in ws[header_row]) and not ws.cell(header_row + 1, 2).font.b
        fonts = {(c.font.name, c.font.sz) for row in ws.iter_rows() for c in row if c.value}
        assert fonts == {("TH SarabunIT๙", 16)}
        assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
        assert ws.print_title_rows == f"${header_row}:${header_row}"
        assert ws.freeze_panes == f"A{header_row + 1}"
        last = openpyxl.utils.get_column_letter(ws.max_column)
        assert {str(m) for m in ws.merged_cells.ranges} == {f"A{r}:{last}{r}" for r in range(1, header_row)}
    summary, units, missing = wb.worksheets
    assert all(c.font.b for c in summary[summary.max_row])  # the total
    # Counts, ลำดับ, ชั้น and เลขรับ are numbers shown in Thai digits (SUM works); names, states, dates, ที่: text.
    number_columns = {summary: {2, 3, 4, 5}, units: {1, 2, 6}, missing: {1}}
    for ws, numeric in number_columns.items():
        for row in ws.iter_rows(min_row=header_row + 1):
            for c in row:
                if c.value is None or c.value == "":
                    continue
                assert (c.data_type == "n") == (c.column in numeric), (ws.title, c.coordinate, c.value)
                if c.data_type == "n":
                    assert isinstance(c.value, int)
                    assert c.number_format == ("[$-D00041E]0" if (ws, c.column) == (units, 6) else "[$-D00041E]#,##0")
    levels = [[summary.cell(r, c).value for c in range(2, 6)] for r in range(header_row + 1, summary.max_row)]
    total = [summary.cell(summary.max_row, c).value for c in range(2, 6)]
    assert [sum(col) for col in zip(*levels, strict=True)] == total == [90, 17, 2, 73]
    assert units.column_dimensions["C"].width > units.column_dimensions["A"].width
    # The unit's name is indented by its depth; the value stays the name.
    indent = {units.cell(r, 2).value: units.cell(r, 3).alignment.indent
              for r in range(header_row + 1, units.max_row + 1)}
    assert indent == {1: 0, 2: 1, 3: 2}


def test_docx_has_the_figures_of_the_data_exactly(chain, tmp_path, settings):
    path = status_report_docx(chain, tmp_path / "s.docx", settings, at=AS_OF)
    paragraphs, tables = read_docx(path)
    assert paragraphs == [*TITLES, "สรุปตามระดับหน่วยงาน", "หน่วยงานที่ยังไม่ครบ ๗๕ หน่วยงาน",
                          "รายหน่วยงาน ๙๐ หน่วยงาน"]
    summary, missing, units = tables
    assert summary == [list(SUMMARY_HEADERS), *expected_summary(chain)]
    assert missing == [list(MISSING_HEADERS), *expected_missing(chain, short=True)]
    assert units == [list(UNIT_HEADERS), *expected_units(chain, short=True)]
    assert {r[3] for r in units[1:]} == {"สถจ.", "อำเภอ", "อบจ.", "ทม.", "ทต."}


def test_docx_layout(chain, tmp_path, settings):
    doc = Document(str(status_report_docx(chain, tmp_path / "s.docx", settings, at=AS_OF)))
    section = doc.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (29.7, 21.0)
    for table in doc.tables:
        head = table.rows[0]._tr
        assert head.trPr.find(qn("w:tblHeader")) is not None
        assert all(r._tr.trPr is None or r._tr.trPr.find(qn("w:tblHeader")) is None for r in table.rows[1:])
        widths = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        assert sum(widths) == pytest.approx(Cm(26.2).twips, abs=10)
    assert {f.get(qn("w:cs")) for f in doc.element.iter(qn("w:rFonts"))} == {"TH SarabunIT๙"}
    assert {s.get(qn("w:val")) for s in doc.element.body.iter(qn("w:szCs"))} == {"32"}
    total = doc.tables[0].rows[-1]
    assert total.cells[0].text == "รวม" and total.cells[0].paragraphs[0].runs[0].bold
    heading = next(p for p in doc.paragraphs if p.text.startswith("รายหน่วยงาน"))
    assert heading.paragraph_format.page_break_before
    other = status_report_docx(chain, tmp_path / "o.docx", replace(settings, font_name="TH Sarabun New"), at=AS_OF)
    assert {f.get(qn("w:cs")) for f in Document(str(other)).element.iter(qn("w:rFonts"))} == {"TH Sarabun New"}


def test_docx_long_tables_are_cut_to_the_top_levels_that_fit_and_the_xlsx_keeps_every_row(chain, tmp_path,
                                                                                          settings):
    units, missing = expected_units(chain, short=True), expected_missing(chain, short=True)
    # 76 provinces fit in 80 rows, with their 12 units of the second level they do not; the 75 missing fit.
    paths = write_status_report(chain, tmp_path / "out", settings, at=AS_OF, max_rows=80)
    assert paths == [tmp_path / "out" / f"status-{chain.letter_id}.docx",
                     tmp_path / "out" / f"status-{chain.letter_id}.xlsx"]
    paragraphs, tables = read_docx(paths[0])
    assert tables[0] == [list(SUMMARY_HEADERS), *expected_summary(chain)]  # never cut
    assert tables[1] == [list(MISSING_HEADERS), *[r for r in missing if r[2] == "สถจ."]]
    assert tables[2] == [list(UNIT_HEADERS), *[r for r in units if r[1] == "๑"]]
    assert len(tables[2]) == 1 + 76 and len(tables[1]) == 1 + 75 and tables[1][1:] == missing
    assert f"แสดงเฉพาะหน่วยงานชั้นที่ ๑ (๗๖ จาก ๙๐ หน่วยงาน) {SEE_XLSX}" in paragraphs
    assert [p for p in paragraphs if SEE_XLSX in p] == [f"แสดงเฉพาะหน่วยงานชั้นที่ ๑ (๗๖ จาก ๙๐ หน่วยงาน) {SEE_XLSX}"]
    sheets = read_xlsx(paths[1])
    assert sheets["รายหน่วยงาน"][2] == expected_units(chain)
    assert sheets["ยังไม่ครบ"][2] == expected_missing(chain)
    # Two levels of 88 units fit in 89 rows; the 75 missing are not cut.
    paragraphs, tables = read_docx(status_report_docx(chain, tmp_path / "89.docx", settings, max_rows=89))
    assert tables[2][1:] == [r for r in units if r[1] in "๑๒"] and len(tables[2]) == 1 + 88
    assert tables[1][1:] == missing
    assert f"แสดงเฉพาะหน่วยงานชั้นที่ ๑–๒ (๘๘ จาก ๙๐ หน่วยงาน) {SEE_XLSX}" in paragraphs
    assert not any(SEE_XLSX in p for p in paragraphs if "๗๕" in p)
    # Not even the first level fits: the first rows.
    paragraphs, tables = read_docx(status_report_docx(chain, tmp_path / "20.docx", settings, max_rows=20))
    assert tables[2][1:] == units[:20] and tables[1][1:] == missing[:20]
    assert f"แสดง ๒๐ หน่วยงานแรก (จาก ๙๐ หน่วยงาน) {SEE_XLSX}" in paragraphs
    assert f"แสดง ๒๐ หน่วยงานแรก (จาก ๗๕ หน่วยงาน) {SEE_XLSX}" in paragraphs


# --- odd cases, without a database --------------------------------------------------------------------------

HOSTILE = "ขอเชิญประชุม <b>ด่วน</b> & {{ x }} {% if y %}ก{% endif %} R&D <![CDATA[x]]>"


def test_text_is_printed_as_given_and_digits_may_be_arabic(tmp_path, settings):
    sent = datetime(2024, 12, 30, 23, 59, tzinfo=BANGKOK)
    leaf = Node("u.2", "=SUM(A1:A9)", "sao", "ก 1/ว 2", sent, None, None, None, None)
    received = datetime(2025, 1, 2, 8, 5, tzinfo=BANGKOK)
    top = Node("u.1", "หน่วย <ก> & {{ x }}", "mystery_level", "มท 1/ว 7", sent, received,
               "2568/12", "ก 1/ว 2", 9, [leaf])
    status = LetterStatus(7, "มท 1/ว 7", "กรม & <ข>", HOSTILE, [top])
    docx = status_report_docx(status, tmp_path / "h.docx", settings, digits="arabic", at=sent)
    xlsx = status_report_xlsx(status, tmp_path / "h.xlsx", digits="arabic", at=sent)
    units = [["1", "1", "หน่วย <ก> & {{ x }}", "mystery_level", "ลงรับและส่งต่อแล้ว", "12", "2 ม.ค. 2568 08.05 น.",
              "ก 1/ว 2", "มท 1/ว 7"],
             ["2", "2", "=SUM(A1:A9)", "องค์การบริหารส่วนตำบล", "ส่งแล้ว ยังไม่ลงรับ", "", "", "", "ก 1/ว 2"]]
    missing = [["1", "=SUM(A1:A9)", "องค์การบริหารส่วนตำบล", "ก 1/ว 2", "หน่วย <ก> & {{ x }}",
                "30 ธ.ค. 2567 23.59 น.", "ยังไม่ลงรับ"]]
    paragraphs, tables = read_docx(docx)
    assert paragraphs[:5] == ["รายงานสถานะการรับและส่งต่อหนังสือ", "ที่ มท 1/ว 7", "กรม & <ข>", f"เรื่อง {HOSTILE}",
                              "ข้อมูล ณ วันที่ 30 ธ.ค. 2567 23.59 น."]
    def short(rows, col):
        return [[*r[:col], r[col].replace("องค์การบริหารส่วนตำบล", "อบต."), *r[col + 1:]] for r in rows]

    assert tables[1][1:] == short(missing, 2) and tables[2][1:] == short(units, 3)
    # Unknown levels after the known ones; the summary's figures in Arabic digits.
    assert tables[0][1:] == [["องค์การบริหารส่วนตำบล", "1", "0", "0", "1"], ["mystery_level", "1", "1", "1", "0"],
                             ["รวม", "2", "1", "1", "1"]]
    sheets = read_xlsx(xlsx)
    assert sheets["รายหน่วยงาน"][2] == units and sheets["ยังไม่ครบ"][2] == missing
    assert sheets["สรุป"][0][3] == f"เรื่อง {HOSTILE}"
    ws = openpyxl.load_workbook(xlsx)["รายหน่วยงาน"]
    assert ws["C8"].value == "=SUM(A1:A9)" and ws["C8"].data_type == "s"  # text, not a formula
    with pytest.raises(ValueError, match="digits"):
        status_report_xlsx(status, tmp_path / "x.xlsx", digits="roman")


def test_a_letter_sent_to_no_one_makes_a_report_with_empty_tables(tmp_path, settings):
    status = LetterStatus(3, "มท 1/ว 3", "กรม", "ว่าง", [])
    paragraphs, tables = read_docx(write_status_report(status, tmp_path, settings, at=AS_OF)[0])
    assert "ครบทุกหน่วยงานแล้ว" in paragraphs and "หน่วยงานที่ยังไม่ครบ ๐ หน่วยงาน" in paragraphs
    assert tables == [[list(SUMMARY_HEADERS), ["รวม", "๐", "๐", "๐", "๐"]], [list(UNIT_HEADERS)]]
    sheets = read_xlsx(tmp_path / "status-3.xlsx")
    assert [len(rows) for _, _, rows in sheets.values()] == [1, 0, 0]


def national(provinces: int, districts: int, locals_: int) -> LetterStatus:
    """A chain every unit of which has received and carried on, down to อบต. that have not received."""
    sent = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
    return LetterStatus(1, "มท 0820.2/ว 1", "กรมส่งเสริมการปกครองท้องถิ่น", "ทดสอบ", [
        Node(f"prov.{p}", f"สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด{p}", "province_office", "มท 0820.2/ว 1", sent,
             sent, f"2567/{p + 1}", f"จ {p}/ว 1", 1, [
                 Node(f"amphoe.{p}.{d}", f"ที่ว่าการอำเภอ{p}.{d}", "district_office", f"จ {p}/ว 1", sent, sent,
                      f"2567/{d + 1}", f"อ {p}.{d}/ว 1", 2, [
                          Node(f"sao.{p}.{d}.{k}", f"องค์การบริหารส่วนตำบล{p}.{d}.{k}", "sao", f"อ {p}.{d}/ว 1", sent,
                               None, None, None, None) for k in range(locals_)])
                 for d in range(districts)])
        for p in range(provinces)])


def test_a_national_chain_prints_its_top_levels_in_the_docx_and_every_unit_in_the_xlsx(tmp_path, settings):
    status = national(30, 10, 7)  # 30 + 300 + 2,100 units, the 2,100 อบต. missing
    assert DOCX_MAX_ROWS == 2000
    docx, xlsx = write_status_report(status, tmp_path, settings, at=AS_OF)
    paragraphs, (_, missing, units) = read_docx(docx)
    assert len(units) == 1 + 330 and {r[3] for r in units[1:]} == {"สถจ.", "อำเภอ"}
    assert [r[2] for r in units[1:]] == [th(n.unit_name) for n in status.nodes() if n.level != "sao"]
    assert f"แสดงเฉพาะหน่วยงานชั้นที่ ๑–๒ (๓๓๐ จาก ๒,๔๓๐ หน่วยงาน) {SEE_XLSX}" in paragraphs
    assert len(missing) == 1 + 2000 and f"แสดง ๒,๐๐๐ หน่วยงานแรก (จาก ๒,๑๐๐ หน่วยงาน) {SEE_XLSX}" in paragraphs
    sheets = read_xlsx(xlsx)
    assert [r[2] for r in sheets["รายหน่วยงาน"][2]] == [th(n.unit_name) for n in status.nodes()]
    assert len(sheets["ยังไม่ครบ"][2]) == 2100 and sheets["ยังไม่ครบ"][2][-1][0] == "๒,๑๐๐"
    assert sheets["สรุป"][2][-1] == ["รวม", "๒,๔๓๐", "๓๓๐", "๓๓๐", "๒,๑๐๐"]


def test_the_template_builder_makes_the_shipped_status_template(tmp_path):
    spec = importlib.util.spec_from_file_location("build_report_templates",
                                                  ROOT / "scripts" / "build_report_templates.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    written = builder.main(["--out", str(tmp_path)])
    names = ["register.docx", "status.docx", "programme.docx"]
    assert written == [tmp_path / name for name in names]
    for name in names:  # the shipped templates are what the builder makes
        fresh, shipped = Document(str(tmp_path / name)), Document(str(ROOT / "templates" / "reports" / name))
        assert fresh.element.xml == shipped.element.xml


# --- CLI ------------------------------------------------------------------------------------------------


def run_status(args: list[str], db, settings):
    from saraban.faces.cli.app import app

    env = {"SARABAN_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
           "SARABAN_DATA_DIR": str(settings.data_dir)}
    return CliRunner().invoke(app, ["status", *args], env=env)


def test_cli_status_writes_the_report(chain, db, settings, tmp_path):
    out = tmp_path / "report"
    result = run_status([str(chain.letter_id), "--report", str(out)], db, settings)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(out / f"status-{chain.letter_id}.docx"),
                                     str(out / f"status-{chain.letter_id}.xlsx")]
    sheets = read_xlsx(out / f"status-{chain.letter_id}.xlsx")
    assert sheets["สรุป"][2] == expected_summary(chain)
    assert sheets["รายหน่วยงาน"][2] == expected_units(chain)
    _, tables = read_docx(out / f"status-{chain.letter_id}.docx")
    assert tables[2][1:] == expected_units(chain, short=True)
    by_ref = run_status(["มท 0820.2/ว 1", "--report", str(tmp_path / "by-ref")], db, settings)
    assert by_ref.exit_code == 0, by_ref.output
    assert (tmp_path / "by-ref" / f"status-{chain.letter_id}.xlsx").exists()


def test_cli_status_report_refusals(chain, db, settings, tmp_path):
    both = run_status([str(chain.letter_id), "--json", "--report", str(tmp_path / "r")], db, settings)
    assert both.exit_code == 2 and "--json" in both.output
    nothing = run_status(["มท 0820.2/ว 99", "--report", str(tmp_path / "r")], db, settings)
    assert nothing.exit_code == 2 and "no letter" in nothing.output
    assert not (tmp_path / "r").exists()
