"""Letters printed several to a LibreOffice document and cut apart: each PDF as the letter printed alone."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from saraban.kernel.settings import load_settings
from saraban.letters.attachments import render_attachment_docx
from saraban.letters.paper import bundle, pdf
from saraban.letters.paper.bundle import bundled, bundles, cut, layout_key
from saraban.letters.paper.merge import pages_apart
from saraban.letters.paper.typeset import print_ready
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict

# Letters of three templates (external, stamped, memo); 07 takes three pages; 04 has attached pages.
NAMES = ["01-project-letter", "03-department-circular", "07-long-letter", "04-deqp-programme-invitation",
         "05-lamphun-working-group-meeting", "02-department-memo", "06-onep-online-meeting"]


def _letter(name: str) -> tuple[bytes, bytes | None]:
    """The letter's .docx and its attached pages' (or None)."""
    settings = load_settings()
    spec = parse_spec(example_dict(name))
    return renderer_for(settings).render(spec), render_attachment_docx(spec, settings)


def _printed(name: str) -> bytes:
    """The letter as LibreOffice is given it."""
    docx, attached = _letter(name)
    return pdf.for_printing(docx, print_ready(attached) if attached else None)


@pytest.fixture(scope="module")
def printed(data_dir: Path, tmp_path_factory) -> dict:
    """Each letter as LibreOffice is given it; each letter's PDF made (docx_to_pdf: printed, given its pages,
    printed again if need be) one to a LibreOffice document, and in bundles."""
    folder = tmp_path_factory.mktemp("bundle")
    letters = [_letter(name) for name in NAMES]
    files = []
    for k, name in enumerate(NAMES):
        files.append(folder / f"{k:02d}.docx")
        files[-1].write_bytes(_printed(name))
    for which in ("alone", "bundled"):
        (folder / which).mkdir()
        sources = []
        for k, (docx, _) in enumerate(letters):
            sources.append(folder / which / f"{k:02d}.docx")
            sources[-1].write_bytes(docx)
        pdf.docx_to_pdf(sources, folder / which, load_settings(), [a for _, a in letters], bundle=which == "bundled")
    return {"folder": folder, "files": files}


def _words(path: Path) -> list[tuple[int, str, list[float]]]:
    """Each word on the pages: its page, its text, its box (points)."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    words, page = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        elif m := re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line):
            words.append((page, m.group(5), [float(v) for v in m.groups()[:4]]))
    return words


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_templates_of_one_family_share_a_document(printed):
    """Their styles, numbering, settings, fonts and theme are the same: the letters of all three templates,
    the one with attached pages too, go in one document."""
    assert bundles([f.read_bytes() for f in printed["files"]]) == ([list(range(len(NAMES)))], [])


@pytest.mark.parametrize("k", range(len(NAMES)))
def test_a_bundled_letter_prints_as_alone(printed, k):
    """The same pages, the same words in the same places (LibreOffice's widths of a word differ by ~0.02 pt
    with the fonts it embeds for more letters: nothing a printer shows), the same document information
    (title, subject, keywords with the spec's hash, author), the same paged .docx. (In the bundle LibreOffice
    parts 04's closing lines from its signature; they are given back, as a letter alone would have them.)"""
    alone, together = (printed["folder"] / which / f"{k:02d}.pdf" for which in ("alone", "bundled"))
    with zipfile.ZipFile(alone.with_suffix(".docx")) as a, zipfile.ZipFile(together.with_suffix(".docx")) as b:
        assert a.read("word/document.xml") == b.read("word/document.xml")
    assert len(PdfReader(together).pages) == len(PdfReader(alone).pages)
    assert _text(together) == _text(alone)
    mine, theirs = _words(together), _words(alone)
    assert [(page, text) for page, text, _ in mine] == [(page, text) for page, text, _ in theirs]
    assert max(abs(a - b) for (_, _, box), (_, _, other) in zip(mine, theirs, strict=True)
               for a, b in zip(box, other, strict=True)) < 0.1
    info = {key: value for key, value in PdfReader(alone).metadata.items() if key != "/CreationDate"}
    assert {key: value for key, value in PdfReader(together).metadata.items() if key != "/CreationDate"} == info
    assert parse_spec(example_dict(NAMES[k])).hash() in info["/Keywords"]


def test_the_long_letter_keeps_its_three_pages_and_their_numbers(printed):
    made = printed["folder"] / "bundled" / "02.pdf"
    assert len(PdfReader(made).pages) == 3
    pages = _text(made).split("\f")
    assert [f"-{n}-" in pages[k].replace(" ", "") for k, n in ((1, "๒"), (2, "๓"))] == [True, True]


def test_numbered_paragraphs_fields_and_notes_print_alone():
    letter = _printed("01-project-letter")
    assert layout_key(letter) == layout_key(_printed("05-lamphun-working-group-meeting")) is not None
    restyled = _changed(letter, "word/styles.xml", lambda xml: xml.replace(b'"Courier"', b'"Garuda"', 1))
    assert layout_key(restyled) not in (None, layout_key(letter))
    numbered = _with_document(letter, b"<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr>"
                                      b"</w:pPr><w:r><w:t>x</w:t></w:r></w:p>")
    field = _with_document(letter, b"<w:p><w:fldSimple w:instr=\"PAGE\"><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>")
    listed = _with_document(letter, b"<w:p><w:pPr><w:pStyle w:val=\"ListNumber\"/></w:pPr>"
                                    b"<w:r><w:t>x</w:t></w:r></w:p>")
    assert layout_key(numbered) is layout_key(field) is layout_key(listed) is None
    assert bundles([letter, numbered, letter]) == ([[0, 2]], [1])


def _with_document(docx: bytes, paragraph: bytes) -> bytes:
    """``docx`` with ``paragraph`` first in its body."""

    def first(xml: bytes) -> bytes:
        at = xml.index(b">", xml.index(b"<w:body")) + 1
        return xml[:at] + paragraph + xml[at:]

    return _changed(docx, "word/document.xml", first)


def _changed(docx: bytes, name: str, edit) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for item in z.infolist():
            w.writestr(item, edit(z.read(item)) if item.filename == name else z.read(item))
    return out.getvalue()


def test_a_bundle_whose_starts_are_lost_is_printed_a_letter_at_a_time(printed, tmp_path, monkeypatch):
    """LibreOffice's PDF without the marks (joined without them): each letter printed again alone, none lost."""
    from saraban.letters.paper import attach
    monkeypatch.setattr(pdf, "bundled", lambda docs: attach.joined(docs))
    files = [printed["files"][k] for k in (0, 2)]
    pdf.soffice_convert(files, tmp_path / "out", load_settings(), workers=1)
    pdf.soffice_convert(files, tmp_path / "alone", load_settings(), workers=1, bundle=False)
    for f in files:
        made = tmp_path / "out" / f"{f.stem}.pdf"
        assert _text(made) == _text(tmp_path / "alone" / made.name)
    with pytest.raises(ValueError, match=r"the starts of documents \[0, 1\] of 2"):
        cut((printed["folder"] / "alone" / "00.pdf").read_bytes(), [b"", b""])


def test_a_pdf_cut_into_parts(printed):
    """Pages 0–2 (the long letter) and then one: each part its pages, its document information; starts that
    do not cover the pages one after the other are refused."""
    folder = printed["folder"] / "alone"
    writer = PdfWriter()
    for name in ("02.pdf", "00.pdf"):
        writer.append(PdfReader(folder / name))
    whole = io.BytesIO()
    writer.write(whole)
    parts = pages_apart(whole.getvalue(), [0, 3], [{"/Title": "ก"}, {"/Title": "ข", "/Subject": ""}])
    assert [len(PdfReader(io.BytesIO(p)).pages) for p in parts] == [3, 1]
    assert [PdfReader(io.BytesIO(p)).metadata.get("/Title") for p in parts] == ["ก", "ข"]
    assert "/Subject" not in PdfReader(io.BytesIO(parts[1])).metadata
    assert _text_of(parts[1]) == _text(folder / "00.pdf")
    for starts in ([1, 3], [0, 4], [0, 0]):
        with pytest.raises(ValueError, match="do not cover"):
            pages_apart(whole.getvalue(), starts, [{}, {}])


def _text_of(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def test_the_bundle_is_marked_where_each_letter_starts():
    docs = [_printed("01-project-letter"), _printed("05-lamphun-working-group-meeting")]
    with zipfile.ZipFile(io.BytesIO(bundled(docs))) as z:
        document = z.read("word/document.xml")
    assert [document.count(f'w:name="{bundle.MARK}{k}"'.encode()) for k in range(3)] == [1, 1, 0]
