"""Benchmark: render N distinct letters to .docx, then convert them all to PDF.

    .venv/bin/python benchmarks/render.py [--letters N] [--out DIR]

The letters are the three examples (examples/*.yaml) taken in turn, each with its own running number
in the reference and one sentence of its first paragraph changed, so no two letters are the same.
The .docx phase runs ``render_letters`` (pdf=False); the PDF phase runs ``docx_to_pdf`` on all the
files in the batches of ``saraban.letters.paper.pdf.BATCH`` files per LibreOffice start, as ``render_letters`` does.
Progress goes to stderr; the figures to stdout, ending with one line:

    render: 200 letters, docx 19.8/s, pdf 4.7/s
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pypdf import PdfReader

from saraban.kernel.settings import load_settings
from saraban.letters.batch import render_letters
from saraban.letters.paper import pdf as saraban_pdf
from saraban.letters.spec import LetterSpec, parse_spec

REPO = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO / "examples"
PROGRESS_EVERY = 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def example_data() -> list[tuple[str, dict[str, Any]]]:
    """The example specs as mappings, named after their files."""
    files = sorted(EXAMPLES_DIR.glob("*.yaml"))
    if not files:
        raise SystemExit(f"no example specs in {EXAMPLES_DIR}")
    return [(f.stem, yaml.safe_load(f.read_text(encoding="utf-8"))) for f in files]


def make_specs(count: int) -> list[tuple[str, LetterSpec]]:
    """``count`` distinct specs: the examples in turn, each with the next running number in its
    reference (same prefix, code and ว series as the example) and its own sentence in the body."""
    examples = [(stem, data, parse_spec(data, stem)) for stem, data in example_data()]
    specs: list[tuple[str, LetterSpec]] = []
    for i in range(count):
        stem, data, base = examples[i % len(examples)]
        k = i + 1
        item = dict(data)
        if base.ref is not None:
            # Arabic digits here; the letter prints them in the spec's digit style.
            item["ref"] = replace(base.ref, number=base.ref.number + k).format("arabic")
        body = list(data["body"])
        body[0] = f"{body[0]} ทั้งนี้ หนังสือฉบับนี้เป็นฉบับที่ {k} จากทั้งหมด {count} ฉบับ"
        item["body"] = body
        specs.append((f"{k:04d}-{stem}", parse_spec(item, f"{stem} #{k}")))
    if len({spec.hash() for _, spec in specs}) != len(specs):
        raise SystemExit("the generated specs are not all distinct")
    return specs


def with_progress(specs: list[tuple[str, LetterSpec]]) -> Iterator[tuple[str, LetterSpec]]:
    """Yield the specs, saying every PROGRESS_EVERY how many are rendered so far."""
    total = len(specs)
    for done, item in enumerate(specs):
        if done and done % PROGRESS_EVERY == 0:
            log(f"  docx {done}/{total}")
        yield item
    log(f"  docx {total}/{total}")


def prepare_out(out: Path | None, default: Path) -> Path:
    """The output folder, emptied: the default is removed and made again; a folder given with --out
    only loses the .docx/.pdf files of a previous run of this benchmark."""
    if out is None:
        shutil.rmtree(default, ignore_errors=True)
        default.mkdir(parents=True)
        return default
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("[0-9][0-9][0-9][0-9]-*.docx"), *out.glob("[0-9][0-9][0-9][0-9]-*.pdf")]:
        old.unlink()
    return out


def mib(size: int) -> str:
    return f"{size / 2**20:.2f} MiB"


def kib(size: float) -> str:
    return f"{size / 2**10:.1f} KiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=200, help="how many letters (default 200)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the .docx and PDF files (default <data dir>/bench/render, "
                             "emptied first)")
    args = parser.parse_args(argv)
    if args.letters < 1:
        parser.error("--letters must be at least 1")

    # LibreOffice's profile and the PDF fonts live in the data folder.
    os.environ.setdefault("SARABAN_DATA_DIR", str(REPO / "data"))
    settings = load_settings()
    out = prepare_out(args.out.resolve() if args.out else None, settings.data_dir / "bench" / "render")
    n = args.letters

    specs = make_specs(n)
    log(f"render: {n} letters from {len(example_data())} examples into {out}")

    start = time.perf_counter()
    rendered = render_letters(with_progress(specs), out, settings, pdf=False)
    docx_s = time.perf_counter() - start

    docx_files = [r.docx for r in rendered]
    batch = saraban_pdf.BATCH
    batches = (n + batch - 1) // batch
    log(f"  pdf: {n} files in {batches} LibreOffice run(s) of up to {batch} files ...")
    pdfs: list[Path] = []
    start = time.perf_counter()
    for first in range(0, n, batch):
        pdfs += saraban_pdf.docx_to_pdf(docx_files[first:first + batch], out, settings)
        log(f"  pdf {len(pdfs)}/{n}")
    pdf_s = time.perf_counter() - start

    docx_sizes = [p.stat().st_size for p in docx_files]
    pdf_sizes = [p.stat().st_size for p in pdfs]
    samples: dict[str, Path] = {}
    for (_, spec), path in zip(specs, pdfs, strict=True):
        samples.setdefault(spec.kind, path)

    print(f"out: {out}")
    print(f"docx: {docx_s:.2f} s, {1000 * docx_s / n:.1f} ms/letter, "
          f"{mib(sum(docx_sizes))} in all, {kib(sum(docx_sizes) / n)} each on average")
    print(f"pdf:  {pdf_s:.2f} s in {batches} LibreOffice run(s), {1000 * pdf_s / n:.1f} ms/letter, "
          f"{mib(sum(pdf_sizes))} in all, {kib(sum(pdf_sizes) / n)} each on average")
    for kind, path in samples.items():
        pages = len(PdfReader(path).pages)
        print(f"sample {kind}: {path.name}, {pages} page(s), "
              f"docx {kib(path.with_suffix('.docx').stat().st_size)}, pdf {kib(path.stat().st_size)}")
    print(f"render: {n} letters, docx {n / docx_s:.1f}/s, pdf {n / pdf_s:.1f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
