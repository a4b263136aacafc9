"""docx → PDF with LibreOffice (headless), many files per LibreOffice start, on a pool of LibreOffice workers.

A LibreOffice instance converts one file at a time and cannot share its profile with another running
instance: ``settings.pdf_workers`` profiles (``<data>/libreoffice-profile-<i>``) let as many convert at
once, in threads of one process or in several processes (Prefect's Dask workers) alike, each taking a
free profile (:func:`free_profile`). One call with many files splits them among the workers.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from saraban.kernel.settings import Settings
from saraban.letters.paper.attach import followed_by, own_pages
from saraban.letters.paper.bundle import bundled, bundles, cut
from saraban.letters.paper.fonts import fontconfig_file
from saraban.letters.paper.merge import in_one_section
from saraban.letters.paper.page_marks import marked_pdf
from saraban.letters.paper.pages import SIGNATURE_MARK, paginate, read_pages
from saraban.letters.paper.typeset import print_ready

# One LibreOffice start costs ~1.5 s; each extra document in the same call ~0.2 s (a letter of a bundle ~0.1 s).
# Files a LibreOffice run converts before it is started again: 7.4 converts no more than 246 files of one
# call (the others are left without a word).
BATCH = 200
PROFILE_POLL = 0.05  # seconds between looks for a free LibreOffice profile when every one is taken
_TURNS = itertools.count()
# Bookmarks exported as named destinations: where each letter of a bundle starts (.bundle).
_EXPORT = '{"ExportBookmarksToPDFDestination":{"type":"boolean","value":"true"}}'


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


def docx_to_pdf(docx_files: Sequence[Path], out_dir: Path, settings: Settings,
                attached: Sequence[bytes | None] | None = None, *, bundle: bool = True) -> list[Path]:
    """Convert .docx files to PDF in ``out_dir``; return the PDF paths in the same order.

    LibreOffice prints a copy of each file made print-ready (:mod:`.typeset`: Thai line breaks and
    justification). A letter that takes more than one page is then given its pages (:mod:`.pages`:
    page numbers, carry-on words, the signature block whole): its .docx is rewritten in place with one
    section per page. Its PDF then gets the page numbers and carry-on words drawn on (:mod:`.page_marks`)
    when the sections start where LibreOffice's pages did, as they mostly do; otherwise it is printed again.

    ``attached``: for each file, the .docx of the pages that follow it (reply form, recipients list), or
    None. They are printed in the same LibreOffice document, after its own pages (:mod:`.attach`); only the
    letter's own pages are numbered, and its .docx stays the letter alone.

    ``bundle``: letters printed several to a LibreOffice document (:mod:`.bundle`; False: one each). LibreOffice
    sometimes lets a letter's closing lines and its signature part there where it kept them together
    alone; :func:`.pages.paginate` gives the lines back to the signature's page (as for a letter alone), and the
    letter is printed again, so the pages come out the same."""
    if not docx_files:
        return []
    follows = list(attached) if attached is not None else [None] * len(docx_files)
    if len(follows) != len(docx_files):
        raise ValueError("one entry of attached pages (or None) per file")
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
        extra = [print_ready(more) if more is not None else None for more in follows]
        for docx, more, target in zip(sources, extra, prints, strict=True):
            target.write_bytes(for_printing(docx, more))
        soffice_convert(prints, out_dir, settings, bundle=bundle)
        again = []
        for source, docx, more, printed, target, pdf in zip(docx_files, sources, follows, extra, prints, pdfs,
                                                             strict=True):
            # The attached pages take one page at least: a letter with them and two pages in all has one.
            if _page_count(pdf) < (2 if more is None else 3) or SIGNATURE_MARK.encode() not in _document_xml(docx):
                continue
            own = None if more is None else own_pages(read_pages(pdf), more)
            paged = paginate(docx, pdf, pages=own) if more is None or (own is not None and len(own) > 1) else None
            if paged is not None:
                Path(source).write_bytes(paged.docx)  # in place: a hard link to the letter's .docx sees it too
                if paged.as_printed:  # the same lines on the same pages: its headers and footers drawn on
                    # written whole again: the recipients' copies are spliced from one cross-reference table
                    pdf.write_bytes(in_one_section(marked_pdf(pdf.read_bytes(), paged.marks, settings)))
                else:
                    target.write_bytes(for_printing(paged.docx, printed))
                    again.append(target)
        soffice_convert(again, out_dir, settings, bundle=bundle)
    return pdfs


def for_printing(docx: bytes, attached: bytes | None) -> bytes:
    """What LibreOffice is given: the letter print-ready, and its attached pages (already print-ready) after it."""
    ready = print_ready(docx)
    return ready if attached is None else followed_by(ready, attached)


def _page_count(pdf: Path) -> int:
    """Pages of a PDF LibreOffice wrote (its page objects are not in object streams)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


def _document_xml(docx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read("word/document.xml")


def soffice_convert(docx_files: Sequence[Path], out_dir: Path, settings: Settings, *,
                    workers: int | None = None, bundle: bool = True) -> None:
    """The .docx files as they are, to ``out_dir/<stem>.pdf``: split into at most ``workers`` (default
    ``settings.pdf_workers``) chunks converted at once, each by a LibreOffice of its own (:func:`free_profile`),
    one LibreOffice run per BATCH documents of a chunk. ``bundle``: letters that lay out alike are printed
    several to a LibreOffice document (:mod:`.bundle`); False: each in a document of its own."""
    if not docx_files:
        return
    soffice = soffice_path(settings)
    # The fonts folder is made before the threads start (each machine makes its own, in its data folder).
    env = dict(os.environ,
               FONTCONFIG_FILE=str(fontconfig_file(settings.data_dir / "fonts", settings.font_name)))
    files = [Path(f) for f in docx_files]
    n = max(1, min(workers or settings.pdf_workers, len(files)))
    size = -(-len(files) // n)  # ceil: n chunks of (nearly) equal length, in order
    chunks = [files[start:start + size] for start in range(0, len(files), size)]
    convert = _convert_bundled if bundle else _convert_chunk
    if len(chunks) == 1:
        convert(soffice, chunks[0], out_dir, settings, env)
        return
    with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="soffice") as pool:
        for done in [pool.submit(convert, soffice, chunk, out_dir, settings, env) for chunk in chunks]:
            done.result()


def _convert_chunk(soffice: str, files: list[Path], out_dir: Path, settings: Settings, env: dict[str, str],
                   letters: int = 1) -> None:
    """``files`` (of up to ``letters`` letters each) on one LibreOffice profile, BATCH files a run."""
    runs = -(-len(files) // BATCH)
    size = -(-len(files) // runs)  # runs of (nearly) equal length
    with free_profile(settings) as profile:
        for start in range(0, len(files), size):
            _soffice_run(soffice, profile, files[start:start + size], out_dir, env, letters)


def _convert_bundled(soffice: str, files: list[Path], out_dir: Path, settings: Settings,
                     env: dict[str, str]) -> None:
    """The files printed in bundles (one alone is a bundle of one), in a staging folder, then each one's PDF
    cut from its bundle's into ``out_dir``. A bundle whose PDF cannot be cut is printed again a file at a time."""
    docs = [f.read_bytes() for f in files]
    together, alone = bundles(docs)
    groups = together + [[k] for k in alone]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".bundles-") as tmp:
        staging = Path(tmp)
        sources = []
        for j, members in enumerate(groups):  # named after the first file: LibreOffice's errors name them
            source = staging / f"{j:04d}-{files[members[0]].stem}.docx"
            source.write_bytes(bundled([docs[k] for k in members]) if len(members) > 1 else docs[members[0]])
            sources.append(source)
        _convert_chunk(soffice, sources, staging / "out", settings, env, max(map(len, groups), default=1))
        again = []
        for members, source in zip(groups, sources, strict=True):
            made = staging / "out" / f"{source.stem}.pdf"
            if len(members) == 1:
                os.replace(made, out_dir / f"{files[members[0]].stem}.pdf")
                continue
            try:
                parts = cut(made.read_bytes(), [docs[k] for k in members])
            except ValueError:  # LibreOffice lost a start: these are printed one to a document
                again += [files[k] for k in members]
                continue
            for k, pdf in zip(members, parts, strict=True):
                (out_dir / f"{files[k].stem}.pdf").write_bytes(pdf)
        if again:
            _convert_chunk(soffice, again, out_dir, settings, env)


@contextmanager
def free_profile(settings: Settings) -> Iterator[Path]:
    """A LibreOffice profile no other instance uses (LibreOffice refuses to share one between two running
    instances), held until the block ends: the first of the machine's profiles whose lock is free, threads
    and processes alike (an exclusive flock on ``<profile>/.lock``); when all are taken, wait for one. A
    machine has a profile per core, or ``settings.pdf_workers`` if more: processes that each run one
    LibreOffice (Dask workers: SARABAN_PDF_WORKERS=1) still run theirs at once."""
    profiles = [settings.libreoffice_profile(i) for i in range(max(settings.pdf_workers, os.cpu_count() or 1))]
    # Start at a different profile per call and process, so that those starting together do not all try
    # the same one first.
    first = (os.getpid() + next(_TURNS)) % len(profiles)
    order = profiles[first:] + profiles[:first]
    while True:
        for profile in order:
            profile.mkdir(parents=True, exist_ok=True)
            lock = open(profile / ".lock", "w")  # noqa: SIM115 (held past this loop, closed below)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            try:
                yield profile
            finally:
                lock.close()  # releases the lock
            return
        time.sleep(PROFILE_POLL)


def _soffice_run(soffice: str, profile: Path, files: list[Path], out_dir: Path, env: dict[str, str],
                 letters: int = 1) -> None:
    pdfs = [out_dir / (f.stem + ".pdf") for f in files]
    for pdf in pdfs:
        pdf.unlink(missing_ok=True)
    base = [soffice, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
            "--convert-to", f"pdf:writer_pdf_Export:{_EXPORT}", "--outdir", str(out_dir.resolve())]
    output = _run(base, files, env, letters)
    missing = [f for f, p in zip(files, pdfs, strict=True) if not p.exists()]
    if missing and len(missing) < len(files):  # it stopped part way: once more for the rest, in a new run
        output = _run(base, missing, env, letters)
        missing = [f for f, p in zip(files, pdfs, strict=True) if not p.exists()]
    if missing:
        raise PdfError(f"LibreOffice made no PDF for {', '.join(f.stem + '.pdf' for f in missing)}: {output[-500:]}")


def _run(base: list[str], files: list[Path], env: dict[str, str], letters: int = 1) -> str:
    """One LibreOffice run converting ``files`` (of up to ``letters`` letters each: the time it is given); what
    it said."""
    try:
        result = subprocess.run([*base, *(str(f.resolve()) for f in files)], env=env, capture_output=True,
                                text=True, timeout=120 + 5 * letters * len(files))
    except subprocess.TimeoutExpired:
        raise PdfError(f"LibreOffice did not finish converting {len(files)} files in time") from None
    return (result.stderr or result.stdout).strip()
