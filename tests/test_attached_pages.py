"""Pages attached after a letter (issue 12 §4): a reply form, the list of a circular's recipients, and the
received letter a forward carries — read back from the PDFs a clerk prints."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select

from saraban.chain.circulars import carry_down, forward, issue_circular, make_files, receive, receive_many
from saraban.chain.verification import check_file
from saraban.kernel.clock import BANGKOK
from saraban.letters.attachments import attachment_path
from saraban.letters.batch import render_letters
from saraban.letters.spec import SpecError, parse_spec
from saraban.records.models import Delivery, Letter, Unit
from tests.conftest import example_dict
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.stored import local
from thai_text import to_thai_digits

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
UNITS = [f"เทศบาลตำบลทดสอบที่ {i}" for i in range(1, 41)]


def page_texts(pdf: Path) -> list[str]:
    """Each page's text as pdftotext reads it."""
    pages = len(PdfReader(pdf).pages)
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for n in range(1, pages + 1)]


def compact(text: str) -> str:
    return "".join(text.split())


def letters_of(text: str) -> str:
    """The characters of a text in a fixed order: pdftotext sometimes reads a Thai vowel and tone mark in the
    order they are drawn (บุรรี มั ย์ for บุรีรัมย์)."""
    return "".join(sorted(compact(text)))


def pages_of(pdf: Path) -> int:
    return len(PdfReader(pdf).pages)


# ------------------------------------------------------------------------------------------------ the spec


def with_attachments(**changes) -> dict:
    spec = example_dict("03-department-circular")
    spec["attachments"] = [
        {"kind": "reply_form", "title": "แบบตอบรับการเข้าร่วมประชุม", "choices": ["เข้าร่วมประชุม", "ไม่เข้าร่วมประชุม"],
         "instructions": ["กรุณาส่งแบบตอบรับภายในวันที่ 15 เมษายน 2567"]},
        {"kind": "recipients", "units": UNITS},
    ]
    spec.update(changes)
    return spec


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from saraban.kernel.settings import load_settings

    out = tmp_path_factory.mktemp("attached")
    spec = with_attachments()
    spec["body"] = spec["body"] * 3  # a letter of two pages: numbered, its attached pages not
    (letter,) = render_letters([("invitation", parse_spec(spec))], out, load_settings(), pdf=True)
    return letter


def test_the_reply_form_and_the_recipients_list_follow_the_letter(rendered):
    texts = page_texts(rendered.pdf)
    form_at = next(i for i, t in enumerate(texts) if "แบบตอบรับการเข้าร่วมประชุม" in t)
    assert form_at >= 1 and all("แบบตอบรับ" not in t for t in texts[:form_at])  # after the letter's own pages
    # One LibreOffice document (saraban.letters.paper.attach), but only the letter's own pages are numbered and
    # carry their next page's first words.
    firsts = [compact(t.strip().splitlines()[0]) for t in texts]
    lasts = [compact(t.strip().splitlines()[-1]) for t in texts]
    assert form_at == 2 and firsts[1] == "-๒-" and lasts[0].startswith("/") and lasts[0].endswith("...")
    assert not any(f.startswith("-") for f in firsts[form_at:]) and not any(x.startswith("/") for x in lasts[1:])
    assert "ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔" in texts[0]
    form = compact(texts[form_at])
    assert "ที่มท๐๘๒๐.๒/ว๑๑๔๔ลงวันที่๒๙มีนาคม๒๕๖๗" in form  # the letter it belongs to, in its digits
    for expected in ("ชื่อหน่วยงาน", "ชื่อผู้เข้าร่วม", "ตำแหน่ง", "โทรศัพท์", "เข้าร่วมประชุม", "ไม่เข้าร่วมประชุม",
                     "กรุณาส่งแบบตอบรับภายในวันที่๑๕เมษายน๒๕๖๗", "ลงชื่อ"):
        assert expected in form, expected
    # The list starts on a page of its own, after the form, and names every unit once, numbered.
    list_at = next(i for i, t in enumerate(texts) if "บัญชีรายชื่อ" in compact(t))
    assert list_at > form_at and "แบบตอบรับ" not in texts[list_at]
    rows = [line.split(None, 1) for t in texts[list_at:] for line in t.splitlines()
            if line.strip()[:1] in "๑๒๓๔๕๖๗๘๙" and "เทศบาล" in line]
    assert [number for number, _ in rows] == [to_thai_digits(str(i)) for i in range(1, len(UNITS) + 1)]
    assert [letters_of(name) for _, name in rows] == [letters_of(to_thai_digits(n)) for n in UNITS]  # in order
    assert len(texts) > list_at + 1 and "ลำดับ" in texts[-1]  # the header row repeats on the list's next page


def test_the_letter_docx_is_the_letter_alone(rendered):
    text = "\n".join(p.text for p in Document(rendered.docx).paragraphs)
    assert "แบบตอบรับ" not in text and "บัญชีรายชื่อผู้รับ" not in text
    assert rendered.attachment == attachment_path(rendered.docx) and rendered.attachment.name == "invitation-แนบ.docx"
    attached = Document(rendered.attachment)
    assert any("แบบตอบรับการเข้าร่วมประชุม" in p.text for p in attached.paragraphs)
    assert len(attached.tables[0].rows) == len(UNITS) + 1  # the header and one row per unit


def test_a_letter_without_attachments_has_no_attached_file(tmp_path):
    from saraban.kernel.settings import load_settings

    (letter,) = render_letters([("plain", parse_spec(example_dict("03-department-circular")))], tmp_path,
                               load_settings())
    assert letter.attachment is None and not attachment_path(letter.docx).exists()


@pytest.mark.parametrize(("attachment", "message"), [
    ({"kind": "reply_form", "units": ["ก"]}, "attachments[0]: แบบตอบรับไม่มีรายชื่อหน่วยงาน"),
    ({"kind": "recipients", "units": ["ก"], "fields": ["ชื่อ"]}, "attachments[0]: บัญชีรายชื่อผู้รับไม่มี fields"),
    ({"kind": "recipients", "units": ["ก", "ข", "ก"]}, "attachments[0]: หน่วยงานซ้ำในรายชื่อ: ก"),
    ({"kind": "form"}, "attachments[0].kind: ต้องเป็น"),
    ({"kind": "reply_form", "feilds": ["ชื่อ"]}, "attachments[0].feilds: ไม่รู้จักคีย์นี้ (หมายถึง 'fields'"),
    ({"kind": "reply_form", "fields": [""]}, "attachments[0].fields[0]:"),
])
def test_a_wrong_attachment_is_refused_with_a_clear_message(attachment, message):
    spec = example_dict("03-department-circular") | {"attachments": [attachment]}
    with pytest.raises(SpecError) as e:
        parse_spec(spec)
    assert any(p.startswith(message) for p in e.value.problems), e.value.problems


HOSTILE_UNITS = ["เทศบาล A & B <ทดสอบ>", "{{ x }} {% if y %} {#", "อบต. 'ก' \"ข\" 1999-01-01T00:00:00Z"]


def test_compiled_attachment_shapes_give_the_same_bytes_as_docxtpl(tmp_path):
    """The attached pages, rendered by docxtpl once per shape and then filled, are exactly what docxtpl writes:
    hostile text, another number of rows (another shape), a later letter of a shape, a group's recipients."""
    from saraban.kernel.settings import load_settings
    from saraban.letters.attachments import render_attachment_docx

    settings = load_settings()
    for units in (UNITS[:3], HOSTILE_UNITS, UNITS[3:6], UNITS):
        for subject in ("เรื่อง A & B <ทดสอบ> 1999-01-01T00:00:00Z", "เรื่องอื่น"):
            spec = with_attachments(subject=subject)
            spec["attachments"][1]["units"] = units
            parsed = parse_spec(spec)
            assert render_attachment_docx(parsed, settings) == render_attachment_docx(parsed, settings, shapes=False)
    group = parse_spec(example_dict("03-department-circular"))
    for names in (UNITS[:7], HOSTILE_UNITS + UNITS[:4]):
        assert render_attachment_docx(group, settings, recipients=names) == \
            render_attachment_docx(group, settings, recipients=names, shapes=False)


def test_the_letter_and_its_attached_pages_are_one_document_for_libreoffice(tmp_path):
    """LibreOffice is given one .docx a letter (saraban.letters.paper.attach): the letter's body and section, then
    the attached pages' body in a section of their own, with headers and footers of their own (a section without
    them would show the letter's page number); every relationship names a part of the package. Which pages are
    the letter's own is told by where the attached pages' opening lines start a page."""
    import io
    import posixpath
    import zipfile

    from docx.oxml.ns import qn
    from lxml import etree

    from saraban.kernel.settings import load_settings
    from saraban.letters.attachments import render_attachment_docx
    from saraban.letters.paper.attach import followed_by, own_pages
    from saraban.letters.paper.pages import Line, Page
    from saraban.letters.shapes import renderer_for

    settings = load_settings()
    spec = parse_spec(with_attachments())
    letter, attached = renderer_for(settings).render(spec), render_attachment_docx(spec, settings)
    joined = followed_by(letter, attached)
    path = tmp_path / "joined.docx"
    path.write_bytes(joined)
    doc = Document(path)
    blocks = list(doc.element.body)
    ends = [i for i, el in enumerate(blocks) if el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None]
    title = next(i for i, el in enumerate(blocks) if "แบบตอบรับการเข้าร่วมประชุม" in "".join(el.itertext()))
    assert len(doc.sections) == 2 and ends == [title - 1]  # the letter's section ends right before the pages
    assert "".join(blocks[0].itertext()) == "".join(Document(io.BytesIO(letter)).element.body[0].itertext())
    assert len(doc.tables[-1].rows) == len(UNITS) + 1
    own, extra = doc.sections
    assert not extra.header.is_linked_to_previous and not extra.footer.is_linked_to_previous
    assert own.header.part is not extra.header.part
    with zipfile.ZipFile(io.BytesIO(joined)) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        rels = etree.fromstring(z.read("word/_rels/document.xml.rels"))
        types = z.read("[Content_Types].xml").decode()
    for rel in rels:
        if rel.get("TargetMode") != "External":
            assert posixpath.normpath(f"word/{rel.get('Target')}") in names, rel.get("Target")
            if rel.get("Target").startswith(("header", "footer")):
                assert f"/word/{rel.get('Target')}" in types
    # The letter's own pages: those before the one the attached pages' title and first lines start.
    def page(*texts: str) -> Page:
        return Page(595, 842, [Line(t, 100, 100 + 20 * i, 400, 116 + 20 * i) for i, t in enumerate(texts)])

    pages = [page("ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔"), page("- ๒ -", "แบบตอบรับการเข้าร่วมประชุม ในหนังสือ"),
             page("แบบตอบรับการเข้าร่วมประชุม"[:3] + " " + "แบบตอบรับการเข้าร่วมประชุม"[3:],
                  "แนบท้ายหนังสือกรมส่งเสริมการปกครองท้องถิ่น"), page("บัญชีรายชื่อผู้รับ")]
    assert own_pages(pages, attached) == pages[:2]
    assert own_pages(pages[:2], attached) is None


def test_a_spec_without_attachments_keeps_its_hash():
    """Letters issued before attachments existed are still found as issued (the hash compares specs)."""
    spec = example_dict("03-department-circular")
    assert parse_spec(spec).hash() == parse_spec(spec | {"attachments": []}).hash()
    assert parse_spec(spec).hash() != parse_spec(with_attachments()).hash()


# ------------------------------------------------------------------------------------------------ the chain


def issue_to_all_provinces(db, settings):
    return issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="all:province_office", at=AT)


def test_a_circular_to_every_province_carries_the_list_of_its_recipients(db, settings):
    issued = issue_to_all_provinces(db, settings)
    make_files(db, settings, [issued.letter_id], pdf=True)
    with db.reading() as s:
        letter = s.get(Letter, issued.letter_id)
        names = s.scalars(select(Unit.name).join(Delivery, Delivery.unit_id == Unit.id)
                          .where(Delivery.letter_id == letter.id)).all()
        copy = s.scalars(select(Delivery).where(Delivery.letter_id == letter.id).limit(1)).one()
        pdf = local(settings, letter.pdf_key)
        verdict = check_file(s, pdf.read_bytes())
    assert len(names) == 76
    texts = page_texts(pdf)
    list_at = next(i for i, t in enumerate(texts) if "บัญชีรายชื่อ" in compact(t))
    assert list_at >= 1 and "ที่ มท ๐๘๒๐.๒/ว ๑" in texts[0]
    assert "ที่มท๐๘๒๐.๒/ว๑ลงวันที่" in compact(texts[list_at])
    listed = [line.split(None, 1)[1].strip() for t in texts[list_at:] for line in t.splitlines()
              if line.strip()[:1] in "๑๒๓๔๕๖๗๘๙" and "จังหวัด" in line]
    assert sorted(map(letters_of, listed)) == sorted(map(letters_of, names))  # every recipient, once
    # The PDF recorded for /verify is the one with the list; each recipient's copy carries the list too.
    assert verdict.found and verdict.matches[0].kind == "letter"
    copy_texts = page_texts(local(settings, copy.pdf_key))
    assert len(copy_texts) == len(texts) and "บัญชีรายชื่อ" in compact(copy_texts[list_at])


def test_a_forward_carries_the_received_letter_stamped(db, settings):
    """field-examples §1.3 → §1.4: Krabi receives the department's circular and forwards it to its districts;
    its letter names the department's in สิ่งที่ส่งมาด้วย, and the stamped copy Krabi received follows it."""
    issued = issue_to_all_provinces(db, settings)
    make_files(db, settings, [issued.letter_id], pdf=True)
    receive(db, settings, issued.letter_id, "prov.81", at=AT)
    fwd = forward(db, settings, issued.letter_id, "prov.81", at=AT)
    make_files(db, settings, [fwd.letter_id], pdf=True)
    with db.reading() as s:
        letter = s.get(Letter, fwd.letter_id)
        received = s.get(Delivery, letter.forwards_delivery_id)
        stamped = local(settings, received.stamped_pdf_key)
        verdict = check_file(s, local(settings, letter.pdf_key).read_bytes())
    doc = "\n".join(p.text for p in Document(local(settings, letter.docx_key)).paragraphs)
    assert "สำเนาหนังสือกรมส่งเสริมการปกครองท้องถิ่น ที่ มท ๐๘๒๐.๒/ว ๑ ลงวันที่ ๒๙ มีนาคม ๒๕๖๗" in doc
    assert "รายละเอียดปรากฏตามสิ่งที่ส่งมาพร้อมนี้" in doc
    texts = page_texts(local(settings, letter.pdf_key))
    own = len(texts) - pages_of(stamped)  # the forwarding letter and its list of districts, then the received one
    assert own >= 2 and "ที่ กบ" in texts[0] and "บัญชีรายชื่อ" in compact(texts[own - 1])
    after = compact(texts[own])  # the department's letter, stamped by Krabi
    assert "ที่มท๐๘๒๐.๒/ว๑" in after and "เลขรับ๑" in after and "ที่กบ" not in after
    assert verdict.found
    # The districts' copies carry it too, each with its own tracking code on the first page.
    with db.reading() as s:
        copy = s.scalars(select(Delivery).where(Delivery.letter_id == fwd.letter_id).limit(1)).one()
    copy_texts = page_texts(local(settings, copy.pdf_key))
    assert "ที่มท๐๘๒๐.๒/ว๑" in compact(copy_texts[len(copy_texts) - pages_of(stamped)])


def test_the_demo_chain_carries_each_received_letter_down(db, settings):
    """Carried down to the local administrations, then all PDFs made in one call: each forwarding letter's
    PDF ends with the copy its office received (the department's inside the province's inside the district's)."""
    issued = issue_to_all_provinces(db, settings)
    receive_many(db, settings, issued.letter_id, ["prov.70"], at=AT)
    made = carry_down(db, settings, issued.letter_id, "prov.70", at=AT)
    make_files(db, settings, [issued.letter_id, *made], pdf=True)
    with db.reading() as s:
        province, district = (s.get(Letter, i) for i in made)
        refs = [x.ref_text for x in (province, district)]
    district_pages = compact("".join(page_texts(local(settings, district.pdf_key))))
    for ref in ["มท 0820.2/ว 1", *refs]:
        assert compact("ที่ " + to_thai_digits(ref)) in district_pages, ref
    assert district_pages.count("เลขรับ") >= 2  # stamped by the province and by the district
