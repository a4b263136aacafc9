"""The QR lands somewhere: /t/<token> shows anyone that a copy is genuine and to whom it went, nothing
confidential; the addressed office's clerk gets ลงรับ right there; a token that is not ours is refused with
a plain page. And the sender's own file copy carries, in the same place, the letter's public check (/verify)
instead of a tracking link (real PDFs, zxing, pdftotext)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from docx import Document
from PIL import Image
from sqlalchemy import func, select

from saraban.chain.tracking import new_token, secret_key
from saraban.records.models import Delivery, Event, Letter, Unit
from tests.stored import local
from tests.web import web_world  # noqa: F401  (the web fixture)

SUBJECT = "ส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน"
KRABI = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
PHUKET = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดภูเก็ต"
REFUSED = "ไม่พบหนังสือตามรหัสนี้"
TRACKING_CAPTION = "QR สำหรับตรวจสอบ"  # the caption's start (it may wrap): the same on every copy


def circular(web, **changes):
    """The department's circular to Krabi's and Phuket's offices, dated today (the date check refuses a
    letter dated long ago)."""
    from saraban.kernel.clock import today

    return web.circular(date=today().isoformat(), **changes)


def copy_of(web, letter_id: int, unit_key: str) -> Delivery:
    with web.db.reading() as s:
        return s.scalar(select(Delivery).join(Unit, Unit.id == Delivery.unit_id)
                        .where(Delivery.letter_id == letter_id, Unit.key == unit_key))


def opened_events(web, delivery_id: int) -> int:
    with web.db.reading() as s:
        return s.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "delivery.opened", Event.delivery_id == delivery_id))


def test_anyone_scanning_the_qr_sees_the_letter_is_genuine_and_nothing_confidential(web):
    issued = circular(web)
    krabi = copy_of(web, issued.letter_id, "prov.81")
    page = web.client().get(f"/t/{krabi.token}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "ที่ มท ๐๘๒๐.๒/ว ๑" in text and SUBJECT in text and KRABI in text
    assert "กรมส่งเสริมการปกครองท้องถิ่น" in text and "ยังไม่ลงรับ" in text
    assert f'href="/login?next=/t/{krabi.token}"' in text and "เข้าสู่ระบบเพื่อลงรับ" in text
    assert PHUKET not in text  # no other recipient
    assert "ด้วยกรมส่งเสริมการปกครองท้องถิ่นได้รับแจ้ง" not in text  # no body
    assert "/receive" not in text and ".pdf" not in text and ".docx" not in text  # no act, no files
    assert copy_of(web, issued.letter_id, "prov.81").opened_at is None  # a stranger's look is no opening


def test_a_received_copy_shows_its_receipt(web):
    from saraban.chain.circulars import receive

    issued = circular(web)
    receipt = receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    page = web.client().get(f"/t/{copy_of(web, issued.letter_id, 'prov.81').token}")
    assert "ลงรับแล้ว" in page.text and "ยังไม่ลงรับ" not in page.text
    from thai_text import to_thai_digits

    assert f"เลขรับ {to_thai_digits(f'{receipt.number}/{receipt.year}')}" in page.text


def test_a_secret_letter_shows_only_that_it_exists_and_to_whom(web):
    issued = circular(web, secrecy="ลับ", subject="เรื่องลับเฉพาะ <b>ห้ามเปิดเผย</b>")
    page = web.client().get(f"/t/{copy_of(web, issued.letter_id, 'prov.81').token}")
    assert page.status_code == 200
    assert "ลับ" in page.text and KRABI in page.text and "ที่ มท ๐๘๒๐.๒/ว ๑" in page.text
    assert "เรื่องลับเฉพาะ" not in page.text and "ห้ามเปิดเผย" not in page.text


@pytest.mark.parametrize("how", ["one character changed", "signed with another key", "unknown", "malformed",
                                 "too long"])
def test_a_token_that_is_not_ours_gets_a_plain_refusal(web, how):
    issued = circular(web)
    token = copy_of(web, issued.letter_id, "prov.81").token
    if how == "one character changed":
        token = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    elif how == "signed with another key":
        token = new_token(b"someone else's secret")
    elif how == "unknown":
        token = new_token(secret_key(web.settings))  # genuine, but no copy carries it
    elif how == "malformed":
        token = "%%%' OR 1=1 --"
    else:
        token = "A" * 5000
    for client in (web.client(), web.client("krabi.clerk")):
        page = client.get(f"/t/{token}")
        assert page.status_code == 404
        assert REFUSED in page.text and "this code is not one of ours" in page.text
        assert "Traceback" not in page.text and "/receive" not in page.text


def test_the_addressed_clerk_gets_the_receive_button_and_the_opening_is_recorded_once(web):
    issued = circular(web)
    krabi = copy_of(web, issued.letter_id, "prov.81")
    clerk = web.client("krabi.clerk")
    page = clerk.get(f"/t/{krabi.token}")
    assert f'action="/deliveries/{krabi.id}/receive"' in page.text
    assert 'name="csrf"' in page.text and f'href="/deliveries/{krabi.id}"' in page.text
    assert "เข้าสู่ระบบเพื่อลงรับ" not in page.text
    first = copy_of(web, issued.letter_id, "prov.81").opened_at
    assert first is not None
    clerk.get(f"/t/{krabi.token}")
    web.client("krabi.head").get(f"/t/{krabi.token}")
    assert copy_of(web, issued.letter_id, "prov.81").opened_at == first
    assert opened_events(web, krabi.id) == 1


def test_another_office_sees_only_the_public_page(web):
    issued = circular(web)
    krabi = copy_of(web, issued.letter_id, "prov.81")
    for name in ("phuket.clerk", "krabi.admin", "dept.clerk"):
        page = web.client(name).get(f"/t/{krabi.token}")
        assert page.status_code == 200 and SUBJECT in page.text
        assert "/receive" not in page.text and f'href="/deliveries/{krabi.id}"' not in page.text, name
    assert copy_of(web, issued.letter_id, "prov.81").opened_at is None
    assert opened_events(web, krabi.id) == 0


# --- the sender's own file copy --------------------------------------------------------------------------


def pdf_qr_codes(pdf: Path, tmp_path: Path) -> set[str]:
    prefix = tmp_path / pdf.stem
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(prefix)], check=True)
    found: set[str] = set()
    for png in sorted(tmp_path.glob(f"{pdf.stem}*.png")):
        found |= {b.text for b in zxingcpp.read_barcodes(Image.open(png))}
    return found


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def docx_qr_codes(path: str) -> set[str]:
    found: set[str] = set()
    for rel in Document(path).part.rels.values():
        if "image" in rel.reltype:
            found |= {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(rel.target_part.blob)))}
    return found


def test_the_senders_file_copy_carries_the_verify_link_where_each_recipients_copy_has_its_tracking_qr(web, tmp_path):
    from saraban.chain.circulars import make_files
    from saraban.chain.verification import check_file, verify_link

    if web.db.engine.dialect.name != "sqlite":
        pytest.skip("files do not depend on the database: one LibreOffice run is enough")
    issued = circular(web)
    make_files(web.db, web.settings, [issued.letter_id], pdf=True)
    with web.db.reading() as s:
        letter = s.get(Letter, issued.letter_id)
    krabi = copy_of(web, issued.letter_id, "prov.81")
    handbook = "https://example.org/greenlocal/handbook.pdf"
    tracking = f"{web.settings.base_url}/t/"
    check = verify_link(web.settings.base_url, letter.ref_text, letter.letter_date)

    own_pdf = pdf_qr_codes(local(web.settings, letter.pdf_key), tmp_path)
    assert own_pdf == {handbook, check}
    own_text = pdf_text(local(web.settings, letter.pdf_key))
    assert TRACKING_CAPTION in own_text
    assert docx_qr_codes(local(web.settings, letter.docx_key)) == {handbook, check}
    # Opened, the link answers with the letter's head (tests/test_web_verify.py); its PDF is recorded as issued.
    assert "ระบบสารบรรณนี้ออกหนังสือ" in web.client().get(check.removeprefix(web.settings.base_url)).text
    with web.db.reading() as s:
        (match,) = check_file(s, local(web.settings, letter.pdf_key).read_bytes()).matches
    assert (match.kind, match.letter.letter_id) == ("letter", letter.id)

    copy_pdf = pdf_qr_codes(local(web.settings, krabi.pdf_key), tmp_path)
    assert {handbook, f"{tracking}{krabi.token}"} <= copy_pdf
    assert pdf_text(local(web.settings, krabi.pdf_key)) == own_text  # the same letter, only the QR differs
    assert f"{tracking}{krabi.token}" in docx_qr_codes(local(web.settings, krabi.docx_key))


def test_the_clerk_receiving_on_the_tracking_page_comes_back_to_it(web):
    issued = circular(web)
    krabi = copy_of(web, issued.letter_id, "prov.81")
    clerk = web.client("krabi.clerk")
    page = clerk.get(f"/t/{krabi.token}")
    assert f'action="/deliveries/{krabi.id}/receive"' in page.text
    answer = clerk.post(f"/deliveries/{krabi.id}/receive", {"next": f"/t/{krabi.token}"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/t/{krabi.token}"
    assert "เลขรับ ๑/" in clerk.get(f"/t/{krabi.token}").text
    # pressed again with a foreign address to go on to: the same receipt, and back on this site only
    again = clerk.post(f"/deliveries/{krabi.id}/receive", {"next": "//evil.example/"})
    assert again.status_code == 303 and again.headers["location"] == f"/deliveries/{krabi.id}"
    with web.db.reading() as s:
        assert s.get(Delivery, krabi.id).receipt_number == 1
