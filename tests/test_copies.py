"""Per-recipient copies of a circular: one master (.docx and PDF) with a placeholder QR code, each copy
the master with the recipient's tracking code swapped in, nothing else changed."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path

import docx
import pytest
import zxingcpp
from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter

from saraban.kernel.settings import load_settings
from saraban.letters.paper.copies import CopyError, CopyMaker, PlaceholderNotFound, swap_docx_image, swap_pdf_image
from saraban.letters.paper.merge import append_pages
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.paper.qr import (
    placeholder_qr_png,
    qr_png,
    tracking_qr_png,
    tracking_qr_size,
    tracking_qr_version,
)
from saraban.letters.render import render_docx_bytes
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict

HANDBOOK = "https://example.org/greenlocal/handbook.pdf"
BASE = "https://saraban.dla.go.th/t/"
PLACEHOLDER_URL = BASE + 22 * "x"
TOKENS = ["AbCdEfGhIjKlMnOpQrStUv", "0123456789abcdefghijkl", "ZZZZZZZZZZZZZZZZZZZZZ-"]
PLACEHOLDER = placeholder_qr_png(len(PLACEHOLDER_URL))


@pytest.fixture(scope="module")
def master(data_dir: Path, tmp_path_factory) -> tuple[bytes, Path]:
    """The circular with a second QR code, the placeholder, captioned QR ลงรับหนังสือ: .docx and PDF."""
    data = example_dict("03-department-circular")
    data["qr"].append({"url": PLACEHOLDER_URL, "caption": "QR ลงรับหนังสือ"})
    rendered = render_docx_bytes(parse_spec(data), load_settings())
    master_docx = swap_docx_image(rendered, qr_png(PLACEHOLDER_URL), PLACEHOLDER)
    out = tmp_path_factory.mktemp("copies")
    (out / "master.docx").write_bytes(master_docx)
    return master_docx, docx_to_pdf([out / "master.docx"], out, load_settings())[0]


@pytest.fixture(scope="module")
def maker(master) -> CopyMaker:
    return CopyMaker(master[0], master[1], PLACEHOLDER)


def decode(image: Image.Image | bytes) -> list[str]:
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return sorted(b.text for b in zxingcpp.read_barcodes(image))


def docx_images(data: bytes) -> list[bytes]:
    """The images the document shows, in order."""
    document = docx.Document(io.BytesIO(data))
    return [document.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
            for shape in document.inline_shapes]


def page_png(pdf: bytes, tmp_path: Path, dpi: int = 80, page: int = 1) -> Image.Image:
    """A page (the first) as pdftoppm renders it (as a scanner would see a print)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "copy.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), str(path),
                    str(folder / "p")], check=True)
    return Image.open(next(folder.glob("p*.png")))


def pdftotext(pdf: bytes | Path, tmp_path: Path) -> str:
    if isinstance(pdf, bytes):
        (tmp_path / "t.pdf").write_bytes(pdf)
        pdf = tmp_path / "t.pdf"
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {i.filename: archive.read(i) for i in archive.infolist()}


# ----------------------------------------------------------------------------------- tracking codes


def test_tracking_codes_of_one_length_have_one_version_and_size():
    """The version (hence the pixel size) is fixed by the length, so a copy can swap its code for the
    master's placeholder; the mask pattern is the writer's choice."""
    sizes, extras = set(), set()
    for token in TOKENS:
        png = tracking_qr_png(BASE + token)
        image = Image.open(io.BytesIO(png))
        sizes.add(image.size)
        (barcode,) = zxingcpp.read_barcodes(image)
        assert barcode.text == BASE + token
        extras.add((barcode.extra["Version"], barcode.extra["ECLevel"]))
    placeholder = Image.open(io.BytesIO(PLACEHOLDER))
    assert sizes == {placeholder.size} == {(tracking_qr_size(len(PLACEHOLDER_URL)),) * 2}
    (barcode,) = zxingcpp.read_barcodes(placeholder)
    assert barcode.text == "x" * len(PLACEHOLDER_URL)
    assert extras == {(barcode.extra["Version"], "M")}
    assert extras == {(str(tracking_qr_version(len(PLACEHOLDER_URL))), "M")}


def test_tracking_version_grows_with_the_length_only():
    assert [tracking_qr_version(n) for n in (10, 42, 43, 62, 63)] == [1, 3, 4, 4, 5]
    with pytest.raises(ValueError):
        tracking_qr_version(0)
    with pytest.raises(ValueError):
        tracking_qr_version(5000)


# ------------------------------------------------------------------------------------------- .docx


def test_tracking_codes_are_the_codes_zxing_cpp_makes_mask_and_all():
    """saraban tries the eight data masks itself (zxing-cpp encodes once): the same modules as zxing-cpp choosing
    the mask of least penalty, for payloads of every length up to version 11 (above version 9 zxing-cpp
    chooses), random links and runs of one letter alike."""
    import random

    import numpy as np
    import zxingcpp

    from saraban.letters.paper.qr import tracking_qr_pngs, tracking_qr_rows, tracking_qr_rows_many

    rng = random.Random(13)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tried, drawn = 0, {}
    for length in range(1, 252, 3):
        for payload in (BASE[:length] + "".join(rng.choice(alphabet) for _ in range(length - len(BASE[:length]))),
                        "x" * length):
            version = tracking_qr_version(length)
            rows, width, height = tracking_qr_rows(payload)
            theirs = np.asarray(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M",
                                                        version=version).to_image(scale=1, add_quiet_zones=False))
            ours = np.frombuffer(rows, dtype=np.uint8).reshape(height, width // 8)[::8]  # a byte a module
            assert (ours[4:-4, 4:-4] != 0).tolist() == (theirs != 0).tolist(), (payload, version)
            tried += 1
            drawn[payload] = (rows, width, height)
    assert tried == 168
    # Drawn together (a letter's copies), mixed versions and all: each code as drawn alone.
    payloads = list(drawn)
    rng.shuffle(payloads)
    assert tracking_qr_rows_many(payloads) == [drawn[p] for p in payloads]
    assert tracking_qr_pngs(payloads[:40]) == [tracking_qr_png(p) for p in payloads[:40]]


def test_the_master_shows_the_handbook_and_the_placeholder(master):
    images = docx_images(master[0])
    assert [decode(i) for i in images[-2:]] == [[HANDBOOK], ["x" * len(PLACEHOLDER_URL)]]


@pytest.mark.parametrize("token", TOKENS)
def test_each_docx_copy_shows_its_own_code_and_nothing_else_changes(master, maker, token):
    copy = maker.docx_for(BASE + token)
    images = docx_images(copy)  # python-docx opens it
    assert [decode(i) for i in images[-2:]] == [[HANDBOOK], [BASE + token]]
    before, after = zip_members(master[0]), zip_members(copy)
    assert before.keys() == after.keys()
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) == 1 and changed[0].startswith("word/media/")
    assert after[changed[0]] == tracking_qr_png(BASE + token)


def raw_members(data: bytes) -> dict[str, bytes]:
    """Each member's local header and compressed data, as stored."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        found = {}
        for info in archive.infolist():
            at = info.header_offset
            name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
            found[info.filename] = data[at:at + 30 + name_len + extra_len + info.compress_size]
        return found


def test_docx_members_are_copied_without_recompression(master, maker):
    copy = maker.docx_for(BASE + TOKENS[0])
    before, after = raw_members(master[0]), raw_members(copy)
    assert list(before) == list(after)  # the same order
    assert sum(before[name] != after[name] for name in before) == 1
    assert maker.docx_for(BASE + TOKENS[0]) == copy  # the same payload, the same bytes


def test_a_spliced_docx_is_what_zipfile_writes(master):
    """ZipSplice (a copy's image, a compiled shape's text) gives the bytes zipfile gives for the same members."""
    from saraban.letters.render import docx_zip
    from saraban.letters.zip_splice import ZipSplice, ZipSpliceError

    with zipfile.ZipFile(io.BytesIO(master[0])) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    image = next(name for name in members if name.endswith(".png"))
    changed = {"word/document.xml": members["word/document.xml"].replace(b"</w:body>", b"<w:p/></w:body>"),
               image: tracking_qr_png(BASE + TOKENS[1])}
    original = docx_zip(members)
    assert ZipSplice(original).with_members(changed) == docx_zip(members | changed)
    assert ZipSplice(original).with_members({}) == original
    with pytest.raises(ZipSpliceError, match="no member"):
        ZipSplice(original).with_members({"word/other.xml": b""})


def test_swap_docx_image_without_the_placeholder_says_so(master):
    with pytest.raises(PlaceholderNotFound):
        swap_docx_image(master[0], tracking_qr_png(BASE + TOKENS[0]), PLACEHOLDER)


def test_a_shorter_payload_takes_the_placeholders_size_and_a_longer_one_is_refused(maker, tmp_path):
    """A copy's code is drawn at the placeholder's QR version: a payload shorter than the placeholder's (the
    file copy's master fits its verify link, longer than a tracking link) still fills its place exactly."""
    short = BASE + "short"
    (png,) = docx_images(maker.docx_for(short))[-1:]
    assert Image.open(io.BytesIO(png)).size == Image.open(io.BytesIO(PLACEHOLDER)).size
    assert decode(png) == [short]
    assert decode(page_png(maker.pdf_for(short), tmp_path)) == sorted([HANDBOOK, short])
    with pytest.raises(CopyError, match="length"):
        maker.docx_for(BASE + 40 * "y")
    with pytest.raises(CopyError, match="length"):
        maker.pdf_for(BASE + 40 * "y")


# --------------------------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("token", TOKENS)
def test_each_pdf_copy_reads_back_both_codes_at_80_dpi(master, maker, token, tmp_path):
    copy = maker.pdf_for(BASE + token)
    assert decode(page_png(copy, tmp_path)) == sorted([HANDBOOK, BASE + token])


def test_a_pdf_copy_differs_from_the_master_only_by_the_code(master, maker, tmp_path):
    master_pdf = master[1]
    copy = maker.pdf_for(BASE + TOKENS[0])
    assert pdftotext(copy, tmp_path) == pdftotext(master_pdf, tmp_path)
    before, after = PdfReader(master_pdf), PdfReader(io.BytesIO(copy), strict=True)
    assert len(after.pages) == len(before.pages) == 1
    assert after.pages[0].get_contents().get_data() == before.pages[0].get_contents().get_data()
    assert after.metadata == before.metadata
    # pypdf names an image by its XObject name and the file type it decodes to (.jpg, .png).
    old = {Path(i.name).stem: i.data for i in before.pages[0].images}
    new = {Path(i.name).stem: i.data for i in after.pages[0].images}
    assert old.keys() == new.keys()
    changed = [name for name in old if old[name] != new[name]]
    assert len(changed) == 1
    (changed_image,) = [i for i in after.pages[0].images if Path(i.name).stem == changed[0]]
    assert changed_image.image.mode == "1"  # lossless black and white, not a JPEG
    assert decode(changed_image.image) == [BASE + TOKENS[0]]
    # Rendered: only the placeholder's square differs.
    page_a, page_b = page_png(master_pdf.read_bytes(), tmp_path), page_png(copy, tmp_path)
    box = ImageChops.difference(page_a.convert("L"), page_b.convert("L")).getbbox()
    assert box is not None and box[2] - box[0] < 100 and box[3] - box[1] < 100  # 2.8 cm at 80 dpi: 88 px


def assert_table_is_right(pdf: bytes) -> int:
    """Every object the cross-reference table lists is where it says (pdf readers would otherwise repair the
    file): how many."""
    start = int(pdf.rstrip().rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[start:start + 4] == b"xref"
    lines = pdf[start:pdf.index(b"trailer", start)].split(b"\n")[1:]
    number, checked = 0, 0
    for line in lines:
        fields = line.split()
        if len(fields) == 2:
            number = int(fields[0])
        elif len(fields) == 3:
            if fields[2] == b"n":
                assert re.match(rb"%d %d obj" % (number, int(fields[1])), pdf[int(fields[0]):]), number
                checked += 1
            number += 1
    return checked


def test_a_pdf_copy_has_a_correct_cross_reference_table(master, maker):
    copy = maker.pdf_for(BASE + TOKENS[0])
    assert assert_table_is_right(copy) > 10
    # Set up again from the same master (the file copy, then the recipients' copies): the same copy.
    assert CopyMaker(None, master[1].read_bytes(), PLACEHOLDER).pdf_for(BASE + TOKENS[0]) == copy


def test_appended_pages_are_each_pdfs_pages_as_they_were(master, maker, tmp_path):
    """append_pages (a letter, then its attached pages, a received copy) copies each PDF's objects as they are:
    its pages in order, the letter's document information, a right cross-reference table."""
    letter, copy = master[1].read_bytes(), maker.pdf_for(BASE + TOKENS[1])
    merged = append_pages(letter, [copy, master[1]])
    assert assert_table_is_right(merged) > 10
    reader = PdfReader(io.BytesIO(merged), strict=True)
    parts = [PdfReader(io.BytesIO(pdf)) for pdf in (letter, copy, letter)]
    assert [p.get_contents().get_data() for p in reader.pages] == [r.pages[0].get_contents().get_data() for r in parts]
    assert [{i.name: i.data for i in p.images} for p in reader.pages] == [
        {i.name: i.data for i in r.pages[0].images} for r in parts]
    assert reader.metadata == parts[0].metadata
    assert pdftotext(merged, tmp_path) == pdftotext(letter, tmp_path) + pdftotext(copy, tmp_path) + pdftotext(
        letter, tmp_path)
    assert append_pages(letter, []) is letter


def test_a_stream_met_again_is_written_once(master, maker, tmp_path):
    """The letter's emblem, fonts and handbook QR again in the pages appended (a forward carries the letters
    above it): each such stream is in the merged PDF once, and shown on every page as before; the copy's own
    QR, another image, is kept."""
    letter, copy = master[1].read_bytes(), maker.pdf_for(BASE + TOKENS[1])
    merged = append_pages(letter, [copy, master[1]])
    alone = [PdfReader(io.BytesIO(pdf)) for pdf in (letter, copy)]

    def streams(reader: PdfReader) -> list[bytes]:
        return [obj._data for n in range(1, int(reader.trailer["/Size"]))
                if hasattr(obj := reader.get_object(n), "_data") and obj is not None]

    once = set(streams(alone[0])) | set(streams(alone[1]))
    mine = streams(PdfReader(io.BytesIO(merged)))
    assert len(mine) == len(set(mine)) < len(streams(alone[0])) * 2 + len(streams(alone[1]))
    assert set(mine) <= once | {b""}
    assert len(merged) < len(letter) + len(copy)
    assert decode(page_png(merged, tmp_path, page=2)) == sorted([HANDBOOK, BASE + TOKENS[1]])
    assert decode(page_png(merged, tmp_path, page=3)) == decode(page_png(letter, tmp_path))


def test_swap_pdf_image_takes_a_path_or_bytes(master, tmp_path):
    new = tracking_qr_png(BASE + TOKENS[1])
    from_path = swap_pdf_image(master[1], PLACEHOLDER, new)
    assert from_path == swap_pdf_image(master[1].read_bytes(), PLACEHOLDER, new)
    assert decode(page_png(from_path, tmp_path)) == sorted([HANDBOOK, BASE + TOKENS[1]])


def test_swap_pdf_image_without_the_placeholder_says_so(master):
    other = tracking_qr_png(BASE + TOKENS[2])  # same size, another code
    with pytest.raises(PlaceholderNotFound, match="no image showing the placeholder"):
        swap_pdf_image(master[1], other, tracking_qr_png(BASE + TOKENS[0]))
    with pytest.raises(CopyError):
        swap_pdf_image(master[1], PLACEHOLDER, qr_png(HANDBOOK + "?" + 60 * "a"))  # another size


def test_an_updated_pdf_is_copied_by_pypdf(master, tmp_path):
    """A master that is not one classic section (here: incrementally updated) takes the slow path."""
    writer = PdfWriter(master[1], incremental=True)
    writer.add_metadata({"/Subject": "อัปเดต"})
    buffer = io.BytesIO()
    writer.write(buffer)
    updated = buffer.getvalue()
    maker = CopyMaker(master[0], updated, PLACEHOLDER)
    copy = maker.pdf_for(BASE + TOKENS[0])
    assert decode(page_png(copy, tmp_path)) == sorted([HANDBOOK, BASE + TOKENS[0]])
    assert PdfReader(io.BytesIO(copy)).metadata["/Subject"] == "อัปเดต"


