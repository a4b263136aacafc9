"""Benchmark: per-recipient copies of one circular, each with its own tracking QR code.

    .venv/bin/python benchmarks/copies.py [--copies N] [--out DIR]

The master is the department's circular (examples/03-department-circular.yaml) with a placeholder
tracking QR code: rendered to .docx once and converted to PDF once (one LibreOffice run, not timed
as part of the copies). Then ``CopyMaker`` makes N .docx copies and N PDF copies, each for its own
tracking link (``<base_url>/t/<22-character token>``), kept in memory; with --out, they are also
written there (the writing is timed too); then up to 200 PDF copies get the receipt stamp
(``stamp: <ms> ms/copy``). Progress goes to stderr; the figures to stdout, ending with one line:

    copies: 1000, docx 950.0/s, pdf 1000.0/s
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import yaml

from saraban.kernel.clock import now
from saraban.kernel.settings import load_settings
from saraban.letters.paper.copies import CopyMaker, swap_docx_image
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.paper.qr import placeholder_qr_png, qr_png
from saraban.letters.paper.stamps import stamped_pdf
from saraban.letters.render import render_docx_bytes
from saraban.letters.spec import parse_spec

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "03-department-circular.yaml"
TOKEN_LENGTH = 22
STAMP_UNIT = "องค์การบริหารส่วนตำบลบ้านกลาง"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tracking_url(base_url: str, token: str) -> str:
    return f"{base_url}/t/{token}"


def token(n: int) -> str:
    """A 22-character URL-safe token, different for each n."""
    return (f"{n:06d}" + secrets.token_urlsafe(16))[:TOKEN_LENGTH]


def kib(size: float) -> str:
    return f"{size / 2**10:.1f} KiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=1000, help="how many copies (default 1000)")
    parser.add_argument("--out", type=Path, default=None, help="also write the copies into this folder")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")

    os.environ.setdefault("SARABAN_DATA_DIR", str(REPO / "data"))
    settings = load_settings()
    n = args.copies
    placeholder_url = tracking_url(settings.base_url, "x" * TOKEN_LENGTH)
    placeholder = placeholder_qr_png(len(placeholder_url))

    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["qr"].append({"url": placeholder_url, "caption": "QR ลงรับหนังสือ"})
    log(f"copies: master from {EXAMPLE.name} with a placeholder for {placeholder_url}")
    start = time.perf_counter()
    master_docx = swap_docx_image(render_docx_bytes(parse_spec(data), settings), qr_png(placeholder_url),
                                  placeholder)
    with tempfile.TemporaryDirectory(dir=settings.data_dir if settings.data_dir.exists() else None) as tmp:
        (Path(tmp) / "master.docx").write_bytes(master_docx)
        master_pdf = docx_to_pdf([Path(tmp) / "master.docx"], Path(tmp), settings)[0].read_bytes()
    master_s = time.perf_counter() - start
    start = time.perf_counter()
    maker = CopyMaker(master_docx, master_pdf, placeholder)
    parse_s = time.perf_counter() - start

    urls = [tracking_url(settings.base_url, token(i)) for i in range(n)]
    out = args.out
    if out:
        out.mkdir(parents=True, exist_ok=True)

    log(f"  {n} .docx copies ...")
    sizes = 0
    start = time.perf_counter()
    for i, url in enumerate(urls):
        copy = maker.docx_for(url)
        sizes += len(copy)
        if out:
            (out / f"{i:05d}.docx").write_bytes(copy)
    docx_s = time.perf_counter() - start
    docx_size = sizes / n

    log(f"  {n} PDF copies ...")
    sizes = 0
    start = time.perf_counter()
    for i, url in enumerate(urls):
        copy = maker.pdf_for(url)
        sizes += len(copy)
        if out:
            (out / f"{i:05d}.pdf").write_bytes(copy)
    pdf_s = time.perf_counter() - start
    pdf_size = sizes / n

    stamps = min(n, 200)
    log(f"  {stamps} receipt stamps on PDF copies ...")
    copies = [maker.pdf_for(url) for url in urls[:stamps]]
    stamped_pdf(copies[0], unit_name=STAMP_UNIT, number=1, received_at=now(), settings=settings)  # fonts, once
    start = time.perf_counter()
    for i, copy in enumerate(copies):
        stamped_pdf(copy, unit_name=STAMP_UNIT, number=i + 1, received_at=now(), settings=settings)
    stamp_s = time.perf_counter() - start

    print(f"master: {master_s:.2f} s (render + one LibreOffice run), parsed in {1000 * parse_s:.0f} ms, "
          f"docx {kib(len(master_docx))}, pdf {kib(len(master_pdf))}")
    if out:
        print(f"out: {out}")
    print(f"docx: {docx_s:.2f} s, {1000 * docx_s / n:.2f} ms/copy, {kib(docx_size)} each")
    print(f"pdf:  {pdf_s:.2f} s, {1000 * pdf_s / n:.2f} ms/copy, {kib(pdf_size)} each")
    print(f"stamp: {1000 * stamp_s / stamps:.2f} ms/copy (the receipt stamp on a PDF copy, {stamps} copies)")
    print(f"copies: {n}, docx {n / docx_s:.1f}/s, pdf {n / pdf_s:.1f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
