"""Letters of one to four pages, read back from the PDF: page numbers, carry-on words, the signature
block whole, the .docx with the same pages; and Thai lines that never break inside a word."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from docx import Document

from saraban.kernel.settings import load_settings
from saraban.letters.batch import render_letters
from saraban.letters.paper.pages import read_pages, squeeze
from saraban.letters.paper.readback import body_paragraphs, measure
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import parse_spec
from thai_text import to_thai_digits

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "01-project-letter.yaml"
PARAGRAPHS = [
    "ด้วยกรมส่งเสริมคุณภาพสิ่งแวดล้อมได้ดำเนินโครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ ประจำปีงบประมาณ พ.ศ. 2567 "
    "โดยมีวัตถุประสงค์เพื่อส่งเสริมให้องค์กรปกครองส่วนท้องถิ่นในพื้นที่อุตสาหกรรมพัฒนาเมืองให้น่าอยู่อย่างยั่งยืน "
    "รายละเอียดปรากฏตามสิ่งที่ส่งมาพร้อมนี้",
    "จึงขอความร่วมมือหน่วยงานของท่านแจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบ และพิจารณามอบหมายผู้รับผิดชอบ "
    "จัดทำรายงานการประเมินตนเองส่งให้สำนักงานสิ่งแวดล้อมภาคภายในวันที่ 29 กุมภาพันธ์ 2567 ตามหนังสือที่ ทส 0903/ว 12",
    "ทั้งนี้ คณะทำงานขับเคลื่อนเมืองอุตสาหกรรมเชิงนิเวศตำบลบ้านกลาง จะจัดประชุมครั้งที่ 1/2567 ในวันพุธที่ 20 มีนาคม 2567 "
    "เวลา 09.30 น. ณ ห้องประชุมศาลากลางจังหวัดลำพูน ชั้น 3 เพื่อพิจารณาเกณฑ์พื้นฐาน 12 ข้อ และมอบหมายหน่วยงานรับผิดชอบ "
    "โดยมีนาย สมชาย รักษ์ถิ่น เป็นผู้ประสานงาน (สำนักงานสิ่งแวดล้อมภาคที่ 1)",
]
CLOSING = "ขอแสดงความนับถือ"


def _spec(paragraphs: int) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["digits"] = "thai"
    data["body"] = [PARAGRAPHS[i % len(PARAGRAPHS)] for i in range(paragraphs)]
    data["body"].append("จึงเรียนมาเพื่อโปรดทราบ และพิจารณาดำเนินการต่อไป")
    return data


@pytest.fixture(scope="module")
def letters(tmp_path_factory, data_dir):
    """Letters of 1 to 4 pages (and more paragraphs between, so the breaks fall in different places)."""
    settings = load_settings()
    out = tmp_path_factory.mktemp("pages")
    sizes = [2, 8, 13, 18, 24, 27]
    specs = [(f"p{n:02d}", parse_spec(_spec(n))) for n in sizes]
    originals = {name: body_paragraphs(renderer_for(settings).render(spec)) for name, spec in specs}
    done = render_letters(specs, out, settings, pdf=True)
    return [(r, read_pages(r.pdf), originals[r.name]) for r in done]


def _top(page, n: int = 1):
    return sorted(page.lines, key=lambda line: line.y_min)[:n]


def _bottom(page):
    return max(page.lines, key=lambda line: line.y_max)


def test_one_to_four_pages(letters):
    counts = {len(pages) for _, pages, _ in letters}
    assert {1, 2, 3, 4} <= counts, counts


def test_a_letter_of_pages_is_one_pdf_section(letters):
    """Page numbers drawn on the printed PDF leave it whole (one cross-reference table): its recipients'
    copies are spliced from it (saraban.letters.paper.copies), not parsed again each."""
    for r, pages, _ in letters:
        data = r.pdf.read_bytes()
        assert data.count(b"startxref") == 1 and b"/Prev" not in data, (r.name, len(pages))


def test_page_numbers_from_page_two(letters):
    for _, pages, _ in letters:
        assert not any(squeeze(line.text).startswith("-") for line in _top(pages[0], 2))
        for k, page in enumerate(pages[1:], 2):
            assert _top(page)[0].text.replace(" ", "") == f"-{to_thai_digits(k)}-"
            assert _top(page)[0].y_max < 45  # in the header, above the text area (1.5 cm)


def test_carry_on_words_are_the_next_pages_first_words(letters):
    for r, pages, _ in letters:
        for k, page in enumerate(pages[:-1]):
            carry = _bottom(page).text.strip()
            assert carry.startswith("/") and carry.endswith("..."), (r.name, k, carry)
            assert _bottom(page).x_max > page.width - 60  # at the right margin
            following = sorted(pages[k + 1].lines, key=lambda line: line.y_min)[1]  # after the page number
            assert squeeze(following.text).startswith(squeeze(carry[1:-3])), (r.name, carry, following.text)
        assert not _bottom(pages[-1]).text.startswith("/")


def test_signature_block_whole_and_never_alone(letters):
    for r, pages, _ in letters:
        holding = [k for k, page in enumerate(pages) if any(line.text.strip() == CLOSING for line in page.lines)]
        assert len(holding) == 1, r.name
        page = pages[holding[0]]
        texts = [line.text for line in sorted(page.lines, key=lambda line: line.y_min)]
        closing_at = next(i for i, t in enumerate(texts) if t.strip() == CLOSING)
        after = " ".join(texts[closing_at:])
        assert "(นายสมชาย รักษ์ถิ่น)" in after and "ผู้อำนวยการโครงการ" in after
        assert "สำนักงานโครงการ" in after and "โทร." in after  # the owner block with it
        assert "จึงเรียนมาเพื่อโปรดทราบ" in " ".join(texts[:closing_at])  # never the signature alone


def test_docx_has_the_same_pages(letters):
    for r, pages, _ in letters:
        doc = Document(io.BytesIO(r.docx.read_bytes()))
        assert len(doc.sections) == len(pages), r.name
        for k, section in enumerate(doc.sections, 1):
            header = " ".join(p.text for p in section.header.paragraphs).strip()
            footer = " ".join(p.text for p in section.footer.paragraphs).strip()
            assert header == ("" if k == 1 else f"- {to_thai_digits(k)} -")
            if k < len(pages):
                assert footer == _bottom(pages[k - 1]).text.strip()
            else:
                assert footer == ""


def test_no_line_breaks_inside_a_word_and_no_ragged_lines(letters):
    for r, _, paragraphs in letters:
        figures = measure(r.pdf, paragraphs)
        assert figures.lines >= 3 * len(paragraphs) // 2, (r.name, figures)
        assert figures.broken == 0, (r.name, figures)
        assert figures.ragged == 0, (r.name, figures)
        assert figures.brackets == 0, (r.name, figures)
