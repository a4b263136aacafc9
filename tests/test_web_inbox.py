"""หนังสือเข้า on the web: the inbox (search, paging, staff's view), the letter page with page 1 as an image,
ลงรับ by one button (exactly once, even for two clerks at the same moment), and assigning to staff."""

from __future__ import annotations

import io
import subprocess
import threading
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import func, insert, select

from saraban.chain.tracking import new_token, secret_key, tracking_url
from saraban.kernel.clock import now, today
from saraban.records.models import Assignment, Delivery, Event, Letter, RegisterEntry, Unit, User
from tests.stored import local
from tests.web import web_world  # noqa: F401  (the web fixture)

DEPT = "กรมส่งเสริมการปกครองท้องถิ่น"
KRABI = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
HX = {"HX-Request": "true"}


def circular(web, **changes):
    """The department's circular to Krabi and Phuket, dated today (a letter dated long ago needs a reason)."""
    return web.circular(**{"date": today(), **changes})


def delivery_of(web, letter_id: int, unit_key: str = "prov.81") -> Delivery:
    with web.db.reading() as s:
        return s.scalar(select(Delivery).join(Unit, Unit.id == Delivery.unit_id)
                        .where(Delivery.letter_id == letter_id, Unit.key == unit_key))


def user_id(web, username: str) -> int:
    with web.db.reading() as s:
        return s.scalar(select(User.id).where(User.username == username))


def receive_lines(web, delivery_id: int) -> list[RegisterEntry]:
    with web.db.reading() as s:
        return list(s.scalars(select(RegisterEntry).where(RegisterEntry.delivery_id == delivery_id,
                                                          RegisterEntry.series == "receive")))


def rows_of(page: str) -> list[str]:
    """The inbox table's rows, as text."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("<tr>")[1:]


def test_the_inbox_lists_the_circular_in_thai_digits_not_received_first_and_searches(web) -> None:
    from saraban.chain.circulars import receive

    first = circular(web)
    second = circular(web, subject="ขอเชิญประชุมเรื่องขยะ <script>alert(1)</script>")
    receive(web.db, web.settings, first.letter_id, "prov.81", actor="krabi.clerk")
    client = web.client("krabi.clerk")
    page = client.get("/inbox")
    assert page.status_code == 200
    rows = rows_of(page.text)
    assert len(rows) == 2
    assert "มท ๐๘๒๐.๒/ว ๒" in rows[0] and "รอลงรับ" in rows[0] and DEPT in rows[0]  # not received: first
    assert "&lt;script&gt;" in rows[0] and "<script>alert" not in page.text
    assert "มท ๐๘๒๐.๒/ว ๑" in rows[1] and "เลขรับ ๑/๒๕" in rows[1] and "น." in rows[1]
    assert "ทั้งหมด ๒ ฉบับ" in page.text
    assert f'href="/deliveries/{delivery_of(web, second.letter_id).id}"' in rows[0]

    def found(q: str) -> list[str]:
        answer = client.get("/inbox", params={"q": q})
        assert answer.status_code == 200
        return rows_of(answer.text) if "<tbody>" in answer.text else []

    assert len(found("ขยะ")) == 1 and "ว ๒" in found("ขยะ")[0]  # part of the subject
    assert len(found("คู่มือท้องถิ่น")) == 1
    assert len(found("ว ๑")) == 1 and "ว ๑<" in found("ว ๑")[0]  # ที่ in Thai digits
    assert len(found("0820.2/ว 2")) == 1  # ที่ in Arabic digits
    assert len(found("มท ๐๘๒๐")) == 2
    assert len(found("ส่งเสริมการปกครอง")) == 2  # the sender's name
    assert found("ไม่มีเรื่องนี้") == [] and "ไม่พบหนังสือที่ตรงกับ" in client.get("/inbox?q=ไม่มีเรื่องนี้").text
    assert found("%") == [] and found("_") == []  # LIKE's wildcards are searched for as themselves
    # Phuket's office was sent the same circulars; its inbox is its own.
    assert "รอลงรับ" in client.get("/inbox").text
    other = web.client("phuket.clerk").get("/inbox")
    assert len(rows_of(other.text)) == 2 and "เลขรับ" not in other.text


def test_the_inbox_pages_by_fifty_in_the_database(web) -> None:
    """61 deliveries to Krabi (inserted directly: numbering is not what is tested here)."""
    key = secret_key(web.settings)
    start = now() - timedelta(days=1)
    with web.db.transaction() as s:
        dept = s.scalar(select(Unit).where(Unit.key == "dla.env.2"))
        krabi = s.scalar(select(Unit).where(Unit.key == "prov.81"))
        for i in range(1, 62):
            letter = Letter(unit_id=dept.id, kind="stamped", circular=True, ref_text=f"มท 0820.2/ว {i}",
                            year=2569, number=i, letter_date=start.date(), subject=f"เรื่องที่ {i}", spec={},
                            spec_hash=f"h{i}", created_at=start + timedelta(minutes=i))
            s.add(letter)
            s.flush()
            s.execute(insert(Delivery), [{"letter_id": letter.id, "unit_id": krabi.id, "token": new_token(key),
                                          "sent_at": start + timedelta(minutes=i)}])
    client = web.client("krabi.clerk")
    page = client.get("/inbox")
    rows = rows_of(page.text)
    assert len(rows) == 50 and "ทั้งหมด ๖๑ ฉบับ" in page.text and "หน้า ๑/๒" in page.text
    assert "ว ๖๑<" in rows[0] and "ว ๑๒<" in rows[-1]  # newest first
    assert 'href="/inbox?page=2"' in page.text
    last = client.get("/inbox?page=2")
    rows = rows_of(last.text)
    assert len(rows) == 11 and "ว ๑๑<" in rows[0] and "ว ๑<" in rows[-1]
    assert len(rows_of(client.get("/inbox?page=99").text)) == 11  # past the end: the last page
    assert len(rows_of(client.get("/inbox?page=x").text)) == 50
    searched = client.get("/inbox", params={"q": "เรื่องที่ ๕", "page": "1"})
    assert "พบ ๑๑ ฉบับ" in searched.text  # เรื่องที่ 5 and 50..59: typed in Thai digits, stored in Arabic
    assert len(rows_of(searched.text)) == 11 and "หน้า" not in searched.text.split('id="total"')[1][:80]


def test_receive_through_the_page_stamps_the_copy_and_a_second_press_gives_the_same_number(web) -> None:
    issued = circular(web)
    d = delivery_of(web, issued.letter_id)
    assert d.pdf_key is None  # the circular's copies are .docx only: ลงรับ makes the PDFs first
    client = web.client("krabi.clerk")
    page = client.get(f"/deliveries/{d.id}")
    assert page.status_code == 200
    assert "ที่ มท ๐๘๒๐.๒/ว ๑" in page.text and DEPT in page.text and "ลงรับ</button>" in page.text
    assert f'<img class="page" src="/deliveries/{d.id}/page1.png"' in page.text
    assert f"/deliveries/{d.id}/file/docx" in page.text and f"/deliveries/{d.id}/file/pdf" in page.text

    fragment = client.post(f"/deliveries/{d.id}/receive", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "ลงรับแล้ว เลขรับ ๑/๒๕" in fragment.text and f"/deliveries/{d.id}/file/stamped" in fragment.text
    assert "ส่งต่อ" in fragment.text and f"/deliveries/{d.id}/forward" in fragment.text  # Krabi has districts below
    # the page image is swapped at once for the stamped copy's (htmx out-of-band)
    assert 'id="page1" hx-swap-oob="true"' in fragment.text
    assert f"/deliveries/{d.id}/page1.png?stamped=1" in fragment.text

    stamped = client.get(f"/deliveries/{d.id}/file/stamped")
    assert stamped.status_code == 200 and stamped.content.startswith(b"%PDF")
    assert "filename*=utf-8''" in stamped.headers["content-disposition"]
    text = subprocess.run(["pdftotext", "-", "-"], input=stamped.content, capture_output=True, check=True).stdout
    compact = "".join(text.decode().split())
    assert KRABI in compact and "เลขรับ๑" in compact

    again = client.post(f"/deliveries/{d.id}/receive")  # a second press (another tab, no htmx)
    assert again.status_code == 303 and again.headers["location"] == f"/deliveries/{d.id}"
    page = client.get(f"/deliveries/{d.id}")
    assert "ลงรับแล้ว เลขรับ ๑/๒๕" in page.text and "ลงรับ</button>" not in page.text and "krabi.clerk" in page.text
    assert len(receive_lines(web, d.id)) == 1

    png = client.get(f"/deliveries/{d.id}/page1.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    decoded = {b.text for b in zxingcpp.read_barcodes(image)}
    assert tracking_url(web.settings.base_url, d.token) in decoded  # this copy's own tracking link
    assert client.get(f"/deliveries/{d.id}/page1.png").content == png.content  # drawn once, kept
    with web.db.reading() as s:
        stamped_pdf = local(web.settings, s.get(Delivery, d.id).stamped_pdf_key)
    assert stamped_pdf.with_name(f"{stamped_pdf.stem}-page1.png").read_bytes() == png.content  # the stamped copy
    pdf = client.get(f"/deliveries/{d.id}/file/pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.content != stamped.content
    docx = client.get(f"/deliveries/{d.id}/file/docx")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    assert client.get(f"/deliveries/{d.id}/file/other").status_code == 404
    assert "เลขรับ ๑/๒๕" in client.get("/inbox").text


def test_two_clerks_pressing_at_the_same_moment_get_one_number(web) -> None:
    from saraban.chain.circulars import make_files

    issued = circular(web)
    make_files(web.db, web.settings, [issued.letter_id], pdf=True)  # the race is about the number
    d = delivery_of(web, issued.letter_id)
    clerks = [web.client("krabi.clerk"), web.client("krabi.head")]
    barrier = threading.Barrier(len(clerks))
    answers: list = [None] * len(clerks)

    def press(i: int) -> None:
        barrier.wait(timeout=30)
        answers[i] = clerks[i].post(f"/deliveries/{d.id}/receive", headers=HX)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(clerks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(a is not None and a.status_code == 200 for a in answers), [a and a.text for a in answers]
    assert all("ลงรับแล้ว เลขรับ ๑/๒๕" in a.text for a in answers)
    (line,) = receive_lines(web, d.id)
    assert line.number == 1
    with web.db.reading() as s:
        received = s.scalars(select(Event).where(Event.kind == "delivery.received",
                                                 Event.delivery_id == d.id)).all()
    assert len(received) == 1 and received[0].via == "web"


def test_staff_see_only_what_is_assigned_and_cannot_receive(web) -> None:
    issued = circular(web)
    other = circular(web, subject="เรื่องที่ไม่ได้มอบหมาย")
    d = delivery_of(web, issued.letter_id)
    staff = web.client("krabi.staff")
    assert "ยังไม่มีหนังสือเข้า" in staff.get("/inbox").text
    assert staff.get(f"/deliveries/{d.id}").status_code == 404

    clerk = web.client("krabi.clerk")
    page = clerk.get(f"/deliveries/{d.id}")
    assert "คุณkrabi.staff" in page.text and "คุณphuket.staff" not in page.text  # the office's staff only
    for wrong in (user_id(web, "phuket.staff"), user_id(web, "krabi.head"), "", "x"):
        refused = clerk.post(f"/deliveries/{d.id}/assign", {"user_id": str(wrong)})
        assert refused.status_code == 400 and ("เจ้าหน้าที่" in refused.text), refused.text
    for _ in range(2):  # twice: one assignment, one event
        done = clerk.post(f"/deliveries/{d.id}/assign", {"user_id": str(user_id(web, "krabi.staff"))})
        assert done.status_code == 303 and done.headers["location"].startswith(f"/deliveries/{d.id}")
    with web.db.reading() as s:
        assert s.scalar(select(func.count(Assignment.id))) == 1
        events = s.scalars(select(Event).where(Event.kind == "delivery.assigned")).all()
    assert len(events) == 1 and events[0].actor == "krabi.clerk" and events[0].delivery_id == d.id
    assert "คุณkrabi.staff" in clerk.get(f"/deliveries/{d.id}").text

    inbox = staff.get("/inbox")
    rows = rows_of(inbox.text)
    assert len(rows) == 1 and "ว ๑<" in rows[0] and "เรื่องที่ไม่ได้มอบหมาย" not in inbox.text
    page = staff.get(f"/deliveries/{d.id}")
    assert page.status_code == 200 and "ลงรับ</button>" not in page.text and "มอบหมายให้" not in page.text
    assert staff.post(f"/deliveries/{d.id}/receive").status_code == 403
    assert staff.post(f"/deliveries/{d.id}/assign", {"user_id": str(user_id(web, "krabi.staff"))}).status_code == 403
    assert staff.get(f"/deliveries/{delivery_of(web, other.letter_id).id}").status_code == 404
    assert receive_lines(web, d.id) == []
    assert web.client("krabi.admin").get("/inbox").status_code == 403

    # taken back (twice: once), the letter leaves the staff member's inbox
    assert staff.post(f"/deliveries/{d.id}/unassign", {"user_id": str(user_id(web, "krabi.staff"))}).status_code == 403
    assert "ยกเลิกการมอบหมาย" in clerk.get(f"/deliveries/{d.id}").text
    for _ in range(2):
        back = clerk.post(f"/deliveries/{d.id}/unassign", {"user_id": str(user_id(web, "krabi.staff"))})
        assert back.status_code == 303
    assert staff.get(f"/deliveries/{d.id}").status_code == 404 and "ยังไม่มีหนังสือเข้า" in staff.get("/inbox").text
    with web.db.reading() as s:
        taken = s.scalars(select(Event).where(Event.kind == "delivery.unassigned")).all()
    assert len(taken) == 1 and taken[0].before == {"assigned_to": "krabi.staff"}


def test_another_office_gets_404_for_krabis_delivery(web) -> None:
    issued = circular(web)
    d = delivery_of(web, issued.letter_id)
    phuket = web.client("phuket.clerk")
    for path in (f"/deliveries/{d.id}", f"/deliveries/{d.id}/page1.png", f"/deliveries/{d.id}/file/pdf",
                 f"/deliveries/{d.id}/file/docx", f"/deliveries/{d.id}/file/stamped", "/deliveries/999999"):
        assert phuket.get(path).status_code == 404, path
    assert phuket.post(f"/deliveries/{d.id}/receive").status_code == 404
    assert phuket.post(f"/deliveries/{d.id}/assign", {"user_id": str(user_id(web, "phuket.staff"))}).status_code == 404
    assert receive_lines(web, d.id) == [] and delivery_of(web, issued.letter_id).pdf_key is None
    with web.db.reading() as s:
        assert s.scalar(select(func.count(Assignment.id))) == 0


def test_a_cancelled_letter_shows_as_cancelled_and_cannot_be_received(web) -> None:
    from saraban.chain.circulars import cancel_letter

    issued = circular(web)
    cancel_letter(web.db, issued.letter_id, reason="ส่งผิดฉบับ", actor="dept.clerk")
    d = delivery_of(web, issued.letter_id)
    client = web.client("krabi.clerk")
    assert "ยกเลิก" in rows_of(client.get("/inbox").text)[0]
    assert '<strong id="waiting">๐</strong>' in client.get("/").text  # nothing waits: it was cancelled
    page = client.get(f"/deliveries/{d.id}")
    assert "ยกเลิก" in page.text and "ส่งผิดฉบับ" in page.text and "ลงรับ</button>" not in page.text
    refused = client.post(f"/deliveries/{d.id}/receive")
    assert refused.status_code == 409 and "ถูกยกเลิกแล้ว" in refused.text and "จึงลงรับไม่ได้" in refused.text
    fragment = client.post(f"/deliveries/{d.id}/receive", headers=HX)
    assert fragment.status_code == 200 and 'class="error"' in fragment.text and "ถูกยกเลิกแล้ว" in fragment.text
    assert receive_lines(web, d.id) == []
    assert local(web.settings, delivery_of(web, issued.letter_id).docx_key).exists()
