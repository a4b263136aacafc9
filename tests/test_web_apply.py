"""Issue 11, point 1: a local administration applies from its copy of the invitation (the QR's /t/<token> leads to
/apply/<programme>?t=<token>), sees its running percentage and level, submits, downloads the numbered
acknowledgement at once; applying counts as ลงรับ of the invitation; evidence files are checked by content and
size. SQLite and PostgreSQL (the ``web`` fixture), real PDFs (LibreOffice, pypdf)."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from saraban.kernel.clock import now
from saraban.programmes.applications import apply, weighted_percent
from saraban.programmes.definitions import ProgrammeError
from saraban.records.models import Application, Delivery, Event, EvidenceFile, Letter, RegisterEntry, Unit
from tests.web import PROGRAMME_KEY, web_world  # noqa: F401  (the web fixture)

KEY = PROGRAMME_KEY
TOWN = "muni.8101.krabi"
PATONG = "muni.8301.patong"
CONTACT = {"contact.name": "นางสาวสมใจ รักษ์เมือง", "contact.position": "นักวิชาการสิ่งแวดล้อม",
           "contact.phone": "0 7561 1234", "contact.email": "somjai@example.org"}
COMPONENT_1 = {f"score.1.{n}": "5" for n in range(1, 10)}  # all of component 1 at the top of the scale


def counts(web) -> dict[str, int]:
    """Rows that applying or attaching would add."""
    with web.db.reading() as s:
        return {"applications": s.scalar(select(func.count()).select_from(Application)),
                "letters": s.scalar(select(func.count()).select_from(Letter)),
                "evidence": s.scalar(select(func.count()).select_from(EvidenceFile)),
                "events": s.scalar(select(func.count()).select_from(Event).where(Event.kind.like("application.%"))),
                "received": s.scalar(select(func.count()).select_from(Delivery)
                                     .where(Delivery.received_at.is_not(None)))}


def invitation_copy(web, world, unit_key: str) -> Delivery:
    with web.db.reading() as s:
        return s.scalar(select(Delivery).join(Unit, Unit.id == Delivery.unit_id).where(
            Delivery.letter_id == world.invitation.letter_id, Unit.key == unit_key))


def application_of(web, unit_key: str) -> Application | None:
    with web.db.reading() as s:
        return s.scalar(select(Application).join(Unit, Unit.id == Application.unit_id).where(Unit.key == unit_key))


def evidence_files(web) -> list:
    root = web.settings.output_dir / "applications"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def small_pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, "PDF")
    return buffer.getvalue()


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def applied(web, world, client=None) -> Application:
    """town.clerk's application, submitted through the form."""
    client = client or web.client("town.clerk")
    response = client.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {**CONTACT, **COMPONENT_1})
    assert response.status_code == 303, response.text
    return application_of(web, TOWN)


def upload(client, application_id: int, name: str, data: bytes, content_type: str, indicator: str = "1.1"):
    return client.http.post(f"/applications/{application_id}/evidence",
                            data={"csrf": client.csrf, "indicator": indicator},
                            files={"file": (name, data, content_type)})


# --- applying ------------------------------------------------------------------------------------------------


def test_the_towns_clerk_applies_from_its_copy_and_downloads_the_acknowledgement(web):
    world = web.programme()
    token = world.tokens[TOWN]
    clerk = web.client("town.clerk")

    # the QR's page leads the unit's people to the application; without a session, through the login
    tracking = clerk.get(f"/t/{token}")
    assert f'href="/apply/{KEY}?t={token}"' in tracking.text and "สมัครเข้าร่วมโครงการเมืองน่าอยู่" in tracking.text
    anonymous = web.client()
    assert f'href="/login?next={quote(f"/apply/{KEY}?t={token}")}"' in anonymous.get(f"/t/{token}").text
    to_login = anonymous.get(f"/apply/{KEY}?t={token}")
    assert to_login.status_code == 303
    assert unquote(to_login.headers["location"]) == f"/login?next=/apply/{KEY}?t={token}"

    page = clerk.get(f"/apply/{KEY}?t={token}")
    assert page.status_code == 200, page.text
    assert "เทศบาลเมืองกระบี่" in page.text and "เปิดรับสมัคร" in page.text and "(เวลาประเทศไทย)" in page.text
    assert 'name="contact.name"' in page.text and 'name="score.3.5"' in page.text
    assert "องค์ประกอบที่ ๔ เมืองแห่งการเรียนรู้และการบริหารจัดการที่ดี" in page.text
    assert invitation_copy(web, world, TOWN).received_at is None

    # the running percentage as they type (htmx), off-scale named, nothing stored
    before = counts(web)
    fragment = clerk.post(f"/apply/{KEY}/score?t={token}", {**CONTACT, **COMPONENT_1, "score.2.1": "5"},
                          headers={"hx-request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    scores = {k.removeprefix("score."): 5 for k in COMPONENT_1} | {"2.1": 5}
    percent = weighted_percent(_definition(web), scores)
    assert percent == pytest.approx(27.78)
    assert "ร้อยละ ๒๗.๗๘" in fragment.text and "ยังไม่ถึงระดับใด" in fragment.text
    higher = clerk.post(f"/apply/{KEY}/score", {**{f"score.{c}.{n}": "5" for c in (1, 2) for n in range(1, 10)}},
                        headers={"hx-request": "true"})
    assert "ร้อยละ ๕๐.๐๐" in higher.text and "ระดับส่งเสริม" in higher.text
    off = clerk.post(f"/apply/{KEY}/score", {"score.1.1": "9", "score.1.2": "ห้า"}, headers={"hx-request": "true"})
    assert "9 is out of range" in off.text and "คะแนนต้องเป็นตัวเลข" in off.text
    # without JavaScript: the button computes it on the page
    no_js = clerk.post(f"/apply/{KEY}/score?t={token}", {**CONTACT, **COMPONENT_1})
    assert no_js.status_code == 200 and "ร้อยละ ๒๕.๐๐" in no_js.text and 'value="นางสาวสมใจ รักษ์เมือง"' in no_js.text
    assert counts(web) == before

    # submitted: the acknowledgement's ที่ and its PDF at once; the invitation counts as received
    sent = clerk.post(f"/apply/{KEY}?t={token}", {**CONTACT, **COMPONENT_1})
    assert sent.status_code == 303 and sent.headers["location"] == f"/apply/{KEY}?t={token}&sent=new"
    page = clerk.get(sent.headers["location"])
    assert "ส่งใบสมัครแล้ว" in page.text and "หนังสือตอบรับ ที่ <strong id=\"ack-ref\">ทส ๐๙๐๓/๑</strong>" in page.text
    a = application_of(web, TOWN)
    assert (a.revision, a.contact["name"], a.scores["1.1"], a.provisional_level) == (1, CONTACT["contact.name"], 5,
                                                                                     None)
    assert f'href="/applications/{a.id}/acknowledgement.pdf"' in page.text
    pdf = clerk.get(f"/applications/{a.id}/acknowledgement.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f"attachment; filename*=utf-8''{quote('ทส 0903-1.pdf')}"
    # the print glues a ที่'s parts with no-break spaces (it never breaks across lines): read them as spaces
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).replace("\xa0", " ")
    assert "ที่ ทส ๐๙๐๓/๑" in text and "ได้รับใบสมัครของท่านแล้ว" in text and "ถึง เทศบาลเมืองกระบี่" in text

    copy = invitation_copy(web, world, TOWN)
    assert copy.received_at is not None and copy.received_by == "town.clerk" and copy.receipt_number == 1
    with web.db.reading() as s:
        line = s.scalar(select(RegisterEntry).where(RegisterEntry.delivery_id == copy.id))
        assert (line.series, line.number, line.letter_id) == ("receive", 1, world.invitation.letter_id)
    assert "ลงรับแล้ว เลขรับ ๑/" in page.text
    assert invitation_copy(web, world, PATONG).received_at is None  # the other unit's copy is its own

    # a second submit is an update: same row, revision 2, no second acknowledgement, no second receipt
    letters = counts(web)["letters"]
    again = clerk.post(f"/apply/{KEY}", {**CONTACT, "contact.phone": "0 7561 9999", **COMPONENT_1,
                                         **{f"score.4.{n}": "4" for n in range(1, 9)}})
    assert again.status_code == 303 and again.headers["location"].endswith("sent=updated")
    a = application_of(web, TOWN)
    assert (a.revision, a.contact["phone"], a.scores["4.1"]) == (2, "0 7561 9999", 4)
    assert counts(web)["letters"] == letters
    assert invitation_copy(web, world, TOWN).receipt_number == 1
    assert "ปรับปรุงใบสมัครแล้ว (ครั้งที่ ๒)" in clerk.get(again.headers["location"]).text


def _definition(web):
    from saraban.programmes.applications import get_programme

    with web.db.reading() as s:
        return get_programme(s, KEY).definition


def test_a_unit_that_applied_is_not_reminded_to_receive_the_invitation(web):
    from saraban.programmes.reminders import ReminderPolicy, due_reminders

    world = web.programme()
    applied(web, world)
    with web.db.reading() as s:
        dues = due_reminders(s, now() + timedelta(days=8), ReminderPolicy(deadline_before_days=(1,)))
        units = {d.unit.key for d in dues if d.kind == "receipt"}
    assert PATONG in units and TOWN not in units


def test_a_paper_application_recorded_late_stops_the_receipt_reminder_too(web):
    """The owner's record of a late paper application does not ลงรับ for the unit, yet the unit that applied
    is not reminded to receive the invitation."""
    from saraban.kernel.clock import today
    from saraban.programmes.applications import record_late_application
    from saraban.programmes.reminders import ReminderPolicy, due_reminders

    at = now()
    world = web.programme(opens=at - timedelta(days=30), closes=at - timedelta(days=1))
    record_late_application(web.db, web.settings, KEY, TOWN, contact={"name": "นายสมชาย"}, reason="ส่งทางไปรษณีย์",
                            received_on=today(), actor="deqp.clerk")
    assert invitation_copy(web, world, TOWN).received_at is None
    with web.db.reading() as s:
        dues = due_reminders(s, at + timedelta(days=8), ReminderPolicy(deadline_before_days=(1,)))
        assert {d.unit.key for d in dues if d.kind == "receipt"} == {PATONG}


# --- the window, eligibility, others' -------------------------------------------------------------------------


def test_the_closing_minute_in_thai_time(web):
    closes = (now() + timedelta(days=2)).replace(second=0)
    web.programme(closes=closes)
    contact = {"name": "นายสมชาย"}
    before = counts(web)
    with pytest.raises(ProgrammeError, match="ไม่อยู่ในช่วงรับสมัคร") as late:
        apply(web.db, web.settings, KEY, PATONG, contact=contact, at=closes + timedelta(minutes=1))
    assert "outside the application window" in str(late.value)
    assert counts(web) == before
    last = apply(web.db, web.settings, KEY, TOWN, contact=contact, at=closes + timedelta(seconds=59))
    assert last.new and last.ack_ref == "ทส 0903/1"


def test_a_closed_programme_says_so_and_takes_nothing(web):
    at = now()
    world = web.programme(opens=at - timedelta(days=30), closes=at - timedelta(minutes=2))
    clerk = web.client("town.clerk")
    page = clerk.get(f"/apply/{KEY}?t={world.tokens[TOWN]}")
    assert page.status_code == 200
    assert "ปิดรับสมัครแล้ว" in page.text and "the application window has closed" in page.text
    assert f'action="/apply/{KEY}' not in page.text and 'name="contact.name"' not in page.text
    before = counts(web)
    refused = clerk.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {**CONTACT, **COMPONENT_1})
    assert refused.status_code == 409 and "ปิดรับสมัครแล้ว" in refused.text
    assert counts(web) == before and application_of(web, TOWN) is None
    assert invitation_copy(web, world, TOWN).received_at is None


def test_a_unit_that_is_not_eligible_sees_why(web):
    world = web.programme()
    clerk = web.client("krabi.clerk")  # the province's office: not a local administration
    page = clerk.get(f"/apply/{KEY}")
    assert page.status_code == 200
    assert "ซึ่งไม่มีสิทธิ์สมัคร" in page.text and "not eligible" in page.text
    assert 'name="contact.name"' not in page.text
    before = counts(web)
    refused = clerk.post(f"/apply/{KEY}", {**CONTACT, **COMPONENT_1})
    assert refused.status_code == 409 and "ไม่มีสิทธิ์สมัคร" in refused.text
    assert counts(web) == before
    # someone else's token: no form, whoever asks
    assert clerk.get(f"/apply/{KEY}?t={world.tokens[TOWN]}").status_code == 404
    patong = web.client("patong.clerk")
    assert patong.get(f"/apply/{KEY}?t={world.tokens[TOWN]}").status_code == 404
    assert patong.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {**CONTACT}).status_code == 404
    assert patong.get(f"/apply/{KEY}?t={world.tokens[PATONG]}").status_code == 200
    assert patong.get(f"/apply/{KEY}?t=not-a-token").status_code == 404
    assert patong.get("/apply/no-such-programme").status_code == 404
    assert web.client("krabi.staff").get(f"/apply/{KEY}").status_code == 403
    assert counts(web) == before
    # the list: the programme for the towns, none for the province's office
    assert f'href="/apply/{KEY}"' in patong.get("/applications").text
    assert "ยังไม่มีโครงการที่หน่วยงานของท่านสมัครได้" in clerk.get("/applications").text


def test_contact_text_is_stored_as_typed_and_shown_escaped(web):
    world = web.programme()
    clerk = web.client("town.clerk")
    typed = "นาย <b>ทดสอบ</b> & {{ 7*7 }} {% raw %}"
    response = clerk.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {"contact.name": typed,
                                                                   "contact.position": "<script>x</script>"})
    assert response.status_code == 303, response.text
    a = application_of(web, TOWN)
    assert a.contact["name"] == typed and a.contact["position"] == "<script>x</script>"
    page = clerk.get(response.headers["location"]).text
    assert 'value="นาย &lt;b&gt;ทดสอบ&lt;/b&gt; &amp; {{ 7*7 }} {% raw %}"' in page
    # not run as a template anywhere it is shown ("49" alone may be part of the page's random form token)
    assert "<script>x</script>" not in page and "&amp; 49" not in page and "& 49" not in page


def test_errors_are_shown_beside_their_fields_and_nothing_is_stored(web):
    world = web.programme()
    clerk = web.client("town.clerk")
    before = counts(web)
    page = clerk.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {"contact.email": "ไม่ใช่อีเมล", "score.1.1": "6"})
    assert page.status_code == 422
    assert re.search(r'data-field="score.1.1">6 is out of range', page.text)
    assert counts(web) == before
    page = clerk.post(f"/apply/{KEY}?t={world.tokens[TOWN]}", {"contact.email": "ไม่ใช่อีเมล"})
    assert page.status_code == 422
    assert 'data-field="contact.name">required' in page.text and 'data-field="contact.email">' in page.text
    assert 'value="ไม่ใช่อีเมล"' in page.text
    assert counts(web) == before


# --- evidence ------------------------------------------------------------------------------------------------


def test_evidence_is_checked_by_content_kept_and_removed(web):
    world = web.programme()
    clerk = web.client("town.clerk")
    a = applied(web, world, clerk)
    before = counts(web)

    fake = upload(clerk, a.id, "รายงาน.pdf", "นี่ไม่ใช่ PDF".encode(), "application/pdf")
    assert fake.status_code == 422 and "ไม่ใช่ PDF, PNG, JPEG, Word (.docx) ตามเนื้อหาของไฟล์" in fake.text
    renamed = upload(clerk, a.id, "photo.png", b"GIF89a" + bytes(100), "image/png")
    assert renamed.status_code == 422
    assert counts(web) == before and evidence_files(web) == []

    pdf, png = small_pdf(), small_png()
    ok = upload(clerk, a.id, "../../รายงานการคัดแยกขยะ.pdf", pdf, "application/octet-stream")
    assert ok.status_code == 303, ok.text
    assert upload(clerk, a.id, "ภาพกิจกรรม", png, "text/plain", indicator="2.6").status_code == 303
    with web.db.reading() as s:
        rows = s.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [(r.indicator, r.filename, r.content_type, r.size) for r in rows] == [
        ("1.1", "รายงานการคัดแยกขยะ.pdf", "application/pdf", len(pdf)),
        ("2.6", "ภาพกิจกรรม.png", "image/png", len(png))]
    assert all(not r.file_key.startswith("/") and TOWN in r.file_key for r in rows)
    again = upload(clerk, a.id, "อีกครั้ง.pdf", pdf, "application/pdf")  # the same file again: the same row
    assert again.status_code == 303 and counts(web)["evidence"] == before["evidence"] + 2
    page = clerk.get(f"/apply/{KEY}").text
    assert f'href="/applications/{a.id}/evidence/{rows[0].id}">รายงานการคัดแยกขยะ.pdf</a>' in page

    got = clerk.get(f"/applications/{a.id}/evidence/{rows[0].id}")
    assert got.status_code == 200 and got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == f"attachment; filename*=utf-8''{quote('รายงานการคัดแยกขยะ.pdf')}"
    assert web.client("town.head").get(f"/applications/{a.id}/evidence/{rows[1].id}").content == png
    # the owner's appointed assessor and clerk may read it; another assessor, another unit and staff may not
    assert web.client("deqp.assessor").get(f"/applications/{a.id}/evidence/{rows[0].id}").status_code == 200
    assert web.client("deqp.clerk").get(f"/applications/{a.id}/evidence/{rows[0].id}").status_code == 200
    for who in ("deqp.assessor2", "patong.clerk", "krabi.clerk"):
        assert web.client(who).get(f"/applications/{a.id}/evidence/{rows[0].id}").status_code == 404, who
        assert web.client(who).get(f"/applications/{a.id}/acknowledgement.pdf").status_code == 404, who
    patong = web.client("patong.clerk")
    assert upload(patong, a.id, "x.pdf", pdf, "application/pdf").status_code == 404
    assert patong.post(f"/applications/{a.id}/evidence/{rows[0].id}/remove").status_code == 404
    assert counts(web)["evidence"] == before["evidence"] + 2

    removed = clerk.post(f"/applications/{a.id}/evidence/{rows[0].id}/remove")
    assert removed.status_code == 303
    assert clerk.post(f"/applications/{a.id}/evidence/{rows[0].id}/remove").status_code == 303  # again: nothing
    with web.db.reading() as s:
        row = s.get(EvidenceFile, rows[0].id)
        assert row.removed_at is not None
        kinds = s.scalars(select(Event.kind).where(Event.kind.like("application.evidence%")).order_by(Event.id)).all()
    assert kinds == ["application.evidence_added", "application.evidence_added", "application.evidence_removed"]
    assert clerk.get(f"/applications/{a.id}/evidence/{rows[0].id}").status_code == 404
    assert "รายงานการคัดแยกขยะ.pdf" not in clerk.get(f"/apply/{KEY}").text


def test_a_200_mb_upload_is_refused_early_and_nothing_is_stored(web):
    world = web.programme()
    clerk = web.client("town.clerk")
    a = applied(web, world, clerk)
    before = counts(web)
    # a body that says it is 200 MB: refused before it is read
    big = clerk.http.post(f"/applications/{a.id}/evidence", content=b"x" * 1000, headers={
        "content-type": "multipart/form-data; boundary=b", "content-length": str(200 * 1024 * 1024),
        "x-csrf-token": clerk.csrf})
    assert big.status_code == 413 and "ใหญ่เกินไป" in big.text and "too large" in big.text
    # a body without a length: read as it comes and refused once past the limit, the rest never read
    status, chunks = _stream(web, clerk, f"/applications/{a.id}/evidence", megabytes=200)
    assert status == 413 and chunks <= 12
    # a file just over the per-file limit inside a body under the request's limit: refused by the core
    over = upload(clerk, a.id, "ใหญ่.pdf", b"%PDF-1.4\n" + bytes(web.settings.upload_max_bytes), "application/pdf")
    assert over.status_code == 413 and "รับได้ไม่เกิน 10 MB ต่อไฟล์" in over.text
    assert counts(web) == before and evidence_files(web) == []


def _stream(web, client, path: str, *, megabytes: int) -> tuple[int, int]:
    """POST a multipart body of ``megabytes`` sent 1 MB at a time (no Content-Length) straight to the app;
    (the status, how many chunks the app read)."""
    chunk = b"x" * (1024 * 1024)
    head = (f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{client.csrf}\r\n--b\r\n"
            "Content-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    cookie = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode()),
                         (b"content-type", b"multipart/form-data; boundary=b"), (b"transfer-encoding", b"chunked")]}
    read = 0
    status = 0

    async def receive():
        nonlocal read
        read += 1
        if read == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": chunk, "more_body": read <= megabytes}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asyncio.run(web.app(scope, receive, send))
    return status, read


def test_content_types_are_told_by_content():
    from docx import Document

    from saraban.programmes.evidence import content_type

    buffer = io.BytesIO()
    Document().save(buffer)
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    other_zip = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("content.xml", "<x/>")  # an OpenDocument-like zip: not a .docx
    assert content_type(buffer.getvalue()) == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert content_type(jpeg.getvalue()) == "image/jpeg"
    assert content_type(small_png()) == "image/png" and content_type(small_pdf()) == "application/pdf"
    for data in (other_zip.getvalue(), b"\x89PNG\r\n\x1a\n" + bytes(50), b"\xff\xd8\xff" + bytes(50), b"<html>",
                 b"GIF89a", b""):
        assert content_type(data) is None, data[:10]


# --- at once ---------------------------------------------------------------------------------------------------


def _wave(n: int, act) -> list:
    import threading

    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = act(i)
        except BaseException as e:  # noqa: BLE001  (collected: the test fails with every error)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return results


def test_applying_and_attaching_at_once_happen_once(web):
    """Simultaneous first applications: one application, one acknowledgement, one receipt of the invitation;
    the same file sent at once: one row."""
    from saraban.programmes.evidence import add_evidence

    world = web.programme()
    results = _wave(4, lambda i: apply(web.db, web.settings, KEY, TOWN, contact={"name": f"ผู้ประสานงาน {i}"},
                                       actor="town.clerk"))
    assert len({(r.application_id, r.ack_ref) for r in results}) == 1
    assert sorted(r.new for r in results) == [False, False, False, True]
    assert sum(len(r.received) for r in results) >= 1
    copy = invitation_copy(web, world, TOWN)
    with web.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(RegisterEntry)
                        .where(RegisterEntry.delivery_id == copy.id)) == 1
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "delivery.received",
                                                                      Event.delivery_id == copy.id)) == 1
    assert counts(web)["applications"] == 1
    pdf = small_pdf()
    added = _wave(4, lambda i: add_evidence(web.db, web.settings, results[0].application_id, "1.1", f"{i}.pdf", pdf,
                                            actor="town.clerk"))
    assert len({a.evidence_id for a in added}) == 1 and sum(a.new for a in added) == 1
    assert counts(web)["evidence"] == 1 and len(evidence_files(web)) == 1
