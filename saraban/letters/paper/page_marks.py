"""A letter's page numbers and carry-on words drawn on the PDF LibreOffice printed, instead of printing the
letter a second time.

:func:`saraban.letters.paper.pages.paginate` gives a letter of several pages one section per page, with the
page number in its header and the carry-on words in its footer. When its sections start where LibreOffice's
pages did (``Paginated.as_printed``), LibreOffice would lay the paged .docx out line for line as before:
only the headers and footers would be new. They are drawn here where LibreOffice would put them
(:class:`saraban.letters.paper.pages.PageMark`), in the letter's font (Saraban TH, shaped by HarfBuzz and
embedded as the receipt stamp's text is: :mod:`.pdf_text`), as real text that reads back the same.

The marks are added as an incremental update (:mod:`.pdf_update`: only the marked pages' dictionaries and
the new objects are read and written, one embedded font for all of them), or by pypdf for a file that
cannot be read that way.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject

from saraban.kernel.settings import Settings
from saraban.letters.paper.pages import PageMark
from saraban.letters.paper.pdf_text import Face, FontUse, line_width, num, saraban_face, shape, show
from saraban.letters.paper.pdf_update import (
    READ_ERRORS,
    AddObject,
    IncrementalUpdate,
    PdfObjects,
    Unreadable,
    draw_over,
    page_fonts,
)


def marked_pdf(source: bytes, marks: Sequence[PageMark], settings: Settings) -> bytes:
    """``source`` (a PDF LibreOffice just wrote) with each mark drawn on its page, after the page's own
    content (in a saved graphics state)."""
    if not marks:
        return source
    face = saraban_face(settings, "Regular")
    indexes = sorted({m.page for m in marks})
    try:
        update = IncrementalUpdate(PdfObjects(source))
        pages = [update.edit_page(k) for k in indexes]
        if None in pages:  # (not expected: marks are made from the same PDF's pages)
            raise Unreadable("fewer pages than marked")
        _mark(pages, indexes, marks, face, update.add)
        return update.write()
    except READ_ERRORS:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
        _mark([writer.pages[k] for k in indexes], indexes, marks, face, writer._add_object)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()


def _mark(pages: Sequence[DictionaryObject], indexes: Sequence[int], marks: Sequence[PageMark], face: Face,
          add: AddObject) -> None:
    """Draw the marks on ``pages`` (page ``indexes[k]`` is ``pages[k]``, changed in place), all with one
    embedded font, under one resource name that none of the pages uses yet."""
    fonts = [page_fonts(page) for page in pages]
    resource, n = "/SarabanMark", 1
    while any(resource in f for f in fonts):
        n += 1
        resource = f"/SarabanMark{n}"
    use = FontUse(face, resource)
    contents = []
    for index in indexes:
        ops = ["q", "0 g", "BT"]
        for mark in (m for m in marks if m.page == index):
            glyphs = shape(face, mark.text)
            width = line_width(face, glyphs, mark.size)
            x = mark.x - (width / 2 if mark.align == "center" else width)
            ops += [f"{resource} {num(mark.size)} Tf", f"1 0 0 1 {num(x)} {num(mark.y)} Tm",
                    *show(glyphs, face, mark.size, use)]
        ops += ["ET", "Q"]
        contents.append("\n".join(ops).encode("ascii"))
    font = use.pdf_font(add)  # after every page's text: it holds the glyphs of all of them
    for page, page_font_dict, content in zip(pages, fonts, contents, strict=True):
        page_font_dict[NameObject(resource)] = font
        draw_over(page, add, page_font_dict, content)
