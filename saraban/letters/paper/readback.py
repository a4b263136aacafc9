"""A printed letter read back: how its body's lines broke and whether they are justified.

Used by ``benchmarks/linebreaks.py`` and the tests: every body paragraph (the justified ones of the
.docx) is found in the text of the PDF's lines; a line that starts inside one of pythainlp's words is
**broken**, a line other than the paragraph's last that ends short of the right margin is **ragged**.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn

from saraban.letters.paper.pages import Line, read_pages, squeeze
from thai_text.linebreak import word_boundaries

RIGHT_MARGIN_PT = 2 / 2.54 * 72
RAGGED_PT = 4.0


@dataclass(frozen=True)
class Figures:
    pages: int
    lines: int  # body lines found
    broken: int  # lines that start inside a word
    ragged: int  # lines short of the right margin that are not a paragraph's last
    brackets: int = 0  # lines of the page that end with "(" or start with ")"


def body_paragraphs(docx: bytes) -> list[str]:
    """The texts of the justified paragraphs of a .docx (the body of the letter)."""
    out = []
    for p in Document(io.BytesIO(docx)).paragraphs:
        jc = p._p.pPr.jc if p._p.pPr is not None else None
        if jc is not None and p.text.strip() and jc.get(qn("w:val")) in ("thaiDistribute", "both", "distribute"):
            out.append(p.text)
    return out


def _rows(lines: list[Line]) -> list[Line]:
    """The lines of a page joined by row: pdftotext gives a list item's bullet or number a line of its own."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda one: (one.y_min, one.x_min)):
        if rows and abs(rows[-1][0].y_min - line.y_min) < 3:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [Line(" ".join(one.text for one in sorted(row, key=lambda one: one.x_min)),
                 min(one.x_min for one in row), min(one.y_min for one in row),
                 max(one.x_max for one in row), max(one.y_max for one in row)) for row in rows]


def measure(pdf: Path, paragraphs: list[str]) -> Figures:
    """How the body paragraphs of one printed letter broke into lines."""
    pages = read_pages(pdf)
    stream, starts, lines = "", [], []
    for page in pages:
        for line in _rows(page.lines):
            text = squeeze(line.text)
            if text:
                starts.append(len(stream))
                lines.append((line, page.width))
                stream += text
    body = broken = ragged = 0
    at = 0
    for paragraph in paragraphs:
        text = squeeze(paragraph)
        begin = stream.find(text, at) if text else -1
        if begin < 0:
            continue
        end = at = begin + len(text)
        bounds = word_boundaries(paragraph)
        inside = [i for i, s in enumerate(starts) if begin <= s < end]
        body += len(inside)
        for n, i in enumerate(inside):
            if n > 0 and starts[i] - begin not in bounds:
                broken += 1
            line, width = lines[i]
            if n < len(inside) - 1 and line.x_max < width - RIGHT_MARGIN_PT - RAGGED_PT:
                ragged += 1
    brackets = sum(1 for page in pages for line in page.lines
                   if line.text.rstrip().endswith("(") or line.text.lstrip().startswith(")"))
    return Figures(len(pages), body, broken, ragged, brackets)
