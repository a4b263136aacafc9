"""Making a letter's files (master, every recipient's copy, PDFs) in the background of the web process.

Numbering is quick and happens in the request; rendering hundreds of copies and converting to PDF takes
seconds, so the request starts it here and the browser watches :func:`files_progress` (read from the
database, so any worker can show it). Making files is idempotent (saraban.chain.circulars.make_files makes
only what is missing, under a lock per letter): if this process stops half-way, starting it again from the
progress page finishes the rest.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import func, select

from saraban.kernel.settings import Settings
from saraban.records.db import Database
from saraban.records.events import acting_via
from saraban.records.models import Delivery, Letter

log = logging.getLogger("saraban.web")
_lock = threading.Lock()
_running: dict[int, threading.Thread] = {}
_failed: dict[int, str] = {}


@dataclass(frozen=True)
class FilesProgress:
    letter_id: int
    recipients: int
    copies: int  # recipients' .docx copies made
    pdfs: int  # recipients' PDF copies made
    master: bool  # the letter's own .docx and PDF made
    running: bool  # a job of this process is making them now
    error: str | None
    mail: dict[str, int] = field(default_factory=dict)  # copies asked to go by e-mail, per status (chain.emailing)

    @property
    def done(self) -> bool:
        return self.master and self.copies == self.recipients and self.pdfs == self.recipients

    @property
    def mail_text(self) -> str:
        """The copies by e-mail, per status in Thai (empty when the letter is not e-mailed)."""
        from saraban.chain.emailing import STATUS_TH
        from thai_text import to_thai_digits

        return " · ".join(f"{STATUS_TH.get(k, k)} {to_thai_digits(n)}" for k, n in sorted(self.mail.items()))

    @property
    def percent(self) -> int:
        total = 2 * self.recipients + 1
        made = self.copies + self.pdfs + (1 if self.master else 0)
        return 100 if self.done else min(99, made * 100 // max(total, 1))


def failure_text(error: Exception) -> str:
    """What the progress page says of a failure (the details, with server paths, are in the server's log)."""
    from saraban.letters.paper.pdf import PdfError

    if isinstance(error, PdfError):
        return "แปลงเป็น PDF ไม่สำเร็จ (LibreOffice) / LibreOffice could not make the PDF"
    from saraban.chain.emailing import EmailingError

    if isinstance(error, EmailingError):
        return str(error)
    if isinstance(error, OSError):
        return "เขียนไฟล์ไม่ได้ (ดิสก์เต็มหรือไม่มีสิทธิ์) / the files could not be written (disk full or permission)"
    return "เกิดข้อผิดพลาดในระบบ / something went wrong on the server"


def files_progress(db: Database, letter_id: int) -> FilesProgress:
    from saraban.chain.emailing import mail_totals

    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        recipients, copies, pdfs = s.execute(select(
            func.count(Delivery.id), func.count(Delivery.docx_key), func.count(Delivery.pdf_key))
            .where(Delivery.letter_id == letter_id)).one()
        mail = mail_totals(s, [letter_id])
    master = bool(letter is not None and letter.docx_key and letter.pdf_key)
    with _lock:
        thread = _running.get(letter_id)
        running = thread is not None and thread.is_alive()
        error = _failed.get(letter_id)
    return FilesProgress(letter_id, recipients, copies, pdfs, master, running, error, mail)


def make_files_later(db: Database, settings: Settings, letter_id: int, *, actor: str, email: bool = False) -> bool:
    """Start making the letter's files (with PDFs) in a thread of this process, then (``email``) e-mailing its
    copies still to send (saraban.chain.emailing); False when one already runs."""
    from saraban.chain.circulars import make_files
    from saraban.chain.emailing import email_copies

    def run() -> None:
        try:
            with acting_via("web"):
                make_files(db, settings, [letter_id], pdf=True)
                if email:
                    email_copies(db, settings, letter_id, actor=actor)
        except Exception as e:  # shown on the progress page; the page offers to start again
            log.exception("making the files of letter %s failed (started by %s)", letter_id, actor)
            with _lock:
                _failed[letter_id] = failure_text(e)
        finally:
            with _lock:
                _running.pop(letter_id, None)

    with _lock:
        thread = _running.get(letter_id)
        if thread is not None and thread.is_alive():
            return False
        _failed.pop(letter_id, None)
        thread = _running[letter_id] = threading.Thread(target=run, name=f"files-{letter_id}", daemon=True)
    thread.start()
    return True


def wait_for_files(letter_id: int, timeout: float = 120) -> None:
    """Wait until this process's job for the letter ends (tests; a server never waits)."""
    with _lock:
        thread = _running.get(letter_id)
    if thread is not None:
        thread.join(timeout)
