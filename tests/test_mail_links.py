"""Issue 11, point 5: e-mails whose links work and whose attachment is the letter's PDF.

A real SMTP server (aiosmtpd) on loopback receives the acknowledgement of an application (core apply) and
the reminders of the daily run (a deadline reminder and a "not received" reminder); the messages are parsed
with the email package. Every link starts with SARABAN_BASE_URL and, requested through the real app (as the
unit's clerk where it needs a login), opens its page; the one attachment is the letter's PDF (pypdf reads
it) named by its reference number, never the editable .docx; and /verify knows it as an exact copy."""

from __future__ import annotations

import dataclasses
import io
import re
import socket
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from sqlalchemy import select

from saraban.records.models import Letter, Programme
from tests.web import web_world  # noqa: F401  (the web fixture)

BASE = "https://saraban.example.go.th"  # not the test client's host: a link built from anything else fails
LINK = re.compile(r"https?://[^\s<>\"')]+")
TOWN, PATONG = "muni.8101.krabi", "muni.8301.patong"
SCORES = {"1.1": 4, "1.2": 3}


class Store:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(e.content) for e in self.envelopes]


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Store()
    controller = Controller(store, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield store, port
    finally:
        controller.stop()


def mail_settings(web, port: int):
    """The world's settings with the loopback mail server and a public base URL of its own."""
    return dataclasses.replace(web.settings, smtp_host="127.0.0.1", smtp_port=port, base_url=BASE,
                               mail_from="saraban@deqp.example.org")


def links(message: EmailMessage) -> list[str]:
    return LINK.findall(message.get_body(("plain",)).get_content())


def check_links(web, message: EmailMessage, clerk: str) -> list[str]:
    """Every link starts with BASE and opens its page: logged out, 200 or 303 to the login page; as ``clerk``
    (the addressed unit's), 200. Returns the paths."""
    found = links(message)
    assert found, message.get_body(("plain",)).get_content()
    paths = []
    anonymous, logged_in = web.client(), web.client(clerk)
    for url in found:
        assert url.startswith(BASE + "/"), url
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = anonymous.get(path)
        assert answer.status_code == 200 or (answer.status_code == 303
                                             and answer.headers["location"].startswith("/login")), (url, answer)
        page = logged_in.get(path)
        assert page.status_code == 200, (url, page.status_code, page.text[:500])
        paths.append(path)
    return paths


def check_attachment(web, message: EmailMessage, ref_text: str) -> bytes:
    """The one attachment: the letter's PDF named by its reference number ("/" → "-"), a real PDF, and
    exactly a file saraban issued."""
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    (pdf,) = attachments
    assert pdf.get_filename() == ref_text.replace("/", "-") + ".pdf"
    assert not any(a.get_filename().endswith(".docx") for a in attachments)
    data = pdf.get_content()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = "".join(page.extract_text() or "" for page in reader.pages)
    assert "ที่" in text
    return data


def verified(web, data: bytes) -> str:
    visitor = web.client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', visitor.get("/verify").text)[1]
    answer = visitor.http.post("/verify", data={"csrf": csrf}, files={"file": ("x.pdf", data, "application/pdf")})
    assert answer.status_code == 200
    return answer.text


def test_the_acknowledgement_and_the_reminders_carry_working_links_and_the_pdf(web, smtp):
    from saraban.directory.imports import update_unit
    from saraban.programmes.applications import apply
    from saraban.programmes.reminders import make_reminders

    store, port = smtp
    world = web.programme()
    settings = mail_settings(web, port)
    with web.db.transaction() as s:
        update_unit(s, TOWN, email="saraban@krabi-town.example.org")

    # the acknowledgement: to the contact and the unit, its copy of the letter attached as PDF
    result = apply(web.db, settings, world.key, TOWN, contact={"name": "นางสาวผู้ประสานงาน", "email":
                                                                "contact@krabi-town.example.org"}, scores=SCORES)
    assert result.new and result.mail is not None and result.mail.ok, result.mail
    (ack,) = store.messages()
    assert ack["To"] == "contact@krabi-town.example.org, saraban@krabi-town.example.org"
    paths = check_links(web, ack, "town.clerk")
    assert f"/apply/{world.key}?t={world.tokens[TOWN]}" in paths  # the unit's own application
    assert "/verify" in paths and any(p.startswith("/t/") for p in paths)  # its copy's page
    data = check_attachment(web, ack, result.ack_ref)
    assert "ทส ๐๙๐๓/๑" in ack.get_body(("plain",)).get_content()
    assert "ตรงกับสำเนาที่ส่งถึงหน่วยงานผู้รับทุกไบต์" in verified(web, data)

    # the daily run near the deadline: Patong has neither received the invitation nor applied
    with web.db.reading() as s:
        closes = s.scalar(select(Programme.closes_at).where(Programme.key == world.key))
    made = make_reminders(web.db, settings, closes - timedelta(days=2))
    assert not [r for r in made if r.unit_key == TOWN]  # the town applied (and so received): nothing for it
    results = [r for r in made if r.mail_status == "sent"]  # the directory's other units have no address
    assert sorted((r.kind, r.unit_key) for r in results) == [("deadline", PATONG), ("receipt", PATONG)]
    reminders = store.messages()[1:]
    assert len(reminders) == 2
    for r in results:
        message = next(m for m in reminders if r.ref.replace(" ", "") in
                       _arabic(m["Subject"]).replace(" ", ""))
        assert message["To"] == "patong@example.org"
        paths = check_links(web, message, "patong.clerk")
        assert "/verify" in paths
        if r.kind == "deadline":
            assert f"/apply/{world.key}?t={world.tokens[PATONG]}" in paths
        else:  # the copy not received: ลงรับ on its page
            assert f"/t/{world.tokens[PATONG]}" in paths
        data = check_attachment(web, message, r.ref)
        assert "ตรงกับสำเนาที่ส่งถึงหน่วยงานผู้รับทุกไบต์" in verified(web, data)
    with web.db.reading() as s:  # each reminder letter has its PDF now, made in one run for both
        for r in results:
            assert s.get(Letter, r.letter_id).pdf_key.endswith(".pdf")


def _arabic(text: str) -> str:
    from thai_text import to_arabic_digits

    return to_arabic_digits(text)


def test_without_a_mail_server_no_pdf_is_made_for_nothing(web):
    """No SMTP configured: the e-mail cannot go, so no PDF is made for it (the failure is recorded; the daily
    resend makes it when it sends)."""
    from saraban.programmes.applications import apply

    if web.db.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough")
    world = web.programme()
    result = apply(web.db, web.settings, world.key, TOWN, contact={"name": "นาย ก", "email": "a@example.org"})
    assert result.mail is not None and not result.mail.ok and "not configured" in result.mail.error
    with web.db.reading() as s:
        assert s.get(Letter, result.ack_letter_id).pdf_key is None
