"""The field examples rebuilt as specs (examples/0[4-7]*.yaml) and the richer parts they use: the meeting block,
meeting numbers, numbered and bulleted lists with hanging indents, tables, the coordinator, the acting-for
lines, and an emblem wider than it is tall. Each is read back from the .docx as Word holds it (texts,
indents, tab stops, cells), and one meeting letter from its PDF."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Twips
from PIL import Image
from typer.testing import CliRunner

from saraban.faces.cli.app import app
from saraban.letters.batch import render_letters
from saraban.letters.render import EMBLEM_CELL, render_docx_bytes
from saraban.letters.shapes import LetterRenderer
from saraban.letters.spec import SpecError, parse_spec
from tests.conftest import EXAMPLES, example_dict
from tests.test_letters_docx import lines_of

NEW_EXAMPLES = ("04-deqp-programme-invitation", "05-lamphun-working-group-meeting", "06-onep-online-meeting",
                "07-long-letter")
ALL_EXAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


def doc_of(name_or_spec: str | dict, settings) -> Document:
    spec = example_dict(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    return Document(io.BytesIO(render_docx_bytes(parse_spec(spec), settings)))


def paragraph(doc: Document, starts: str):
    found = [p for p in doc.paragraphs if p.text.startswith(starts)]
    assert found, f"no paragraph starts with {starts!r}"
    return found[0]


def test_letter_check_passes_for_every_example():
    result = CliRunner().invoke(app, ["letter", "check", *(str(EXAMPLES / f"{n}.yaml") for n in ALL_EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(ALL_EXAMPLES) >= 7


@pytest.mark.parametrize("name", NEW_EXAMPLES)
def test_compiled_shapes_give_the_same_bytes_for_lists_tables_and_meetings(settings, name):
    """The fast renderer fills lists, tables and the meeting block exactly as docxtpl writes them."""
    renderer = LetterRenderer(settings)
    spec = example_dict(name)
    first = parse_spec(spec)
    assert renderer.render(first) == render_docx_bytes(first, settings)
    spec["subject"] += " (ฉบับแก้ไข)"  # the same shape, other texts
    spec["body"][0] = "ย่อหน้าแรก & <อื่น> {{ x }}"
    second = parse_spec(spec)
    assert renderer.render(second) == render_docx_bytes(second, settings)


def test_lamphun_meeting_block_number_agenda_and_acting_lines(settings):
    """Meeting ครั้งที่ ๑/๒๕๖๗ after the paragraph that introduces it; the agenda numbered ๑. ๒. with the text
    wrapping under the text; ปฏิบัติราชการแทน / ผู้ว่าราชการจังหวัดลำพูน under the position."""
    lines = lines_of(example_dict("05-lamphun-working-group-meeting"), settings)
    i = next(n for n, line in enumerate(lines) if line.startswith("ด้วยจังหวัดลำพูนกำหนดประชุม"))
    assert lines[i + 1:i + 5] == [
        "ครั้งที่\t๑/๒๕๖๗",
        "วันที่\tวันพฤหัสบดีที่ ๑๘ มกราคม ๒๕๖๗",
        "เวลา\t๐๙.๓๐ – ๑๒.๐๐ น.",
        "สถานที่\tห้องประชุมจามเทวี ชั้น ๒ ศาลากลางจังหวัดลำพูน",
    ]
    assert lines[i + 5] == "โดยมีระเบียบวาระการประชุม ดังนี้"
    assert lines[i + 6].startswith("๑.\tเรื่องที่ประธานแจ้ง") and lines[i + 9] == "๔.\tเรื่องอื่น ๆ"
    assert "ทบทวนเกณฑ์พื้นฐานการพัฒนาเมืองอุตสาหกรรมเชิงนิเวศ ๑๒ ข้อ" in lines[i + 7]
    j = lines.index("(นายตัวอย่าง รักษ์ลำพูน)")
    assert lines[j + 1:j + 4] == ["รองผู้ว่าราชการจังหวัด", "ปฏิบัติราชการแทน", "ผู้ว่าราชการจังหวัดลำพูน"]
    assert "ผู้ประสานงาน: นายตัวอย่าง ประสานงาน โทร. ๐ ๕๓๕๑ ๑๒๓๔ ต่อ ๑๒ มือถือ ๐๘ ๙๘๗๖ ๕๔๓๒" in lines


def test_meeting_block_labels_are_aligned_and_list_items_hang(settings):
    doc = doc_of("05-lamphun-working-group-meeting", settings)
    for label in ("ครั้งที่", "วันที่", "เวลา", "สถานที่"):
        fmt = paragraph(doc, f"{label}\t").paragraph_format
        # The label at the paragraphs' indent (2.5 cm), the value at 5.5 cm on every line it wraps to.
        assert abs(fmt.left_indent - Cm(5.5)) < Cm(0.01) and abs(fmt.first_line_indent + Cm(3)) < Cm(0.01)
        assert [abs(t.position - Cm(5.5)) < Cm(0.01) for t in fmt.tab_stops] == [True]
        assert fmt.keep_with_next  # the block is not split across pages
    item = paragraph(doc, "๒.\t").paragraph_format
    assert abs(item.left_indent - Cm(3.5)) < Cm(0.01) and abs(item.first_line_indent + Cm(1)) < Cm(0.01)
    assert abs(item.tab_stops[0].position - Cm(3.5)) < Cm(0.01)
    intro = paragraph(doc, "ด้วยจังหวัดลำพูน").paragraph_format
    assert abs(intro.first_line_indent - Cm(2.5)) < Cm(0.01)  # a paragraph is still a paragraph


def test_online_meeting_keeps_link_id_and_passcode_as_typed_and_prints_a_qr(settings):
    spec = example_dict("06-onep-online-meeting")
    lines = lines_of(spec, settings)
    i = lines.index("วันที่\tวันพฤหัสบดีที่ ๔ มิถุนายน ๒๕๖๓")  # after the first paragraph: no place given
    assert lines[i - 1].endswith("เตรียมความพร้อมในการสมัคร ดังนี้")
    assert lines[i + 1:i + 4] == ["เวลา\t๐๘.๓๐ น. เป็นต้นไป",
                                  "ช่องทางออนไลน์\tZoom Meeting https://zoom.us/j/91234567890",
                                  "Meeting ID 912 345 6789   Passcode 2563"]
    assert lines[-1] == "QR Code สำหรับเข้าร่วมประชุมออนไลน์"
    assert len(doc_of(spec, settings).inline_shapes) == 2  # the emblem and the meeting's QR code


def test_bracketed_and_bulleted_lists(settings):
    spec = example_dict("04-deqp-programme-invitation")
    lines = lines_of(spec, settings)
    bullets = [line for line in lines if line.startswith("•")]
    assert bullets == ["•\tเมืองอยู่ดี", "•\tคนมีสุข", "•\tสิ่งแวดล้อมยั่งยืน", "•\tเมืองแห่งการเรียนรู้และการบริหารจัดการที่ดี"]
    spec["body"][1] = {"list": ["ข้อหนึ่ง", "ข้อสอง"], "style": "bracketed"}
    spec["digits"] = "arabic"
    assert {"(1)\tข้อหนึ่ง", "(2)\tข้อสอง"} <= set(lines_of(spec, settings))


def test_table_of_award_levels_is_bordered_with_a_header_row(settings):
    doc = doc_of("04-deqp-programme-invitation", settings)
    tables = [t for t in doc.tables if t.rows[0].cells[0].text == "ระดับรางวัล"]
    assert len(tables) == 1
    table = tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["ระดับรางวัล", "คะแนนรวม (ร้อยละ)", "สิ่งที่ได้รับ"],
        ["ระดับส่งเสริม", "๕๐ – ๕๙", "เกียรติบัตร"],
        ["ระดับทองแดง", "๖๐ – ๖๙", "โล่รางวัล"],
        ["ระดับเงิน", "๗๐ – ๗๙", "โล่รางวัล"],
        ["ระดับทอง", "๘๐ – ๘๙", "โล่รางวัล"],
        ["ระดับแพลทินัม", "๙๐ ขึ้นไป", "โล่รางวัล"],
    ]
    assert all(r.bold for r in table.rows[0].cells[1].paragraphs[0].runs)
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on a next page
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"single"}
    grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert len(grid) == 3 and abs(Twips(sum(grid)).cm - 16) < 0.01  # the text width, shared by content
    for row in table.rows:
        assert [int(c._tc.tcPr.tcW.get(qn("w:w"))) for c in row.cells] == grid


def test_long_letter_has_its_list_and_table(settings):
    doc = doc_of("07-long-letter", settings)
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "ลำดับ")
    assert len(table.rows) == 7 and table.rows[6].cells[2].text == "ภายในวันที่ ๑๕ มกราคม ๒๕๖๘"
    grid = [Twips(int(c.get(qn("w:w")))).cm for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert grid[0] < grid[1] and grid[0] > 1.2  # the numbers' column is narrow, but ลำดับ fits
    assert sum(1 for p in doc.paragraphs if p.text[:2] in {f"{d}." for d in "๑๒๓๔๕๖"}) == 6


def test_coordinator_and_the_old_contact_text_both_print(settings):
    spec = example_dict("01-project-letter")
    spec["owner"]["coordinator"] = {"name": "นายสมชาย ใจดี", "phone": "0 2241 9000 ต่อ 2112",
                                    "mobile": "081 234 5678", "email": "somchai@example.org"}
    lines = lines_of(spec, settings)
    assert lines[-3:-1] == ["ผู้ประสานงาน นางสาวสมศรี ประสานงาน (ผู้ประสานงานโครงการ)",
                            "ผู้ประสานงาน: นายสมชาย ใจดี โทร. 0 2241 9000 ต่อ 2112 มือถือ 081 234 5678 "
                            "อีเมล somchai@example.org"]


def test_memo_signer_acts_for_another(settings):
    spec = example_dict("02-department-memo")
    spec["signer"]["acting"] = "รักษาราชการแทน\nผู้อำนวยการกองสิ่งแวดล้อมท้องถิ่น"  # one text of lines is fine
    lines = lines_of(spec, settings)
    assert lines[-2:] == ["รักษาราชการแทน", "ผู้อำนวยการกองสิ่งแวดล้อมท้องถิ่น"]


def test_the_new_parts_leave_old_specs_hashes_alone():
    spec = example_dict("01-project-letter")
    plain = parse_spec(spec).hash()
    spec["owner"]["coordinator"] = None
    spec["signer"]["acting"] = []
    spec["meeting"] = None
    assert parse_spec(spec).hash() == plain
    spec["signer"]["acting"] = ["ปฏิบัติราชการแทน"]
    assert parse_spec(spec).hash() != plain


@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.6])
def test_a_wide_emblem_is_narrowed_to_its_cell_never_clipped(tmp_path, monkeypatch, ratio):
    """3 cm high (1.5 cm on a memo) unless that would make it wider than its cell less the cell's margins:
    then as wide as the cell allows, the height following (never squeezed)."""
    from saraban.kernel.settings import load_settings

    emblem = tmp_path / "emblem.png"
    Image.new("RGB", (int(300 * ratio), 300), "white").save(emblem)
    monkeypatch.setenv("SARABAN_EMBLEM", str(emblem))
    settings = load_settings()
    for name, height in (("03-department-circular", Cm(3)), ("02-department-memo", Cm(1.5))):
        doc = doc_of(name, settings)
        shape = doc.inline_shapes[0]
        cell = next(c for t in doc.tables for c in t._cells if c._tc.xpath(".//pic:pic"))
        assert abs(cell.width - EMBLEM_CELL[parse_spec(example_dict(name)).kind]) < Cm(0.01)  # the template's
        room = cell.width - Cm(0.38)  # less 0.19 cm a side
        assert shape.width <= room, f"{name}: the emblem is wider than its cell and would be clipped"
        assert abs(shape.width / shape.height - ratio) < 0.01
        assert abs(shape.height - min(height, (cell.width - Cm(0.4)) / ratio)) < Cm(0.01)
    if ratio == 2.0:
        assert shape.height < Cm(1.5)


@pytest.mark.parametrize(("change", "path", "expected"), [
    ({"body": ["ก", {"table": {"header": ["ก", "ข"], "rows": [["๑"]]}}]}, "body[1].table",
     "rows[0] has 1 cells; the header has 2"),
    ({"body": ["ก", {"list": ["ข"], "styel": "bullet"}]}, "body[1].styel", "did you mean 'style'"),
    ({"body": ["ก", {"list": ["ข"], "style": "roman"}]}, "body[1].style", "expected 'numbered'"),
    ({"body": ["ก", {"list": []}]}, "body[1].list", "must not be empty"),
    ({"body": ["ก", {"meeting": True}]}, "meeting", "there is no meeting"),
    ({"meeting": {"date": "2024-01-18", "time": "9 โมง", "place": "ห้อง ๑"}}, "meeting.time",
     "expected a time such as 08.30"),
    ({"meeting": {"date": "2024-01-18", "time": "12.00-09.00", "place": "ห้อง ๑"}}, "meeting.time",
     "expected a time"),
    ({"meeting": {"date": "2024-01-18", "time": "09.00", "place": "ห้อง ๑", "number": "1/2566"}}, "meeting",
     "the year in the number (2566) is not the meeting's B.E. year 2567"),
    ({"meeting": {"date": "2024-01-18", "time": "09.00", "place": "ห้อง ๑", "number": "ครั้งแรก"}},
     "meeting.number", "expected the meeting's number and B.E. year such as 1/2567"),
    ({"meeting": {"date": "2024-01-18", "time": "09.00"}}, "meeting", "say where"),
    ({"meeting": {"date": "2024-01-18", "time": "09.00", "online": {"url": "zoom 912"}}}, "meeting.online.url",
     "expected a link starting with https://"),
    ({"owner": {"unit": "กอง", "coordinator": {"phone": "0 2241 9000"}}}, "owner.coordinator.name", "missing"),
])
def test_bad_rich_parts_get_one_clear_message(change, path, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(example_dict("01-project-letter") | change)
    problems = caught.value.problems
    assert len(problems) == 1 and problems[0].startswith(f"{path}: ") and expected in problems[0], problems


def test_meeting_numbered_by_fiscal_year_and_typed_in_thai_digits():
    spec = parse_spec(example_dict("01-project-letter") | {"meeting": {
        "date": "2023-11-20", "time": "๑๓.๓๐ น.", "place": "ห้อง ๑", "number": "๒/๒๕๖๗"}})
    assert (spec.meeting.number, spec.meeting.time) == ("2/2567", "13.30 น.")


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_meeting_letters_in_the_pdf(settings, tmp_path):
    """LibreOffice lays the meeting block out with its labels beside their values, the agenda and the
    acting-for lines in place, and the online meeting's QR code reads back as its link."""
    specs = [(n, parse_spec(example_dict(n))) for n in ("05-lamphun-working-group-meeting", "06-onep-online-meeting")]
    lamphun, onep = (r.pdf for r in render_letters(specs, tmp_path, settings, pdf=True))
    text = " ".join(pdf_text(lamphun).split())
    for expected in ("ครั้งที่ ๑/๒๕๖๗ วันที่ วันพฤหัสบดีที่ ๑๘ มกราคม ๒๕๖๗ เวลา ๐๙.๓๐ – ๑๒.๐๐ น. สถานที่",
                     "๑. เรื่องที่ประธานแจ้งให้ที่ประชุมทราบ", "๔. เรื่องอื่น ๆ",
                     "รองผู้ว่าราชการจังหวัด ปฏิบัติราชการแทน ผู้ว่าราชการจังหวัดลำพูน"):
        assert expected in text, expected
    text = " ".join(pdf_text(onep).split())
    assert "ช่องทางออนไลน์ Zoom Meeting https://zoom.us/j/91234567890 Meeting ID 912 345 6789 Passcode 2563" in text
    pages = tmp_path / "pages"
    pages.mkdir()
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(onep), str(pages / "p")], check=True)
    found = {b.text for page in pages.glob("*.png") for b in zxingcpp.read_barcodes(Image.open(page))}
    assert "https://zoom.us/j/91234567890" in found


def test_hostile_text_in_lists_tables_and_the_meeting_prints_as_typed(settings):
    from tests.test_letters_docx import HOSTILE

    spec = example_dict("05-lamphun-working-group-meeting")
    spec["body"][3] = {"list": [HOSTILE]}
    spec["body"].append({"table": {"header": [HOSTILE], "rows": [[HOSTILE]]}})
    spec["meeting"]["place"] = HOSTILE
    spec["digits"] = "arabic"  # HOSTILE's digits as typed
    parsed = parse_spec(spec)
    doc = Document(io.BytesIO(LetterRenderer(settings).render(parsed)))
    texts = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for c in t._cells]
    assert texts.count(f"1.\t{HOSTILE}") == 1 and texts.count(f"สถานที่\t{HOSTILE}") == 1
    assert texts.count(HOSTILE) == 2  # the header cell and the row's cell
