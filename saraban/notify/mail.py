"""Outgoing e-mail: a letter's PDF to the addressee's mailbox, over SMTP.

The settings (``SARABAN_SMTP_*``) give the server, its security (``none`` | ``starttls`` | ``tls``) and
the login. Subjects and file names may be Thai: the message is built with the default e-mail policy,
so headers are RFC 2047 encoded and attachment names RFC 2231 encoded (plain ASCII on the wire).

``send_mail`` never raises for a mail problem: callers (reminders, acknowledgements) keep going, and
the ``MailResult`` says what happened. Temporary failures (connection refused or reset, a dropped
connection, 4xx replies) are retried with exponential back-off; permanent ones (5xx replies, a wrong
password, a certificate that does not verify) are not. A server that does not answer costs one
``SARABAN_SMTP_TIMEOUT`` (10 s): it is not retried at once, and for the next minute every send to it
fails at once ("not tried") instead of waiting again — the daily run tries them again. A message's
``Message-ID`` may be given (:func:`message_id_for`), so a resend after a crash is the same message.
``record_mail`` writes every send to the event trail, ``mail_problems`` finds the failed and refused
ones for the status, and ``resolutions`` which of them a later send delivered.
"""

from __future__ import annotations

import hashlib
import mimetypes
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from saraban.kernel.clock import now
from saraban.kernel.settings import Settings
from saraban.records.events import record_event
from saraban.records.models import Event

SILENT_PAUSE = 60.0  # seconds during which a server that timed out is not tried again
SECURITY = ("none", "starttls", "tls")
PROBLEM_KINDS = ("mail.failed", "mail.refused")
NOT_CONFIGURED = "e-mail is not configured: set SARABAN_SMTP_HOST (and SARABAN_SMTP_PORT, SARABAN_SMTP_SECURITY)"
MIME_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
}


class MailError(ValueError):
    """A message that cannot be built (no recipients, a missing attachment)."""


@dataclass
class OutgoingMail:
    to: list[str]
    subject: str
    body: str
    # A file, or (file or its bytes, the name the addressee sees: e.g. the letter's reference number,
    # "ทส 0903-1.pdf"; bytes: a file read from the file store).
    attachments: list[Path | tuple[Path | bytes, str]] = field(default_factory=list)
    reply_to: str | None = None


@dataclass
class MailResult:
    ok: bool  # accepted by the server for every recipient
    to: list[str]
    refused: dict[str, str]  # address -> the server's code and message
    attempts: int
    error: str | None
    message_id: str


def message_id_for(settings: Settings, *parts: object) -> str:
    """A Message-ID that is the same every time for the same parts (e.g. a letter and its addressee), so
    that a message sent again after a crash is recognised as the same message.

    >>> from saraban.kernel.settings import Settings
    >>> message_id_for(Settings(data_dir=Path("."), mail_from="saraban@dla.go.th"), "letter", 7, "a@b.go.th")
    '<e66f8ba8f7ff20fa2f170d26.saraban@dla.go.th>'
    """
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:24]
    return f"<{digest}.saraban@{settings.mail_from.rpartition('@')[2] or 'localhost'}>"


# When a server last timed out, by (host, port): a monotonic clock reading.
_silent_since: dict[tuple[str, int], float] = {}


def mime_type(path: Path) -> tuple[str, str]:
    kind = MIME_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, subtype = kind.split("/", 1)
    return maintype, subtype


def build_message(mail: OutgoingMail, sender: str, message_id: str | None = None) -> EmailMessage:
    if not mail.to:
        raise MailError("the e-mail has no recipients")
    msg = EmailMessage()  # policy.default: RFC 2047 headers, RFC 2231 file names
    msg["From"] = sender
    msg["To"] = ", ".join(mail.to)
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now())  # Thai time (+0700), from the one clock
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(mail.body, charset="utf-8", cte="base64")  # 7-bit safe on any server
    for item in mail.attachments:
        source, name = item if isinstance(item, tuple) else (item, Path(item).name)
        if isinstance(source, bytes):
            data = source
        elif not Path(source).is_file():
            raise MailError(f"attachment not found: {source}")
        else:
            data = Path(source).read_bytes()
        maintype, subtype = mime_type(Path(name))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def _timed_out(error: BaseException) -> bool:
    """The server did not answer in time (smtplib reports a timed-out reply as a disconnection)."""
    return isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError)


def _failure(error: Exception) -> tuple[str, bool]:
    """What went wrong, and whether trying again later may help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "every recipient was refused", all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {_reply(error.smtp_code, error.smtp_error)}", 400 <= error.smtp_code < 500
    if _timed_out(error):  # a silent server: waiting again now would only cost more time
        return f"{type(error).__name__}: the server did not answer in time", False
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{type(error).__name__}: {error}", True
    if isinstance(error, ssl.SSLError):  # the certificate does not verify, no common protocol
        return f"{type(error).__name__}: {error}", False
    # OSError: refused, reset, unreachable, DNS; others: no STARTTLS or AUTH offered, a non-ASCII address
    return f"{type(error).__name__}: {error}", isinstance(error, OSError)


def _send_once(settings: Settings, msg: EmailMessage, recipients: list[str],
               tls_context: ssl.SSLContext | None) -> dict[str, str]:
    host, port = settings.smtp_host or "", settings.smtp_port
    context = tls_context or ssl.create_default_context()
    if settings.smtp_security == "tls":
        client = smtplib.SMTP_SSL(host, port, timeout=settings.smtp_timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=settings.smtp_timeout)
    try:
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        refused = client.send_message(msg, from_addr=settings.mail_from, to_addrs=recipients)
    finally:
        try:  # a failed QUIT must neither hide the real error nor undo a message already accepted
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return {address: _reply(code, text) for address, (code, text) in refused.items()}


def send_mail(settings: Settings, mail: OutgoingMail, *, attempts: int = 3, backoff: float = 1.0,
              sleep: Callable[[float], None] = time.sleep, tls_context: ssl.SSLContext | None = None,
              message_id: str | None = None) -> MailResult:
    """Send ``mail``; up to ``attempts`` tries, waiting ``backoff``, 2×``backoff``, ... between them.
    ``tls_context`` replaces the default (system CAs, host name checked), e.g. for a private CA;
    ``message_id`` (see :func:`message_id_for`) makes a resend the same message."""
    to = list(mail.to)
    message_id = message_id or make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    server = (settings.smtp_host or "", settings.smtp_port)

    def result(tries: int, error: str | None = None, refused: dict[str, str] | None = None) -> MailResult:
        refused = refused or {}
        return MailResult(not error and not refused, to, refused, tries, error, message_id)

    if not settings.smtp_host:
        return result(0, NOT_CONFIGURED)
    if settings.smtp_security not in SECURITY:
        return result(0, f"unknown SARABAN_SMTP_SECURITY {settings.smtp_security!r}; expected {', '.join(SECURITY)}")
    try:
        msg = build_message(mail, settings.mail_from, message_id)
    except MailError as e:
        return result(0, str(e))
    recipients = [address for _, address in getaddresses(to) if address]
    silent = _silent_since.get(server)
    if silent is not None and time.monotonic() - silent < SILENT_PAUSE:
        return result(0, f"not tried: {server[0]}:{server[1]} did not answer in the last {SILENT_PAUSE:g} s")
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            refused = _send_once(settings, msg, recipients, tls_context)
        except Exception as e:  # noqa: BLE001 - every mail problem ends up in the result
            if _timed_out(e):
                _silent_since[server] = time.monotonic()
            error, temporary = _failure(e)
            refused = {}
            if isinstance(e, smtplib.SMTPRecipientsRefused):
                refused = {address: _reply(code, text) for address, (code, text) in e.recipients.items()}
            if not temporary or attempt >= attempts:
                return result(attempt, error, refused)
            sleep(backoff * 2 ** (attempt - 1))
        else:
            _silent_since.pop(server, None)
            return result(attempt, "some recipients were refused" if refused else None, refused)
    raise AssertionError("unreachable")


def record_mail(session: Session, result: MailResult, *, actor: str, at: datetime, kind: str = "mail.sent",
                unit_id: int | None = None, letter_id: int | None = None, delivery_id: int | None = None,
                subject: str = "", office_id: int | None = None, about: str | None = None) -> str:
    """Record a send as an event and return its kind: ``kind`` when it went through, else ``mail.refused``
    (some or all recipients refused) or ``mail.failed``, whatever ``kind`` was, so that
    ``mail_problems`` finds it; ``data["purpose"]`` keeps the ``kind`` asked for and ``data["about"]`` what
    the message is for (``reminder:7``, ``acknowledgement:3``): a later send for the same purpose, about
    the same thing, to the same unit and letter that goes through resolves a problem (:func:`resolutions`).
    ``unit_id`` is the addressee; ``office_id`` the office that sent it."""
    recorded = kind if result.ok else "mail.refused" if result.refused else "mail.failed"
    record_event(session, recorded, actor=actor, at=at, unit_id=unit_id, office_id=office_id, letter_id=letter_id,
                 delivery_id=delivery_id,
                 data={"to": result.to, "refused": result.refused, "attempts": result.attempts,
                       "error": result.error, "message_id": result.message_id, "subject": subject,
                       "purpose": kind, "about": about})
    return recorded


def mail_problems(session: Session, unit_id: int | None = None, letter_id: int | None = None) -> list[Event]:
    """The failed and refused sends, oldest first (of a unit and/or a letter when given)."""
    query = select(Event).where(Event.kind.in_(PROBLEM_KINDS))
    if unit_id is not None:
        query = query.where(Event.unit_id == unit_id)
    if letter_id is not None:
        query = query.where(Event.letter_id == letter_id)
    return list(session.scalars(query.order_by(Event.at, Event.id)))


def resolutions(session: Session, problems: list[Event]) -> dict[int, Event]:
    """For each problem (by its id) that a later send resolved, that send: same purpose, about the same
    thing, to the same unit and for the same letter, recorded after it and gone through."""
    found: dict[int, Event] = {}
    for problem in problems:
        data = problem.data or {}
        purpose = data.get("purpose")
        if not purpose or purpose in PROBLEM_KINDS:
            continue
        later = session.scalars(select(Event).where(
            Event.kind == purpose, Event.id > problem.id,
            Event.unit_id.is_(None) if problem.unit_id is None else Event.unit_id == problem.unit_id,
            Event.letter_id.is_(None) if problem.letter_id is None else Event.letter_id == problem.letter_id,
        ).order_by(Event.id))
        for event in later:
            if (event.data or {}).get("about") == data.get("about") and (event.data or {}).get("purpose") == purpose:
                found[problem.id] = event
                break
    return found
