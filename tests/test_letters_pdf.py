"""The PDF a clerk prints: one A4 page, a real Thai font embedded, the QR code readable again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from saraban.kernel.settings import load_settings
from saraban.letters.batch import render_letters
from saraban.letters.paper.pdf import PdfError, docx_to_pdf
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict
from thai_text import to_thai_digits

HANDBOOK = "https://example.org/greenlocal/handbook.pdf"
HOSTILE = 'ราคา < 5 & > 3 "อ้าง" {{ x }} {% if y %}z{% endif %}'


@pytest.fixture(scope="module")
def pdfs(data_dir: Path, tmp_path_factory) -> dict[str, Path]:
    """The three examples and a hostile one, converted by one LibreOffice run."""
    hostile = example_dict("03-department-circular")
    hostile["body"] = [HOSTILE]
    hostile["qr"].append({"url": "https://example.org/meeting?id=15&x=<1>", "caption": "ลิงก์ประชุม & <ห้อง>"})
    specs = [(n, parse_spec(example_dict(n))) for n in
             ("01-project-letter", "02-department-memo", "03-department-circular")]
    specs.append(("hostile", parse_spec(hostile)))
    out = tmp_path_factory.mktemp("pdf")
    rendered = render_letters(specs, out, load_settings(), pdf=True)
    return {r.name: r.pdf for r in rendered}


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def decode_qr_codes(path: Path, tmp_path: Path, dpi: int = 80) -> list[str]:
    """Render the page as a printer or scanner would see it, and read every QR code on it."""
    prefix = tmp_path / path.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(path), str(prefix)],
                   check=True)
    page = next(tmp_path.glob(f"{path.stem}*.png"))
    return sorted(b.text for b in zxingcpp.read_barcodes(Image.open(page)))


@pytest.mark.parametrize("name", ["01-project-letter", "02-department-memo", "03-department-circular"])
def test_one_a4_page_with_thai_font_embedded(pdfs, name):
    reader = PdfReader(pdfs[name])
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        descendants = font.get("/DescendantFonts")
        font = descendants[0].get_object() if descendants else font
        descriptor = font["/FontDescriptor"].get_object()
        if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            embedded.append(str(font["/BaseFont"]))
    assert any("SarabanTH" in f for f in embedded), embedded


def test_circular_text_in_the_pdf(pdfs):
    text = pdf_text(pdfs["03-department-circular"])
    for expected in ("ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด ทุกจังหวัด",
                     "๒๙ มีนาคม ๒๕๖๗", "กองสิ่งแวดล้อมท้องถิ่น", "โทร. ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒"):
        assert expected in text


def test_pdf_records_the_spec_hash(pdfs):
    spec = parse_spec(example_dict("03-department-circular"))
    keywords = PdfReader(pdfs["03-department-circular"]).metadata.get("/Keywords", "")
    assert spec.hash() in keywords


@pytest.mark.parametrize("name", ["01-project-letter", "03-department-circular"])
def test_handbook_qr_decodes_back_at_80_dpi(pdfs, name, tmp_path):
    assert decode_qr_codes(pdfs[name], tmp_path) == [HANDBOOK]


def test_hostile_text_and_links_survive_into_the_pdf(pdfs, tmp_path):
    text = pdf_text(pdfs["hostile"])
    # A Thai-digit letter: the 5 and 3 print as ๕ and ๓, everything else exactly as typed.
    assert to_thai_digits(HOSTILE) in " ".join(text.split())
    assert "ลิงก์ประชุม & <ห้อง>" in text
    assert decode_qr_codes(pdfs["hostile"], tmp_path) == sorted(
        [HANDBOOK, "https://example.org/meeting?id=15&x=<1>"])


def test_missing_libreoffice_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("SARABAN_SOFFICE", "no-such-soffice")
    with pytest.raises(PdfError, match="apt-get install libreoffice-writer-nogui"):
        docx_to_pdf([tmp_path / "a.docx"], tmp_path, load_settings())


def test_a_broken_docx_is_reported_not_ignored(tmp_path):
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"not a docx")
    with pytest.raises(PdfError, match="broken"):
        docx_to_pdf([bad], tmp_path / "out", load_settings())
