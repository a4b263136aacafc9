"""ตรวจสอบหนังสือ (``/verify``): anyone may check whether saraban issued a letter, by its PDF (byte for byte:
the letter itself, a copy sent to an office, a stamped copy) or by its reference number and date.

Public, and it shows only the head of a letter (ที่, ลงวันที่, the sending office): never the subject or to whom
it went (saraban.chain.verification). Nothing is written. ``GET /verify?ref=<ที่>&date=<YYYY-MM-DD>`` (the QR code
on a letter's own PDF: saraban.chain.verification.verify_link) fills the form and answers it. An upload that
is not a PDF, or larger than the site's upload limit (``SARABAN_UPLOAD_MAX_MB``), is refused with a clear
message before it is looked up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from saraban.faces.web.deps import DbDep, OptionalUserDep, SettingsDep, render
from saraban.kernel.settings import Settings

router = APIRouter()


def _page(request: Request, settings: Settings, status_code: int = 200, **context) -> Response:
    from saraban.chain.verification import mb_text

    context.setdefault("ref", "")
    context.setdefault("date", "")
    return render(request, "verify/check.html", status_code=status_code, limit_mb=mb_text(settings.upload_max_bytes),
                  **context)


@router.get("/verify")
def verify_form(request: Request, db: DbDep, settings: SettingsDep, user: OptionalUserDep, ref: str = "",
                date: str = "") -> Response:
    """The form; with ``ref`` and ``date`` (the link in the QR code of a letter's own PDF), filled and answered."""
    from saraban.chain.verification import VerificationError, check_reference

    if not (ref.strip() or date.strip()):
        return _page(request, settings)
    try:
        with db.reading() as s:
            letters = check_reference(s, ref, date)
    except VerificationError as e:
        return _page(request, settings, status_code=400, error=str(e), ref=ref, date=date)
    return _page(request, settings, letters=letters, asked=True, ref=ref, date=date)


@router.post("/verify")
def verify(request: Request, db: DbDep, settings: SettingsDep, user: OptionalUserDep,
           file: Annotated[UploadFile | None, File()] = None, ref: Annotated[str, Form()] = "",
           date: Annotated[str, Form()] = "") -> Response:
    from saraban.chain.verification import VerificationError, check_file, check_reference

    limit = settings.upload_max_bytes  # the site's one upload limit (a larger body is refused before it is read)
    data = b""
    try:
        if file is not None and (file.filename or file.size):
            # Read no more than the limit and one byte: a larger upload is refused, never held whole.
            data = file.file.read(limit + 1)
            with db.reading() as s:
                checked = check_file(s, data, limit)
            return _page(request, settings, checked=checked, filename=file.filename or "", ref=ref, date=date)
        if ref.strip() or date.strip():
            with db.reading() as s:
                letters = check_reference(s, ref, date)
            return _page(request, settings, letters=letters, asked=True, ref=ref, date=date)
        raise VerificationError("เลือกไฟล์ PDF ของหนังสือ หรือกรอกเลขที่และวันที่ของหนังสือ / choose the letter's PDF, "
                                "or give its reference number and date")
    except VerificationError as e:
        return _page(request, settings, status_code=413 if len(data) > limit else 400, error=str(e), ref=ref,
                     date=date)
