"""A letter as it will print, before it is numbered, and a PDF's pages as images (for the web face).

The preview is the real thing: the same renderer (.docx), the same LibreOffice conversion (PDF, under the
profile's lock), the pages drawn by poppler's ``pdftoppm``; only the number is blank (the register gives it
when the letter is issued) and the tracking code, if any, is the master copy's placeholder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from saraban.kernel.settings import Settings
from saraban.letters.paper.pdf import PdfError, docx_to_pdf
from saraban.letters.paper.qr import placeholder_qr_png
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec

PREVIEW_DPI = 80


def pdf_pages_png(pdf: Path, *, first: int = 1, last: int | None = 1, dpi: int = PREVIEW_DPI) -> list[bytes]:
    """Pages ``first``..``last`` (None: to the end) of a PDF as PNG images."""
    if shutil.which("pdftoppm") is None:
        raise PdfError("pdftoppm (poppler-utils) is not installed: sudo apt-get install poppler-utils")
    with tempfile.TemporaryDirectory(prefix="saraban-pages-") as tmp:
        cmd = ["pdftoppm", "-r", str(dpi), "-png", "-f", str(first)]
        if last is not None:
            cmd += ["-l", str(last)]
        result = subprocess.run([*cmd, str(pdf), f"{tmp}/p"], capture_output=True, text=True, timeout=120)
        pages = sorted(Path(tmp).glob("p*.png"))
        if result.returncode != 0 or not pages:
            raise PdfError(f"pdftoppm could not draw {pdf.name}: {result.stderr.strip()[-300:]}")
        return [p.read_bytes() for p in pages]


def letter_preview(spec: LetterSpec, settings: Settings, *, tracking_link_length: int | None = None,
                   last_page: int | None = None) -> tuple[bytes, list[bytes]]:
    """The letter's PDF and its pages as PNG images (all pages, or up to ``last_page``), rendered in a
    temporary folder; ``tracking_link_length``: the recipients' copies carry a tracking code of links this
    long (the preview shows the placeholder of the master copy)."""
    placeholder = placeholder_qr_png(tracking_link_length) if tracking_link_length else None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="preview-") as tmp:
        docx = Path(tmp) / "preview.docx"
        docx.write_bytes(renderer_for(settings).render(spec, tracking_png=placeholder))
        (pdf,) = docx_to_pdf([docx], Path(tmp) / "out", settings)
        return pdf.read_bytes(), pdf_pages_png(pdf, last=last_page)
