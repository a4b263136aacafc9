"""Issue 11, point 4: /verify tells anyone whether saraban issued a letter, from its PDF (byte for byte: the
letter's own PDF, a copy sent to an office, a copy stamped on receipt) or from its reference number and date,
and shows nothing but the letter's head (ที่, ลงวันที่, the sending office). Real PDFs (LibreOffice, the
stamp), the real app in-process; nothing is written by a check."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from saraban.records.models import Delivery, Event, IssuedFile, Letter, Unit
from tests.stored import local
from tests.web import web_world  # noqa: F401  (the web fixture)

SUBJECT = "ส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน"
KRABI = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
PHUKET = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดภูเก็ต"
SENDER = "กรมส่งเสริมการปกครองท้องถิ่น"
GENUINE = "ออกโดยระบบสารบรรณนี้จริง"
NOT_OURS = "ไม่ใช่ไฟล์ที่ระบบนี้ออก"
EXACT = {"letter": "ตรงกับหนังสือฉบับที่ออกทุกไบต์", "copy": "ตรงกับสำเนาที่ส่งถึงหน่วยงานผู้รับทุกไบต์",
         "stamped": "ตรงกับสำเนาที่หน่วยงานผู้รับประทับตรารับแล้วทุกไบต์"}


class Visitor:
    """Someone without an account: the public page's CSRF token, then its forms."""

    def __init__(self, web) -> None:
        self.client = web.client()
        page = self.client.get("/verify")
        assert page.status_code == 200, page.text
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]

    def upload(self, data: bytes, name: str = "หนังสือ.pdf", kind: str = "application/pdf"):
        return self.client.http.post("/verify", data={"csrf": self.csrf}, files={"file": (name, data, kind)})

    def reference(self, ref: str, date: str):
        return self.client.http.post("/verify", data={"csrf": self.csrf, "ref": ref, "date": date})


def issued_world(web):
    """The department's circular to Krabi's and Phuket's offices with its PDFs, received (stamped) at Krabi."""
    from saraban.chain.circulars import make_files, receive

    issued = web.circular()
    make_files(web.db, web.settings, [issued.letter_id], pdf=True)
    receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    with web.db.reading() as s:
        letter = s.get(Letter, issued.letter_id)
        copies = {u.key: d for d, u in s.execute(select(Delivery, Unit).join(Unit, Unit.id == Delivery.unit_id)
                                                 .where(Delivery.letter_id == letter.id)).all()}
    return letter, copies


def counts(web) -> tuple[int, int]:
    with web.db.reading() as s:
        return s.scalar(select(func.count()).select_from(IssuedFile)), s.scalar(select(func.count()).select_from(Event))


def shows_nothing_else(text: str) -> None:
    assert SUBJECT not in text and KRABI not in text and PHUKET not in text


def test_a_file_we_issued_is_recognised_exactly_and_nothing_else_is_shown(web):
    letter, copies = issued_world(web)
    krabi, phuket = copies["prov.81"], copies["prov.83"]
    assert krabi.stamped_pdf_key and not phuket.stamped_pdf_key
    with web.db.reading() as s:  # every PDF that left saraban has its hash recorded
        kinds = sorted(s.scalars(select(IssuedFile.kind).where(IssuedFile.letter_id == letter.id)))
    assert kinds == ["copy", "copy", "letter", "stamped"]
    before = counts(web)
    visitor = Visitor(web)
    head = "ที่ มท ๐๘๒๐.๒/ว ๑"
    for path, kind in ((letter.pdf_key, "letter"), (phuket.pdf_key, "copy"), (krabi.pdf_key, "copy"),
                       (krabi.stamped_pdf_key, "stamped")):
        page = visitor.upload(local(web.settings, path).read_bytes())
        assert page.status_code == 200, page.text
        assert GENUINE in page.text and head in page.text and SENDER in page.text, path
        assert EXACT[kind] in page.text, (path, kind)
        assert [k for k, text in EXACT.items() if text in page.text] == [kind]
        assert NOT_OURS not in page.text
        shows_nothing_else(page.text)

    # one byte changed in the middle of the stamped copy: still a PDF, no longer ours
    data = bytearray(local(web.settings, krabi.stamped_pdf_key).read_bytes())
    data[len(data) // 2] ^= 0x01
    page = visitor.upload(bytes(data))
    assert page.status_code == 200 and NOT_OURS in page.text and "อาจถูกแก้ไข" in page.text
    assert GENUINE not in page.text and "มท ๐๘๒๐.๒" not in page.text

    # a PDF saraban never made
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(out)
    page = visitor.upload(out.getvalue(), name="other.pdf")
    assert page.status_code == 200 and NOT_OURS in page.text and GENUINE not in page.text
    assert counts(web) == before  # a check writes nothing


def test_bad_uploads_are_refused_with_a_clear_message(web):
    limit = web.settings.upload_max_bytes  # the site's one upload limit (SARABAN_UPLOAD_MAX_MB, 10 MB)
    visitor = Visitor(web)
    page = visitor.upload(b"PK\x03\x04 not a pdf at all", name="letter.pdf")  # claims to be a PDF
    assert page.status_code == 400 and "ไม่ใช่ PDF" in page.text and "not a PDF" in page.text
    page = visitor.upload(b"%PDF-1.7\n" + b"0" * limit, name="big.pdf")  # just over it: read, then refused
    assert page.status_code == 413 and "ไฟล์ใหญ่เกิน 10 MB" in page.text and "larger than 10 MB" in page.text
    page = visitor.upload(b"%PDF-1.7\n" + b"0" * (limit + 2 * 1024 * 1024), name="huge.pdf")  # refused unread
    assert page.status_code == 413 and "ใหญ่เกินไป" in page.text
    page = visitor.upload(b"", name="empty.pdf")
    assert page.status_code == 400 and "ไฟล์ว่าง" in page.text
    page = visitor.client.http.post("/verify", data={"csrf": visitor.csrf})
    assert page.status_code == 400 and "เลือกไฟล์ PDF ของหนังสือ หรือกรอกเลขที่และวันที่" in page.text
    page = visitor.reference("สวัสดี", "๑ มกราคม ๒๕๖๘")
    assert page.status_code == 400 and "เลขที่หนังสือไม่ถูกต้อง" in page.text
    page = visitor.reference("มท 0820.2/ว 1", "31 กุมภาพันธ์ 2568")
    assert page.status_code == 400 and "วันที่ไม่ถูกต้อง" in page.text
    # without the page's CSRF token: refused as any form of the site
    assert visitor.client.http.post("/verify", data={"ref": "มท 0820.2/ว 1", "date": "2025-01-01"}).status_code == 403


@pytest.mark.parametrize("typed", ["มท 0820.2/ว 1", "ที่ มท ๐๘๒๐.๒/ว ๑", "มท๐๘๒๐.๒/ว๑", "  มท  0820.2 / ว  1 "])
def test_a_reference_number_and_date_are_found_however_typed(web, typed):
    from thai_text import format_thai_date, to_thai_digits

    if web.db.engine.dialect.name != "sqlite" and typed != "ที่ มท ๐๘๒๐.๒/ว ๑":
        pytest.skip("the spellings do not depend on the database: one is enough on PostgreSQL")
    issued = web.circular()
    with web.db.reading() as s:
        day = s.get(Letter, issued.letter_id).letter_date
    visitor = Visitor(web)
    for date in (format_thai_date(day), day.isoformat(), to_thai_digits(day.isoformat())):
        page = visitor.reference(typed, date)
        assert page.status_code == 200, page.text
        assert "ระบบสารบรรณนี้ออกหนังสือ" in page.text and "ที่ มท ๐๘๒๐.๒/ว ๑" in page.text and SENDER in page.text
        assert f"ลงวันที่ {format_thai_date(day)}" in page.text
        shows_nothing_else(page.text)
    from datetime import timedelta

    page = visitor.reference(typed, (day - timedelta(days=1)).isoformat())  # the right number, another day
    assert page.status_code == 200 and "ไม่พบหนังสือเลขที่และวันที่นี้" in page.text and SENDER not in page.text
    page = visitor.reference(typed.replace("1", "2").replace("๑", "๒"), day.isoformat())  # not issued yet
    assert "ไม่พบหนังสือเลขที่และวันที่นี้" in page.text


def test_the_link_in_a_letters_own_qr_fills_the_check_and_answers_it(web):
    """The QR code of the sender's file copy carries /verify?ref=..&date=..: opened, the form is filled and
    answered (the letter's head only); a link that was altered says so, and nothing is written."""
    from urllib.parse import urlsplit

    from saraban.chain.verification import verify_link
    from thai_text import format_thai_date

    if web.db.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough")
    issued = web.circular()
    with web.db.reading() as s:
        letter = s.get(Letter, issued.letter_id)
    link = urlsplit(verify_link(web.settings.base_url, letter.ref_text, letter.letter_date))
    before = counts(web)
    page = web.client().get(f"{link.path}?{link.query}")
    assert page.status_code == 200, page.text
    assert "ระบบสารบรรณนี้ออกหนังสือ" in page.text and "ที่ มท ๐๘๒๐.๒/ว ๑" in page.text and SENDER in page.text
    assert f"ลงวันที่ {format_thai_date(letter.letter_date)}" in page.text
    assert 'value="มท 0820.2/ว 1"' in page.text and f'value="{letter.letter_date.isoformat()}"' in page.text
    shows_nothing_else(page.text)
    page = web.client().get(f"{link.path}?{link.query.replace('date=', 'date=x')}")
    assert page.status_code == 400 and "วันที่ไม่ถูกต้อง" in page.text
    assert "ตรวจด้วยไฟล์ PDF" in web.client().get("/verify").text  # no query: the plain form
    assert counts(web) == before


def test_the_tracking_page_links_to_the_check(web):
    issued = web.circular()
    with web.db.reading() as s:
        token = s.scalar(select(Delivery.token).where(Delivery.letter_id == issued.letter_id))
    page = web.client().get(f"/t/{token}")
    assert page.status_code == 200 and 'href="/verify"' in page.text
    assert 'href="/verify"' in web.client().get("/login").text  # the public menu too


def test_an_announcement_sent_with_many_letters_is_said_once(web):
    """A ประกาศ is recorded once per result letter it went with (record_issued_pdf, as the assessment does);
    recording the same file again adds nothing; the answer names it once, without a letter's number."""
    from saraban.chain.verification import record_issued_pdf

    if web.db.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough")
    first, second = web.circular(), web.circular(subject="หนังสือเวียนฉบับที่สอง")
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": "ประกาศผลการประเมิน"})
    writer.write(out)
    data = out.getvalue()
    with web.db.transaction() as s:
        for letter_id in (first.letter_id, second.letter_id, first.letter_id):
            record_issued_pdf(s, data, letter_id, None, "announcement")
    with web.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(IssuedFile).where(IssuedFile.kind == "announcement")) == 2
    page = Visitor(web).upload(data)
    assert page.status_code == 200 and page.text.count("ตรงกับประกาศฉบับที่ออกทุกไบต์") == 1
    assert "ประกาศของกรมส่งเสริมการปกครองท้องถิ่น" in page.text and "มท ๐๘๒๐.๒" not in page.text
