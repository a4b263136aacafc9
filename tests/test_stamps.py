"""The receipt stamp (ตรารับหนังสือ): real Thai text at the top right of page 1, nothing else touched."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter

from saraban.kernel.clock import BANGKOK
from saraban.kernel.settings import load_settings
from saraban.letters.batch import render_letters
from saraban.letters.paper.page_marks import marked_pdf
from saraban.letters.paper.pages import PageMark
from saraban.letters.paper.pdf_text import saraban_face, shape
from saraban.letters.paper.stamps import (
    BOX_HEIGHT,
    BOX_RIGHT_GAP,
    BOX_TOP_GAP,
    BOX_WIDTH,
    CM,
    StampError,
    stamp_lines,
    stamp_receipt,
)
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict

UNIT = "สำนักงานส่งเสริมการปกครองท้องถิ่น"
RECEIVED = datetime(2024, 3, 26, 10, 30, tzinfo=BANGKOK)
THAI_LINES = [UNIT, "เลขรับ ๑๖๔๙", "วันที่ ๒๖ มี.ค. ๒๕๖๗", "เวลา ๑๐.๓๐ น."]
ARABIC_LINES = [UNIT, "เลขรับ 1649", "วันที่ 26 มี.ค. 2567", "เวลา 10.30 น."]


@pytest.fixture(scope="module")
def letter(data_dir: Path, tmp_path_factory) -> Path:
    """The department's circular (example 03), one page, as LibreOffice makes it."""
    out = tmp_path_factory.mktemp("stamp-letter")
    spec = parse_spec(example_dict("03-department-circular"))
    return render_letters([("circular", spec)], out, load_settings(), pdf=True)[0].pdf


@pytest.fixture(scope="module")
def two_pages(letter: Path, tmp_path_factory) -> Path:
    """A two-page PDF: the circular twice."""
    writer = PdfWriter()
    writer.append(str(letter))
    writer.append(str(letter))
    path = tmp_path_factory.mktemp("two-pages") / "two.pdf"
    writer.write(path)
    return path


def stamp(letter: Path, tmp_path: Path, **kwargs) -> Path:
    args = {"unit_name": UNIT, "number": 1649, "received_at": RECEIVED} | kwargs
    return stamp_receipt(letter, tmp_path / "stamped.pdf", **args)


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def text_lines(path: Path) -> list[str]:
    """pdftotext's lines, stripped, without the empty ones."""
    return [line.strip() for line in pdftotext(path).splitlines() if line.strip()]


def words(path: Path) -> list[tuple[str, float, float, float, float]]:
    """(text, xMin, yMin, xMax, yMax) of every word on page 1, y from the top, in points."""
    html = pdftotext(path, "-bbox", "-f", "1", "-l", "1")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    return [(m[4], float(m[0]), float(m[1]), float(m[2]), float(m[3])) for m in re.findall(pattern, html)]


def render(path: Path, tmp_path: Path, dpi: int = 72) -> Image.Image:
    prefix = tmp_path / f"{path.stem}-{dpi}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(path), str(prefix)],
                   check=True)
    return Image.open(next(tmp_path.glob(f"{prefix.name}*.png"))).convert("RGB")


def raw(obj) -> str:
    """A PDF object as text, references by number (not by the reader holding them)."""
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}: {raw(v)}" for k, v in sorted(obj.items())) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(raw(v) for v in obj) + "]"
    if hasattr(obj, "idnum"):
        return f"{obj.idnum} {obj.generation} R"
    return repr(obj)


def updated_objects(update: bytes) -> list[int]:
    """The object numbers a classic cross-reference section (of an incremental update) lists."""
    table = update[update.index(b"\nxref") + 5:update.index(b"trailer")]
    numbers = []
    for first, count in re.findall(rb"(?m)^(\d+) (\d+)\s*$", table):
        numbers += range(int(first), int(first) + int(count))
    return numbers


def handmade_pdf(rotate: int = 0) -> bytes:
    """One page two levels down a page tree, its media box, resources and rotation inherited, its contents an
    indirect array, a font already named as the stamp's would be."""
    content = b"BT /SarabanStampB 24 Tf 72 600 Td (Hello world) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595.3 841.9] /Rotate %d"
        b" /Resources << /Font << /SarabanStampB 6 0 R >> >> >>" % rotate,
        b"<< /Type /Pages /Parent 2 0 R /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 3 0 R /Contents 5 0 R >>",
        b"[7 0 R]",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f\r\n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n\r\n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stamp_box() -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1) in points from the top left of an A4 page, with the border's width."""
    x1 = 595.3 - BOX_RIGHT_GAP
    return x1 - BOX_WIDTH - 1, BOX_TOP_GAP - 1, x1 + 1, BOX_TOP_GAP + BOX_HEIGHT + 1


# ----------------------------------------------------------------------------------------- the text


def test_stamp_lines_thai_and_arabic_digits():
    assert stamp_lines(UNIT, 1649, RECEIVED) == THAI_LINES
    assert stamp_lines(UNIT, 1649, RECEIVED, "arabic") == ARABIC_LINES
    assert stamp_lines("  กองคลัง \n", 7, datetime(2024, 12, 15, 9, 5, tzinfo=BANGKOK))[1:] == [
        "เลขรับ ๗", "วันที่ ๑๕ ธ.ค. ๒๕๖๗", "เวลา ๐๙.๐๕ น."]
    assert stamp_lines("กองคลัง", 7, datetime(2024, 12, 15, 9, 5, tzinfo=BANGKOK))[0] == "กองคลัง"


@pytest.mark.parametrize("bad", [{"unit_name": "  "}, {"number": 0}, {"number": "12"}, {"digits": "roman"}])
def test_bad_stamp_data_is_refused(bad):
    args = {"unit_name": UNIT, "number": 1, "received_at": RECEIVED} | bad
    with pytest.raises(ValueError):
        stamp_lines(args["unit_name"], args["number"], args["received_at"], args.get("digits", "thai"))


@pytest.mark.parametrize(("digits", "expected"), [("thai", THAI_LINES), ("arabic", ARABIC_LINES)])
def test_the_four_lines_read_back_from_the_pdf(letter, tmp_path, digits, expected):
    stamped = stamp(letter, tmp_path, digits=digits)
    lines = text_lines(stamped)
    # pdftotext reads the stamp first: it is the top of the page.
    assert lines[:4] == expected
    # pypdf reads it too (last: it is drawn after the letter).
    pypdf_lines = PdfReader(stamped).pages[0].extract_text().splitlines()
    assert pypdf_lines[-4:] == expected


def test_stacked_marks_are_shaped_and_read_back(letter, tmp_path, settings):
    """A name with a tone mark above an upper vowel (ที่), ำ, a vowel moved left beside ป (ปี่) and
    a lower vowel under ป (ปุ่น): HarfBuzz's glyphs, and the exact text from both extractors."""
    name = "ที่ทำการปกครองอำเภอบ้านโป่ง ปี่ญี่ปุ่นน้ำ"
    stamped = stamp(letter, tmp_path, unit_name=name)
    assert text_lines(stamped)[0] == name
    assert PdfReader(stamped).pages[0].extract_text().splitlines()[-4] == name
    face = saraban_face(settings, "Bold")
    names = [face.hb_font.glyph_to_string(g.gid) for g in shape(face, "ที่")]
    assert names == ["uni0E17", "uni0E35", "uni0E48.small"]  # the tone mark's form for above a vowel
    pi = shape(face, "ปี่")
    assert face.hb_font.glyph_to_string(pi[1].gid) == "uni0E35.narrow"  # clear of ป's stem
    assert pi[2].x_offset < 0


def test_a_long_name_is_shrunk_then_wrapped_inside_the_box(letter, tmp_path):
    name = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดพระนครศรีอยุธยา กลุ่มงานบริการสาธารณะท้องถิ่น"
    stamped = stamp(letter, tmp_path, unit_name=name)
    lines = text_lines(stamped)
    assert lines[0] + lines[1] == name or f"{lines[0]} {lines[1]}" == name
    assert lines[2:5] == THAI_LINES[1:]
    x0, y0, x1, y1 = stamp_box()
    lower = {w for w, *_ in words(letter)}
    for text, wx0, wy0, wx1, wy1 in words(stamped):
        if wy1 < y1 and text not in lower:
            assert x0 < wx0 and wx1 < x1 and y0 < wy0, text


def test_the_stamp_font_is_saraban_th_embedded(letter, tmp_path):
    page = PdfReader(stamp(letter, tmp_path)).pages[0]
    embedded = []
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        descendants = font.get("/DescendantFonts")
        font = descendants[0].get_object() if descendants else font
        descriptor = font["/FontDescriptor"]
        if "/FontFile2" in descriptor:
            embedded.append(str(font["/BaseFont"]))
            if "SarabanTH" in str(font["/BaseFont"]) and "/CIDToGIDMap" in font:
                # A valid TrueType font with the outlines of the stamp's glyphs only.
                program = TTFont(io.BytesIO(descriptor["/FontFile2"].get_data()))
                glyf = program["glyf"]
                drawn = [name for name in program.getGlyphOrder() if glyf[name].numberOfContours]
                assert 10 < len(drawn) < 60, len(drawn)
    assert any(re.fullmatch(r"/[A-Z]{6}\+SarabanTH-Bold", f) for f in embedded), embedded
    assert any(re.fullmatch(r"/[A-Z]{6}\+SarabanTH-Regular", f) for f in embedded), embedded


# ------------------------------------------------------------------------------------ where it goes


def test_the_stamp_is_at_the_top_right_and_the_letter_text_is_unchanged(letter, tmp_path):
    stamped = stamp(letter, tmp_path)
    before, after = words(letter), words(stamped)
    assert all(w in after for w in before)  # every word of the letter, where it was
    added = [w for w in after if w not in before]
    assert " ".join(w[0] for w in added) == " ".join(THAI_LINES)
    x0, y0, x1, y1 = stamp_box()
    for text, wx0, wy0, wx1, wy1 in added:
        assert x0 < wx0 < wx1 < x1 and y0 < wy0 < wy1 < y1, text
    ref_line = [w for w in before if w[0] == "ที่"][0]
    assert ref_line[2] > y1  # "ที่ มท ..." starts below the stamp
    assert len(PdfReader(stamped).pages) == len(PdfReader(letter).pages) == 1
    # The letter's own text, as pdftotext lays it out, less the stamp's lines.
    body = [line for line in pdftotext(stamped).splitlines() if line.strip() not in THAI_LINES]
    assert "\n".join(body).strip() == pdftotext(letter).strip()


def test_the_stamp_covers_nothing_of_the_letter(letter, tmp_path):
    """Rendered, the page differs from the letter only inside the stamp's box, which is blue ink,
    right of the emblem and above the ที่ line."""
    original, stamped = render(letter, tmp_path), render(stamp(letter, tmp_path), tmp_path)
    changed = ImageChops.difference(original, stamped).getbbox()
    assert changed is not None
    x0, y0, x1, y1 = stamp_box()  # points = pixels at 72 dpi
    cx0, cy0, cx1, cy1 = changed
    assert x0 - 1 <= cx0 and cx1 <= x1 + 1 and y0 - 1 <= cy0 and cy1 <= y1 + 1, changed
    # What changed is blue ink, and the blue's extent is the box.
    red, _green, blue = stamped.split()
    blue_ink = ImageChops.subtract(blue, red).point(lambda v: 255 if v > 60 else 0)
    assert blue_ink.getbbox() == changed
    assert abs(cx0 - x0) < 3 and abs(cx1 - x1) < 3 and abs(cy0 - y0) < 3 and abs(cy1 - y1) < 3, changed
    # Clear of the ที่ line and of the emblem (at the top centre).
    ref_line = [w for w in words(letter) if w[0] == "ที่"][0]
    assert cy1 < ref_line[2]
    emblem_right = max(x for x in range(original.width // 2, original.width)
                       if original.crop((x, 30, x + 1, 110)).convert("L").getextrema()[0] < 200)
    assert emblem_right < cx0


def test_other_pages_and_the_original_bytes_are_kept(two_pages, tmp_path):
    source = two_pages.read_bytes()
    stamped = stamp_receipt(two_pages, tmp_path / "s.pdf", unit_name=UNIT, number=5, received_at=RECEIVED)
    data = stamped.read_bytes()
    assert data.startswith(source)  # an incremental update: the original file, then the stamp
    before, after = PdfReader(two_pages), PdfReader(stamped)
    # Written without pypdf reading the document: a classic section listing page 1 and the new objects only.
    listed = updated_objects(data[len(source):])
    assert listed[0] == before.pages[0].indirect_reference.idnum
    assert listed[1:] == list(range(int(before.trailer["/Size"]), int(after.trailer["/Size"])))
    assert len(after.pages) == 2
    assert after.pages[1].get_contents().get_data() == before.pages[1].get_contents().get_data()
    assert after.pages[1].indirect_reference.idnum == before.pages[1].indirect_reference.idnum
    assert raw(after.pages[1]["/Resources"]) == raw(before.pages[1]["/Resources"])
    page2 = pdftotext(stamped, "-f", "2", "-l", "2")
    assert page2 == pdftotext(two_pages, "-f", "2", "-l", "2")
    assert "เลขรับ" not in page2


def source_pdf(kind: str, letter: Path, tmp_path: Path) -> bytes:
    if kind == "stamped once":
        return stamp(letter, tmp_path, number=1).read_bytes()
    if kind == "cross-reference stream":  # pypdf's incremental updates end with one
        writer = PdfWriter(letter, incremental=True)
        writer.add_metadata({"/Subject": "update"})
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    if kind == "damaged":  # startxref points nowhere: pypdf (which repairs) stamps it
        return damaged(letter.read_bytes())
    return handmade_pdf()


@pytest.mark.parametrize("kind", ["stamped once", "cross-reference stream", "damaged", "page tree"])
def test_other_kinds_of_pdf_are_stamped(letter, tmp_path, kind):
    """A second stamp; a file whose newest section is a cross-reference stream (the update is one too); a
    damaged file; a page whose box, resources and rotation are inherited and whose contents are an array."""
    source = source_pdf(kind, letter, tmp_path)
    path = tmp_path / "source.pdf"
    path.write_bytes(source)
    stamped = stamp_receipt(path, tmp_path / "again.pdf", unit_name=UNIT, number=1649, received_at=RECEIVED)
    data = stamped.read_bytes()
    assert data.startswith(source)
    update = data[len(source):]
    if kind == "cross-reference stream":
        assert b"/Type /XRef" in update and b"trailer" not in update
    elif kind != "damaged":
        assert b"trailer" in update
    assert PdfReader(stamped).pages[0].extract_text().splitlines()[-4:] == THAI_LINES
    if kind != "stamped once":  # (two stamps in one place are not one line each for pdftotext)
        assert text_lines(stamped)[:4] == THAI_LINES
    if kind == "page tree":
        assert text_lines(stamped)[4:] == ["Hello world"]  # the page's own font, under its own name
        x0, y0, x1, y1 = stamp_box()
        for text, wx0, wy0, wx1, wy1 in words(stamped)[:-2]:
            assert x0 < wx0 < wx1 < x1 + 0.1 and y0 < wy0 < wy1 < y1, text


def damaged(data: bytes) -> bytes:
    """``data`` with its startxref pointing nowhere: pypdf (which repairs) reads it, not pdf_update."""
    at = data.rindex(b"startxref")
    return data[:at] + re.sub(rb"\d+", b"17", data[at:], count=1)


@pytest.mark.parametrize("kind", ["readable", "damaged"])
def test_page_marks_are_drawn_on_their_pages(two_pages, tmp_path, settings, kind):
    """A letter's page marks (page_marks.marked_pdf, the same text drawing as the stamp's): each on its page,
    reading back; one embedded font for all pages; an incremental update of a file pdf_update reads."""
    source = two_pages.read_bytes() if kind == "readable" else damaged(two_pages.read_bytes())
    marks = [PageMark(0, "/ปี่ญี่ปุ่นน้ำ...", 538.6, 28.7, 16.0, "right"), PageMark(1, "- ๒ -", 297.6, 811.3, 16.0, "center")]
    path = tmp_path / "marked.pdf"
    path.write_bytes(marked_pdf(source, marks, settings))
    assert path.read_bytes().startswith(source) == (kind == "readable")
    first, second = (text_lines_of(path, k) for k in (1, 2))
    assert first == [*text_lines_of(two_pages, 1), marks[0].text]  # the footer: the page's last line
    # The header: its first line (pdftotext reads "- ๒ -" without its spaces: their gaps are narrow).
    assert second == ["-๒-", *text_lines_of(two_pages, 2)]
    fonts = [page["/Resources"]["/Font"].raw_get("/SarabanMark") for page in PdfReader(path).pages]
    assert fonts[0].idnum == fonts[1].idnum


def text_lines_of(path: Path, page: int) -> list[str]:
    return [line.strip() for line in pdftotext(path, "-f", str(page), "-l", str(page)).splitlines() if line.strip()]


def test_a_rotated_page_is_refused(tmp_path):
    path = tmp_path / "rotated.pdf"
    path.write_bytes(handmade_pdf(rotate=90))
    with pytest.raises(StampError, match="rotated by 90"):
        stamp_receipt(path, tmp_path / "out.pdf", unit_name=UNIT, number=1, received_at=RECEIVED)


def test_stamping_in_place(letter, tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter.read_bytes())
    assert stamp_receipt(path, path, unit_name=UNIT, number=1649, received_at=RECEIVED) == path
    assert text_lines(path)[:4] == THAI_LINES


def test_a_stamp_made_again_in_another_process_is_the_same_bytes(letter, tmp_path):
    """A run started again after a crash stamps a copy whose stamped file it left behind: the same bytes, or
    write_new refuses it. Another process makes its font subsets afresh (fontTools used to date them)."""
    script = ("import sys; from pathlib import Path; from saraban.letters.paper.stamps import stamp_receipt; "
              "from tests.test_stamps import RECEIVED, UNIT; "
              "stamp_receipt(Path(sys.argv[1]), Path(sys.argv[2]), unit_name=UNIT, number=1649, received_at=RECEIVED)")
    made = []
    for n in (1, 2):
        made.append(tmp_path / f"stamped-{n}.pdf")
        subprocess.run([sys.executable, "-c", script, str(letter), str(made[-1])], check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        time.sleep(1.1 if n == 1 else 0)  # a font's timestamp counts seconds
    assert made[0].read_bytes() == made[1].read_bytes()


def test_not_a_pdf_is_refused(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    with pytest.raises(StampError, match="not a readable PDF"):
        stamp_receipt(bad, tmp_path / "out.pdf", unit_name=UNIT, number=1, received_at=RECEIVED)


def test_box_constants_match_the_brief():
    assert round(BOX_WIDTH / CM, 2) == 6.5 and round(BOX_HEIGHT / CM, 2) == 2.6
    assert round(BOX_RIGHT_GAP / CM, 2) == 1.0 and round(BOX_TOP_GAP / CM, 2) == 0.8
