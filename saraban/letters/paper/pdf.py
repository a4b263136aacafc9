"""docx → PDF with LibreOffice (headless), many files per LibreOffice start."""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from saraban.kernel.settings import Settings
from saraban.letters.paper.fonts import fontconfig_file
from saraban.letters.paper.pages import SIGNATURE_MARK, paginate
from saraban.letters.paper.typeset import print_ready

# One LibreOffice start costs ~1.5 s; each extra file in the same call ~0.2 s.
BATCH = 200


class PdfError(RuntimeError):
    """LibreOffice is missing or did not produce a PDF."""


def soffice_path(settings: Settings) -> str:
    found = shutil.which(settings.soffice)
    if not found:
        raise PdfError(
            f"LibreOffice ('{settings.soffice}') is not installed, so no PDF can be made. "
            "Install it with: sudo apt-get install libreoffice-writer-nogui "
            "(or run 'make demo', which does), or set SARABAN_SOFFICE to its path."
        )
    return found


def docx_to_pdf(docx_files: Sequence[Path], out_dir: Path, settings: Settings) -> list[Path]:
    """Convert .docx files to PDF in ``out_dir``; return the PDF paths in the same order.

    LibreOffice prints a copy of each file made print-ready (:mod:`.typeset`: Thai line breaks and
    justification). A letter that takes more than one page is then given its pages (:mod:`.pages`:
    page numbers, carry-on words, the signature block whole): its .docx is rewritten in place with one
    section per page, and printed again."""
    if not docx_files:
        return []
    soffice_path(settings)
    # LibreOffice would happily "convert" any file as plain text: refuse what is not a .docx.
    not_docx = [str(f) for f in docx_files if not zipfile.is_zipfile(f)]
    if not_docx:
        raise PdfError(f"not a .docx file (a .docx is a zip archive): {', '.join(not_docx)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    pdfs = [out_dir / (Path(f).stem + ".pdf") for f in docx_files]
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".print-") as tmp:
        prints = [Path(tmp) / Path(f).name for f in docx_files]
        sources = [Path(f).read_bytes() for f in docx_files]
        for docx, target in zip(sources, prints, strict=True):
            target.write_bytes(print_ready(docx))
        soffice_convert(prints, out_dir, settings)
        again = []
        for source, docx, target, pdf in zip(docx_files, sources, prints, pdfs, strict=True):
            if _page_count(pdf) < 2 or SIGNATURE_MARK.encode() not in _document_xml(docx):
                continue
            paged = paginate(docx, pdf)
            if paged is not None:
                Path(source).write_bytes(paged)  # in place: a hard link to the letter's .docx sees it too
                target.write_bytes(print_ready(paged))
                again.append(target)
        soffice_convert(again, out_dir, settings)
    return pdfs


def _page_count(pdf: Path) -> int:
    """Pages of a PDF LibreOffice wrote (its page objects are not in object streams)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


def _document_xml(docx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read("word/document.xml")


def soffice_convert(docx_files: Sequence[Path], out_dir: Path, settings: Settings) -> None:
    """The .docx files as they are, to ``out_dir/<stem>.pdf``: one LibreOffice run per BATCH files."""
    if not docx_files:
        return
    soffice = soffice_path(settings)
    profile = settings.libreoffice_profile
    profile.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ,
               FONTCONFIG_FILE=str(fontconfig_file(settings.data_dir / "fonts", settings.font_name)))
    pdfs = [out_dir / (Path(f).stem + ".pdf") for f in docx_files]
    # LibreOffice refuses to share a profile between two running instances: take turns.
    with open(profile / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for start in range(0, len(docx_files), BATCH):
            chunk = [str(Path(f).resolve()) for f in docx_files[start:start + BATCH]]
            for pdf in pdfs[start:start + BATCH]:
                pdf.unlink(missing_ok=True)
            cmd = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
                   "--norestore", "--convert-to", "pdf:writer_pdf_Export", "--outdir",
                   str(out_dir.resolve()), *chunk]
            try:
                result = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                        timeout=120 + 5 * len(chunk))
            except subprocess.TimeoutExpired:
                raise PdfError(f"LibreOffice did not finish converting {len(chunk)} files in time") from None
            missing = [p for p in pdfs[start:start + BATCH] if not p.exists()]
            if missing:
                raise PdfError(f"LibreOffice made no PDF for {', '.join(p.name for p in missing)}: "
                               f"{(result.stderr or result.stdout).strip()[-500:]}")
