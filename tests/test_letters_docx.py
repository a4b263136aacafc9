"""The .docx a clerk opens: every part of each type of letter, in order, with exact Thai text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from saraban.letters.batch import render_letters
from saraban.letters.render import render_docx_bytes
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict


def _p_text(p) -> str:
    out = []
    for el in p.iter(qn("w:t"), qn("w:tab"), qn("w:br")):
        out.append({qn("w:tab"): "\t", qn("w:br"): "\n"}.get(el.tag, el.text or ""))
    return "".join(out)


def render(spec_dict: dict, settings) -> Document:
    return Document(io.BytesIO(render_docx_bytes(parse_spec(spec_dict), settings)))


def lines_of(spec_dict: dict, settings) -> list[str]:
    doc = render(spec_dict, settings)
    lines = []
    for block in doc.element.body.iterchildren():
        if block.tag in (qn("w:p"), qn("w:tbl")):
            paragraphs = [block] if block.tag == qn("w:p") else list(block.iter(qn("w:p")))
            lines += [_p_text(p) for p in paragraphs]
    return [part.strip() for line in lines for part in line.split("\n") if part.strip()]


CIRCULAR_BODY_1 = (
    "ด้วยกรมส่งเสริมการปกครองท้องถิ่นได้รับแจ้งจากโครงการท้องถิ่นนำร่องลดมลพิษและสร้างสุขภาวะที่ดีในพื้นที่"
    "อุตสาหกรรม ซึ่งได้รับการสนับสนุนจากสำนักงานกองทุนสนับสนุนการสร้างเสริมสุขภาพ (สสส.) ว่า "
    "โครงการได้ดำเนินงานร่วมกับองค์กรปกครองส่วนท้องถิ่นนำร่องในพื้นที่อุตสาหกรรมเป็นระยะเวลา ๑๘ เดือน "
    "ภายใต้แนวคิด ๓ ประการ คือ (๑) ท้องถิ่นเป็นกลไกหลักในการลดมลพิษ (๒) การมีส่วนร่วมของภาคประชาชน "
    "ภาคอุตสาหกรรม และหน่วยงานที่เกี่ยวข้อง และ (๓) การพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน "
)


def test_stamped_circular_has_every_part_in_order(settings):
    """หนังสือประทับตรา (แบบที่ ๓): ที่ · ถึง · ข้อความ · ส่วนราชการที่ส่ง · วันที่ · เจ้าของเรื่อง · โทร · QR."""
    lines = lines_of(example_dict("03-department-circular"), settings)
    assert lines[0] == "ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔"
    assert lines[1] == "ถึง\tสำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด ทุกจังหวัด"
    assert lines[2].startswith(CIRCULAR_BODY_1)
    assert lines[3].startswith("กรมส่งเสริมการปกครองท้องถิ่นพิจารณาแล้ว")
    assert lines[3].endswith("รายละเอียดปรากฏตาม QR Code ที่ปรากฏท้ายหนังสือฉบับนี้")
    assert lines[4:] == [
        "กรมส่งเสริมการปกครองท้องถิ่น",
        "๒๙ มีนาคม ๒๕๖๗",
        "กองสิ่งแวดล้อมท้องถิ่น",
        "กลุ่มงานสิ่งแวดล้อม",
        "โทร. ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒",
        "ไปรษณีย์อิเล็กทรอนิกส์ saraban@dla.go.th",
        "คู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน",
    ]
    text = "\n".join(lines)
    for absent in ("เรื่อง", "เรียน", "ขอแสดงความนับถือ"):
        assert absent not in text, f"a stamped letter has no {absent}"
    # Thai digits throughout, except in the e-mail address.
    assert not any(c.isdigit() and c.isascii() for c in text)


def test_external_letter_has_every_part_in_order(settings):
    """หนังสือภายนอก (แบบที่ ๑), Arabic digits as the private sender wrote them."""
    lines = lines_of(example_dict("01-project-letter"), settings)
    assert lines[:8] == [
        "ที่ ทลส.001/2567",
        "โครงการท้องถิ่นนำร่องลดมลพิษและสร้างสุขภาวะที่ดีในพื้นที่อุตสาหกรรม",
        "กรุงเทพมหานคร 10400",
        "5 มีนาคม 2567",
        "เรื่อง\tส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน "
        "และแผนปฏิบัติการลดมลพิษและนโยบายลดความเสี่ยงจากมลพิษฯ",
        "เรียน อธิบดีกรมส่งเสริมการปกครองท้องถิ่น",
        "สิ่งที่ส่งมาด้วย\tคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน (ดาวน์โหลดตาม QR Code ท้ายหนังสือ)",
        lines[7],
    ]
    assert lines[7].startswith("ด้วยโครงการท้องถิ่นนำร่อง") and "18 เดือน" in lines[7]
    assert lines[8].startswith("บัดนี้ โครงการได้จัดทำคู่มือ")
    assert lines[9:] == [
        "จึงเรียนมาเพื่อโปรดทราบ",
        "ขอแสดงความนับถือ",
        "(นายสมชาย รักษ์ถิ่น)",
        "ผู้อำนวยการโครงการ",
        "สำนักงานโครงการ",
        "โทร. 08 1234 5678",
        "ไปรษณีย์อิเล็กทรอนิกส์ greenlocal@example.org",
        "ผู้ประสานงาน นางสาวสมศรี ประสานงาน (ผู้ประสานงานโครงการ)",
        "คู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน",
    ]
    assert not any("\u0e50" <= c <= "\u0e59" for c in "".join(lines)), "no Thai digits in an Arabic letter"


def test_memo_has_every_part_in_order(settings):
    """บันทึกข้อความ (แบบที่ ๒): heading · ส่วนราชการ (+ โทร) · ที่ / วันที่ · เรื่อง · เรียน · ข้อความ · ลงชื่อ."""
    lines = lines_of(example_dict("02-department-memo"), settings)
    assert lines[:5] == [
        "บันทึกข้อความ",
        "ส่วนราชการ กองสิ่งแวดล้อมท้องถิ่น กลุ่มงานสิ่งแวดล้อม โทร. ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒",
        "ที่ มท ๐๘๒๐.๒/๑๑๔๐\tวันที่ ๒๗ มีนาคม ๒๕๖๗",
        "เรื่อง\tขอความเห็นชอบแจ้งประชาสัมพันธ์คู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน",
        "เรียน อธิบดีกรมส่งเสริมการปกครองท้องถิ่น",
    ]
    assert lines[5].startswith("ต้นเรื่อง โครงการท้องถิ่นนำร่อง")
    assert "ที่ ทลส.๐๐๑/๒๕๖๗ ลงวันที่ ๕ มีนาคม ๒๕๖๗" in lines[5]
    assert lines[-3:] == ["จึงเรียนมาเพื่อโปรดพิจารณา หากเห็นชอบ โปรดลงนามในหนังสือที่เสนอมาพร้อมนี้",
                          "(นางสาววิมลรัตน์ ตัวอย่าง)", "ผู้อำนวยการกองสิ่งแวดล้อมท้องถิ่น"]
    assert "ขอแสดงความนับถือ" not in lines


@pytest.mark.parametrize(("name", "height"), [("03-department-circular", 3), ("01-project-letter", 3),
                                              ("02-department-memo", 1.5)])
def test_page_font_and_emblem(settings, name, height):
    """A4, margins 3 / 2 cm, 16 pt TH SarabunIT๙ (Thai size too), emblem 3 cm (1.5 cm on a memo)."""
    doc = render(example_dict(name), settings)
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert (round(section.left_margin.cm, 1), round(section.right_margin.cm, 1)) == (3.0, 2.0)
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    fonts = normal.element.rPr.rFonts
    assert fonts.get(qn("w:cs")) == fonts.get(qn("w:ascii")) == "TH SarabunIT๙"
    assert normal.element.rPr.find(qn("w:szCs")).get(qn("w:val")) == "32"
    emblem = doc.inline_shapes[0]
    assert abs(emblem.height - Cm(height)) < Cm(0.01)


def test_body_paragraphs_indented_2_5_cm(settings):
    doc = render(example_dict("03-department-circular"), settings)
    body = [p for p in doc.paragraphs if p.text.startswith("ด้วยกรม")]
    assert body and abs(body[0].paragraph_format.first_line_indent - Cm(2.5)) < Cm(0.01)


def test_urgency_red_32pt_and_secrecy_top_and_bottom(settings):
    spec = example_dict("03-department-circular") | {"urgency": "ด่วนที่สุด", "secrecy": "ลับ"}
    doc = render(spec, settings)
    urgent = [r for t in doc.tables for c in t._cells for p in c.paragraphs for r in p.runs
              if r.text == "ด่วนที่สุด"]
    assert urgent and urgent[0].font.size == Pt(32) and urgent[0].font.color.rgb == RGBColor(0xC0, 0, 0)
    section = doc.sections[0]
    for part in (section.header, section.footer):
        run = part.paragraphs[0].runs[0]
        assert run.text == "ลับ" and run.font.color.rgb == RGBColor(0xC0, 0, 0)


def test_without_urgency_or_secrecy_nothing_is_printed(settings):
    doc = render(example_dict("03-department-circular"), settings)
    assert doc.sections[0].header.paragraphs[0].text == ""
    assert "ด่วน" not in "".join(c.text for t in doc.tables for c in t._cells)


HOSTILE = 'ราคา < 5 & > 3 "อ้าง" {{ x }} {% if y %}z{% endif %} {#c#} </w:t> ]]>'


@pytest.mark.parametrize("field", ["body", "to", "subject", "owner"])
def test_hostile_text_prints_literally(settings, field):
    """Text is text: markup and template syntax from a spec never break or change the letter."""
    spec = example_dict("01-project-letter")
    if field == "body":
        spec["body"] = [HOSTILE]
    elif field == "owner":
        spec["owner"]["unit"] = HOSTILE
    else:
        spec[field] = HOSTILE
    lines = lines_of(spec, settings)
    assert any(HOSTILE in line for line in lines), lines


def test_several_references_and_enclosures_are_numbered(settings):
    spec = example_dict("03-department-circular") | {
        "references": ["หนังสือกรม ที่ มท 0820.2/ว 100 ลงวันที่ 5 มกราคม 2567"],
        "enclosures": ["คู่มือ จำนวน 1 เล่ม", "แผนปฏิบัติการ จำนวน 1 ชุด"],
    }
    lines = lines_of(spec, settings)
    i = lines.index("อ้างถึง\tหนังสือกรม ที่ มท ๐๘๒๐.๒/ว ๑๐๐ ลงวันที่ ๕ มกราคม ๒๕๖๗")
    assert lines[i + 1:i + 3] == ["สิ่งที่ส่งมาด้วย\t๑. คู่มือ จำนวน ๑ เล่ม", "๒. แผนปฏิบัติการ จำนวน ๑ ชุด"]
    assert lines[i - 1].startswith("ถึง")


def test_without_ref_a_blank_is_left_to_fill_by_hand(settings):
    spec = example_dict("03-department-circular")
    del spec["ref"]
    assert lines_of(spec, settings)[0] == "ที่ ........................."


def test_links_and_emails_keep_arabic_digits_in_a_thai_letter(settings):
    spec = example_dict("03-department-circular")
    spec["body"] = ["ดูได้ที่ https://example.org/a1/2567 หรือ e-mail a1@dla.go.th ภายใน 15 วัน"]
    assert "ดูได้ที่ https://example.org/a1/2567 หรือ e-mail a1@dla.go.th ภายใน ๑๕ วัน" in lines_of(spec, settings)


def test_same_spec_same_bytes_and_the_hash_is_recorded(settings):
    spec = parse_spec(example_dict("03-department-circular"))
    first, second = render_docx_bytes(spec, settings), render_docx_bytes(spec, settings)
    assert first == second
    props = Document(io.BytesIO(first)).core_properties
    assert props.identifier == f"sha256:{spec.hash()}"
    assert spec.hash() in props.keywords
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert z.testzip() is None


def test_office_font_is_configurable(settings, monkeypatch):
    monkeypatch.setenv("SARABAN_FONT", "TH Sarabun New")
    from saraban.kernel.settings import load_settings

    doc = render(example_dict("03-department-circular"), load_settings())
    names = {f.get(qn("w:cs")) for f in doc.element.iter(qn("w:rFonts"))}
    names |= {f.get(qn("w:cs")) for f in doc.styles.element.iter(qn("w:rFonts"))}
    assert "TH Sarabun New" in names and "TH SarabunIT๙" not in names


def test_render_letters_writes_named_files(settings, tmp_path: Path):
    rendered = render_letters([("a", parse_spec(example_dict("02-department-memo")))], tmp_path, settings)
    assert [r.docx for r in rendered] == [tmp_path / "a.docx"] and rendered[0].pdf is None
    assert Document(str(tmp_path / "a.docx")).paragraphs


@pytest.mark.parametrize("name", ["01-project-letter", "02-department-memo", "03-department-circular"])
def test_compiled_shapes_give_the_same_bytes_as_docxtpl(settings, name):
    """The fast renderer (docxtpl once per shape, then text substitution) writes exactly what docxtpl
    writes, hostile text and line breaks included, on the first letter of a shape and on later ones."""
    from saraban.letters.shapes import LetterRenderer

    renderer = LetterRenderer(settings)
    spec = example_dict(name)
    for body in (spec["body"][0], HOSTILE, "บรรทัดแรก\nบรรทัดที่สอง & <ต่อ>", "ข้อความอื่น 123"):
        spec["body"][0] = body
        parsed = parse_spec(spec)
        assert renderer.render(parsed) == render_docx_bytes(parsed, settings)
    spec["body"].append("ย่อหน้าที่เพิ่มขึ้น")  # another shape
    parsed = parse_spec(spec)
    assert renderer.render(parsed) == render_docx_bytes(parsed, settings)
