"""E-mail against a real SMTP server (aiosmtpd) on loopback: Thai subjects and file names, the PDF
attached, retries with back-off, refusals and failures in the result and in the event trail."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saraban.kernel.clock import BANGKOK
from saraban.kernel.settings import Settings
from saraban.notify.mail import (
    NOT_CONFIGURED,
    OutgoingMail,
    build_message,
    mail_problems,
    message_id_for,
    record_mail,
    send_mail,
)
from saraban.records.models import Event
from tests.dbs import add_unit, fresh_database

THAI_SUBJECT = "ขอเชิญประชุมคณะกรรมการ ครั้งที่ ๑/๒๕๖๗ เรื่อง การจัดทำแผนพัฒนาท้องถิ่น"
THAI_FILE = "หนังสือ มท 0820.2-ว 1144.pdf"
AT = dt.datetime(2024, 6, 1, 10, 0, tzinfo=BANGKOK)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


class Store:
    """Accepts everything; refuses RCPT for nobody@..., answers DATA with ``data_replies`` first."""

    def __init__(self, data_replies: list[str] | None = None):
        self.envelopes = []
        self.data_replies = list(data_replies or [])
        self.lock = threading.Lock()  # several senders at once (tests/test_email_delivery.py)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(e.content) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(handler, **smtp_parameters):
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_settings(tmp_path: Path, port: int, **changes) -> Settings:
    return Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, mail_from="saraban@krabi.go.th",
                    **changes)


def check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"clerk" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / THAI_FILE
    path.write_bytes(PDF)
    return path


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (certificate, key)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_thai_subject_and_file_name_round_trip(tmp_path, pdf):
    store = Store()
    mail = OutgoingMail(to=["saraban@kokkhram.go.th"], subject=THAI_SUBJECT, body="เรียน นายก อบต.\nตามหนังสือที่แนบ",
                        attachments=[pdf], reply_to="clerk@krabi.go.th")
    with smtp_server(store) as port:
        result = send_mail(smtp_settings(tmp_path, port), mail)
    assert (result.ok, result.attempts, result.error, result.refused) == (True, 1, None, {})
    (envelope,) = store.envelopes
    assert envelope.mail_from == "saraban@krabi.go.th"
    assert envelope.rcpt_tos == ["saraban@kokkhram.go.th"]
    raw = envelope.content
    raw.decode("ascii")  # RFC 2047 / 2231 encoded: no SMTPUTF8 needed
    assert b"=?utf-8?" in raw and b"filename*" in raw
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert msg["Subject"] == THAI_SUBJECT
    assert msg["Message-ID"] == result.message_id
    assert msg["Reply-To"] == "clerk@krabi.go.th"
    assert msg.get_body(("plain",)).get_content() == "เรียน นายก อบต.\nตามหนังสือที่แนบ\n"
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == THAI_FILE
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_docx_mime_type(tmp_path):
    docx = tmp_path / "บันทึกข้อความ.docx"
    docx.write_bytes(b"PK\x03\x04 not really a docx")
    msg = build_message(OutgoingMail(["a@b.go.th"], "ทดสอบ", "x", [docx]), "saraban@krabi.go.th")
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content_type() == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert attachment.get_filename() == "บันทึกข้อความ.docx"


def test_refused_recipient_reported_and_recorded(tmp_path, pdf, sleeps):
    store = Store()
    mail = OutgoingMail(to=["saraban@kokkhram.go.th", "nobody@kokkhram.go.th"], subject=THAI_SUBJECT, body="x",
                        attachments=[pdf])
    with smtp_server(store) as port:
        result = send_mail(smtp_settings(tmp_path, port), mail, sleep=sleeps.append)
    assert not result.ok and result.attempts == 1 and sleeps == []
    assert result.refused == {"nobody@kokkhram.go.th": "550 5.1.1 no such user"}
    assert store.envelopes[0].rcpt_tos == ["saraban@kokkhram.go.th"]  # the others still got it

    db = fresh_database("sqlite", tmp_path)
    unit_id = add_unit(db, "krabi", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่")
    other_id = add_unit(db, "other", "หน่วยอื่น")
    with db.transaction() as session:
        kind = record_mail(session, result, actor="clerk", at=AT, unit_id=unit_id, subject=THAI_SUBJECT)
    assert kind == "mail.refused"
    with db.transaction() as session:
        (event,) = mail_problems(session, unit_id=unit_id)
        assert event.kind == "mail.refused" and event.unit_id == unit_id and event.actor == "clerk"
        assert event.data["refused"] == {"nobody@kokkhram.go.th": "550 5.1.1 no such user"}
        assert event.data["to"] == mail.to and event.data["attempts"] == 1
        assert event.data["subject"] == THAI_SUBJECT and event.data["message_id"] == result.message_id
        assert mail_problems(session, unit_id=other_id) == []
    db.engine.dispose()


def test_every_recipient_refused_is_permanent(tmp_path, sleeps):
    with smtp_server(Store()) as port:
        result = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["nobody@a.go.th"], "ทดสอบ", "x"),
                           sleep=sleeps.append)
    assert (result.ok, result.attempts, sleeps) == (False, 1, [])
    assert result.refused == {"nobody@a.go.th": "550 5.1.1 no such user"}
    assert result.error == "every recipient was refused"


def test_temporary_failure_retried_with_backoff(tmp_path, pdf, sleeps):
    store = Store(data_replies=["451 4.3.0 try again later"] * 2)
    with smtp_server(store) as port:
        result = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["a@b.go.th"], THAI_SUBJECT, "x", [pdf]),
                           sleep=sleeps.append)
    assert (result.ok, result.attempts, result.error) == (True, 3, None)
    assert sleeps == [1.0, 2.0]
    (envelope,) = store.envelopes
    assert BytesParser(policy=policy.default).parsebytes(envelope.content)["Message-ID"] == result.message_id


def test_temporary_failure_gives_up_after_attempts(tmp_path, sleeps):
    store = Store(data_replies=["451 4.3.0 try again later"] * 5)
    with smtp_server(store) as port:
        result = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"),
                           attempts=3, backoff=0.5, sleep=sleeps.append)
    assert (result.ok, result.attempts, sleeps) == (False, 3, [0.5, 1.0])
    assert "451 4.3.0 try again later" in result.error
    assert store.envelopes == []


def test_permanent_reply_not_retried(tmp_path, sleeps):
    with smtp_server(Store(data_replies=["554 5.7.1 rejected"])) as port:
        result = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"),
                           sleep=sleeps.append)
    assert (result.ok, result.attempts, sleeps) == (False, 1, [])
    assert "554 5.7.1 rejected" in result.error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login(tmp_path, sleeps):
    store = Store()
    mail = OutgoingMail(["a@b.go.th"], "ทดสอบ", "x")
    with smtp_server(store, authenticator=check_login, auth_required=True, auth_require_tls=False) as port:
        good = send_mail(smtp_settings(tmp_path, port, smtp_user="clerk", smtp_password="s3cret"), mail)
        bad = send_mail(smtp_settings(tmp_path, port, smtp_user="clerk", smtp_password="wrong"), mail,
                        sleep=sleeps.append)
        anonymous = send_mail(smtp_settings(tmp_path, port), mail, sleep=sleeps.append)
    assert good.ok and len(store.envelopes) == 1
    assert (bad.ok, bad.attempts, sleeps) == (False, 1, [])
    assert "SMTPAuthenticationError" in bad.error and "535" in bad.error
    assert not anonymous.ok and anonymous.attempts == 1 and "530" in anonymous.error
    assert len(store.envelopes) == 1


def test_connection_refused_retried_then_reported(tmp_path, sleeps):
    result = send_mail(smtp_settings(tmp_path, free_port()), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"),
                       sleep=sleeps.append)
    assert (result.ok, result.attempts, sleeps) == (False, 3, [1.0, 2.0])
    assert "ConnectionRefusedError" in result.error


def test_not_configured_is_a_visible_failure(tmp_path):
    db = fresh_database("sqlite", tmp_path)
    result = send_mail(Settings(data_dir=tmp_path), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"))
    assert (result.ok, result.attempts, result.error) == (False, 0, NOT_CONFIGURED)
    assert "SARABAN_SMTP_HOST" in result.error
    with db.transaction() as session:
        assert record_mail(session, result, actor="saraban", at=AT, kind="reminder.mailed") == "mail.failed"
    with db.transaction() as session:
        (event,) = mail_problems(session)
        assert event.data["error"] == NOT_CONFIGURED and event.data["purpose"] == "reminder.mailed"
    db.engine.dispose()


def test_sent_mail_recorded_and_not_a_problem(tmp_path):
    db = fresh_database("sqlite", tmp_path)
    unit_id = add_unit(db, "krabi", "จังหวัดกระบี่")
    with smtp_server(Store()) as port:
        result = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"))
    with db.transaction() as session:
        assert record_mail(session, result, actor="clerk", at=AT, unit_id=unit_id, subject="ทดสอบ") == "mail.sent"
    with db.transaction() as session:
        (event,) = session.query(Event).all()
        assert event.kind == "mail.sent" and event.data["refused"] == {} and event.data["error"] is None
        assert mail_problems(session, unit_id=unit_id) == []
    db.engine.dispose()


def test_bad_message_is_reported_not_raised(tmp_path):
    settings = smtp_settings(tmp_path, free_port())
    missing = send_mail(settings, OutgoingMail(["a@b.go.th"], "ทดสอบ", "x", [tmp_path / "ไม่มี.pdf"]))
    assert not missing.ok and missing.attempts == 0 and "attachment not found" in missing.error
    nobody = send_mail(settings, OutgoingMail([], "ทดสอบ", "x"))
    assert not nobody.ok and "no recipients" in nobody.error
    odd = send_mail(smtp_settings(tmp_path, 25, smtp_security="ssl"), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"))
    assert not odd.ok and "SARABAN_SMTP_SECURITY" in odd.error


def test_starttls_with_login(tmp_path, certificate):
    store = Store()
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with smtp_server(store, tls_context=server_context(certificate), require_starttls=True,
                     authenticator=check_login, auth_required=True) as port:  # AUTH only after STARTTLS
        settings = smtp_settings(tmp_path, port, smtp_security="starttls", smtp_user="clerk", smtp_password="s3cret")
        result = send_mail(settings, OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"), tls_context=trusted)
        plain = send_mail(smtp_settings(tmp_path, port), OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"),
                          sleep=lambda _: None)
    assert result.ok and len(store.envelopes) == 1
    assert not plain.ok and "530" in plain.error  # the server insists on STARTTLS


def test_implicit_tls_and_untrusted_certificate(tmp_path, certificate, sleeps):
    store = Store()
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    with smtp_server(store, ssl_context=server_context(certificate)) as port:
        settings = smtp_settings(tmp_path, port, smtp_security="tls")
        result = send_mail(settings, OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"), tls_context=trusted)
        untrusted = send_mail(settings, OutgoingMail(["a@b.go.th"], "ทดสอบ", "x"), sleep=sleeps.append)
    assert result.ok and len(store.envelopes) == 1
    assert (untrusted.ok, untrusted.attempts, sleeps) == (False, 1, [])  # a certificate problem is permanent
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error


@contextmanager
def silent_server():
    """A server that accepts connections and never says a word (not even its greeting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_a_silent_server_costs_one_timeout_then_sends_fail_at_once(tmp_path, sleeps):
    import time

    with silent_server() as port:
        settings = smtp_settings(tmp_path, port, smtp_timeout=0.5)
        started = time.monotonic()
        first = send_mail(settings, OutgoingMail(["a@b.go.th"], "ทวงถาม", "x"), sleep=sleeps.append)
        after_first = time.monotonic()
        others = [send_mail(settings, OutgoingMail([f"u{i}@b.go.th"], "ทวงถาม", "x"), sleep=sleeps.append)
                  for i in range(20)]
        elapsed_others = time.monotonic() - after_first
    assert not first.ok and first.attempts == 1 and "did not answer in time" in first.error
    assert after_first - started < 5 and sleeps == []  # one timeout, no retry, no back-off
    assert all(not r.ok and r.attempts == 0 and r.error.startswith("not tried:") for r in others)
    assert elapsed_others < 1  # 20 sends did not wait for the silent server again


def test_a_given_message_id_is_the_one_sent_every_time(tmp_path, sleeps):
    store = Store()
    with smtp_server(store) as port:
        settings = smtp_settings(tmp_path, port)
        stable = message_id_for(settings, "letter", 12, "a@b.go.th")
        results = [send_mail(settings, OutgoingMail(["a@b.go.th"], "ทวงถาม", "x"), sleep=sleeps.append,
                             message_id=stable) for _ in range(2)]
    assert [r.message_id for r in results] == [stable, stable]
    assert stable == message_id_for(settings, "letter", 12, "a@b.go.th") != message_id_for(settings, "letter", 13)
    sent = [BytesParser(policy=policy.default).parsebytes(e.content)["Message-ID"] for e in store.envelopes]
    assert sent == [stable, stable]
