"""Workbook sheets as saraban prints its tables (registers, status and programme reports).

Counts, shares and running numbers are written as numbers (``int`` / ``float`` cells), so that SUM,
sorting and filters work; with ``digits="thai"`` they are shown in Thai digits by their number format
(:func:`number_format`). Everything else is text, never a formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import copy

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

XLSX_FONT = "TH SarabunIT๙"
FONT_SIZE = 16
# Excel's locale prefix [$-NNCCLLLL]: numeral shape 0x0D (Thai digits), default calendar, locale 041E (Thai).
# LibreOffice 7.4 shows it in Thai digits too; [$-D07041E] (Buddhist calendar) it shows in Arabic digits.
THAI_DIGITS = "[$-D00041E]"
COUNT = "#,##0"  # counts: ๑,๒๓๔
SHARE = "0.0"  # per cent: ๑๒.๕
Value = str | int | float | None


def number_format(pattern: str, digits: str = "thai") -> str:
    """The number format that shows ``pattern`` in Thai digits (``digits="thai"``) or as it is.

    >>> number_format("#,##0")
    '[$-D00041E]#,##0'
    >>> number_format('"ว "0', "arabic")
    '"ว "0'
    """
    if digits not in ("thai", "arabic"):
        raise ValueError(f"digits must be 'thai' or 'arabic', not {digits!r}")
    return THAI_DIGITS + pattern if digits == "thai" else pattern


def write_sheet(ws, titles: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[Value]],
           widths: Sequence[int], centre: set[int], indents: Sequence[int] | None = None,
           indent_col: int | None = None, bold_last: bool = False, *, digits: str = "thai",
           formats: Mapping[int, str] | None = None) -> None:
    """One sheet as the registers are printed: title lines, a bold header row repeated on every printed
    page, the rows; TH SarabunIT๙ 16, wrapped, A4 landscape one page wide. ``str`` values are text;
    ``int`` and ``float`` values numbers, shown with ``formats[column]`` (default :data:`COUNT` for an
    ``int``, :data:`SHARE` for a ``float``) in the ``digits`` of :func:`number_format`."""
    font, bold = Font(name=XLSX_FONT, size=FONT_SIZE), Font(name=XLSX_FONT, size=FONT_SIZE, bold=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    ncols = len(headers)
    aligns = [Alignment(horizontal="center" if c in centre else "left", vertical="top", wrap_text=True)
              for c in range(ncols)]
    indented: dict[int, Alignment] = {}
    styles: dict[tuple, object] = {}  # the style of each combination, set once and copied after
    count, share = number_format(COUNT, digits), number_format(SHARE, digits)
    column_formats = {c: number_format(pattern, digits) for c, pattern in (formats or {}).items()}

    def put(row: int, col: int, value: Value, **style):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, int | float) and not isinstance(value, bool):
            cell.value = value
            style["number_format"] = column_formats.get(col - 1, count if isinstance(value, int) else share)
        else:
            cell.value = "" if value is None else value
            cell.data_type = "s"  # text, even when it starts with "=": never a formula
        key = tuple((name, id(v)) for name, v in style.items())
        if key in styles:
            cell._style = copy(styles[key])  # openpyxl looks each style up anew otherwise: 20 s for 9,000 rows
        else:
            for name, v in style.items():
                setattr(cell, name, v)
            styles[key] = copy(cell._style)
        return cell

    centred = Alignment(horizontal="center", vertical="center")
    heading = Alignment(horizontal="center", vertical="center", wrap_text=True)
    r = 1
    for line in titles:
        put(r, 1, line, font=bold, alignment=centred)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        r += 1
    header_row = r
    for c, text in enumerate(headers, 1):
        put(r, c, text, font=bold, border=border, alignment=heading)
    for i, row in enumerate(rows):
        r += 1
        row_font = bold if bold_last and i == len(rows) - 1 else font
        for c, value in enumerate(row):
            alignment = aligns[c]
            if indents is not None and c == indent_col and indents[i] > 1:
                level = min(indents[i] - 1, 15)  # Excel indents by steps of about three characters
                alignment = indented.setdefault(level, Alignment(horizontal="left", vertical="top",
                                                                 wrap_text=True, indent=level))
            put(r, c + 1, value, font=row_font, border=border, alignment=alignment)
    for c, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.6
    ws.page_margins.top = ws.page_margins.bottom = 0.6
