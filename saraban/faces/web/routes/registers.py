"""ทะเบียน (registers): the office's send, ว and receive registers by B.E. year, as the regulation's table
(the same columns and text as the .docx/.xlsx of saraban.reports.registers), 100 lines a page, and the
exports. Always the person's own office: there is no address for another office's register."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from saraban.chain.follow import Page
from saraban.faces.web.deps import ActorDep, DbDep, PageNumber, SettingsDep, authorise, office_of, render
from saraban.kernel.clock import today
from saraban.records.registers import SERIES, SERIES_NAMES, RegisterError, resolve_series
from saraban.reports.registers import (
    FORMATS,
    count_lines,
    download_name,
    export_docx,
    export_xlsx,
    headers,
    register_rows,
    register_years,
    title_lines,
)
from thai_text import be_year

router = APIRouter()

PER_PAGE = 100
SERIES_SHORT = {"send": "ส่ง", "circular": "ว (หนังสือเวียน)", "receive": "รับ"}
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _series(text: str) -> str:
    try:
        return resolve_series(text)
    except RegisterError as e:
        raise HTTPException(404, str(e)) from None


def _year(year: int) -> int:
    if not 2400 <= year <= 2800:
        raise HTTPException(404, f"ทะเบียนเก็บตามปี พ.ศ. (เช่น {be_year(today())}) / registers are kept by B.E. year "
                                 f"(e.g. {be_year(today())})")
    return year


@router.get("/registers")
def registers_index(request: Request, actor: ActorDep, db: DbDep, year: int | None = None,
                    series: str | None = None) -> Response:
    """Choose a year (those with lines, and this year) and a series; the form's choice opens the register."""
    authorise(actor, "read", actor.unit_id)
    if year is not None and series:
        return RedirectResponse(f"/registers/{_year(year)}/{_series(series)}", status_code=303)
    office = office_of(db, actor)
    with db.reading() as s:
        years = register_years(s, office.id)
    current = be_year(today())
    years.setdefault(current, {})
    return render(request, "registers/index.html", years=dict(sorted(years.items(), reverse=True)),
                  current=current, series_keys=SERIES, series_names=SERIES_NAMES, series_short=SERIES_SHORT)


@router.get("/registers/{year}/{series}")
def register_page(request: Request, year: int, series: str, actor: ActorDep, db: DbDep,
                  page: PageNumber = 1) -> Response:
    """The register as the regulation's table, 100 lines a page, Thai digits."""
    authorise(actor, "read", actor.unit_id)
    year, series = _year(year), _series(series)
    office = office_of(db, actor)
    page = max(1, page)
    with db.reading() as s:
        total = count_lines(s, office.id, year, series)
        rows = register_rows(s, office.id, year, series, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    return render(request, "registers/register.html", year=year, series=series, headers=headers(series),
                  titles=title_lines(office, year, series), rows=Page(rows, total, page, PER_PAGE),
                  formats=FORMATS, series_short=SERIES_SHORT)


@router.get("/registers/{year}/{series}/export/{fmt}")
def register_export(year: int, series: str, fmt: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The whole register of the year as .xlsx or .docx (saraban.reports.registers)."""
    authorise(actor, "read", actor.unit_id)
    year, series = _year(year), _series(series)
    if fmt not in FORMATS:
        raise HTTPException(404, "ส่งออกได้เป็น xlsx หรือ docx / export as xlsx or docx")
    office = office_of(db, actor)
    with db.reading() as s:
        rows = register_rows(s, office.id, year, series)
    titles = title_lines(office, year, series)
    folder = Path(tempfile.mkdtemp(prefix="saraban-register-"))
    try:
        path = folder / f"register.{fmt}"
        if fmt == "xlsx":
            export_xlsx(rows, path, title_lines=titles, series=series)
        else:
            export_docx(rows, path, title_lines=titles, settings=settings, series=series)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, filename=download_name(series, year, fmt), media_type=MEDIA_TYPES[fmt],
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
