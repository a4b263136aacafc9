"""What an e-mail carrying a letter needs: the letter's PDF (never the editable .docx), named by its
reference number, and links that open saraban's pages at ``SARABAN_BASE_URL``.

The PDF attached is the addressee's own copy (with its tracking QR), else the letter's own PDF; whatever is
missing is made first (saraban.chain.circulars.make_files, one LibreOffice run for many letters), so every
PDF attached has its hash recorded for ``/verify``. When no mail server is configured nothing can be sent,
and no PDF is made for it (the send that follows records the failure; a later resend makes it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from saraban.chain.circulars import make_files
from saraban.chain.tracking import tracking_url
from saraban.kernel.settings import Settings
from saraban.letters.paper.pdf import PdfError
from saraban.records.db import Database
from saraban.records.file_store import file_store
from saraban.records.models import Delivery, Letter


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def pdf_name(ref_text: str) -> str:
    """The attachment's name: the reference number as stored (Arabic digits), ``/`` → ``-``.

    >>> pdf_name("ทส 0903/1")
    'ทส 0903-1.pdf'
    >>> pdf_name("มท 0820.2/ว 1144")
    'มท 0820.2-ว 1144.pdf'
    """
    return f"{ref_text.replace('/', '-')}.pdf"


def verify_url(settings: Settings) -> str:
    return f"{settings.base_url}/verify"


def copy_url(settings: Settings, token: str) -> str:
    """The tracking page of a copy (what its QR opens)."""
    return tracking_url(settings.base_url, token)


def _pdf_of(db: Database, settings: Settings, letter_id: int, unit_id: int | None) -> tuple[str | None, str]:
    """The key of the PDF to attach (in the file store), and the letter's reference number."""
    store = file_store(settings)
    with db.reading() as s:
        letter = s.get(Letter, letter_id)
        copy = s.scalar(select(Delivery).where(Delivery.letter_id == letter_id, Delivery.unit_id == unit_id)) \
            if unit_id is not None else None
        for key in (copy and copy.pdf_key, letter.pdf_key):
            if store.exists(key):
                return key, letter.ref_text
        return None, letter.ref_text


def make_pdfs(db: Database, settings: Settings, letter_ids: Sequence[int]) -> None:
    """Make the PDFs of the letters (and their copies) that lack them, in one LibreOffice run."""
    missing = []
    store = file_store(settings)
    with db.reading() as s:
        for letter_id in dict.fromkeys(letter_ids):
            letter = s.get(Letter, letter_id)
            copies = s.scalars(select(Delivery.pdf_key).where(Delivery.letter_id == letter_id)).all()
            if not all(store.exists(k) for k in [letter.pdf_key, *copies]):
                missing.append(letter_id)
    if missing:
        make_files(db, settings, missing, pdf=True)


def letter_pdf(db: Database, settings: Settings, letter_id: int, unit_id: int | None = None,
               ) -> tuple[bytes, str]:
    """The PDF to attach for the letter sent to ``unit_id`` (its copy; else the letter's own PDF), made if
    missing: its bytes (read from the file store) and its name (``ทส 0903-1.pdf``). PdfError when LibreOffice
    cannot make it."""
    key, ref = _pdf_of(db, settings, letter_id, unit_id)
    if key is None:
        make_pdfs(db, settings, [letter_id])
        key, ref = _pdf_of(db, settings, letter_id, unit_id)
    if key is None:
        raise PdfError(f"no PDF could be made for letter {letter_id} (ที่ {ref})")
    return file_store(settings).read_bytes(key), pdf_name(ref)


__all__ = ["PdfError", "copy_url", "letter_pdf", "mail_configured", "make_pdfs", "pdf_name", "verify_url"]
