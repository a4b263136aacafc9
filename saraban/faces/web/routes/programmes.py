"""โครงการ: the programme owner's dashboard (issue 11, field-examples §2-§3).

- ``/programmes``: the programmes the person's office owns (its clerks and heads), or those an assessor is
  appointed to, with their counts;
- ``/programmes/<key>``: applications by province and by level, the 76 provinces as tiles (covered or not),
  the eligible units that have not applied with their contact, the reminders and their e-mails' outcome
  (refused and failed first), filters by province and level (``?province=กระบี่&level=อบต.``);
- ``/programmes/<key>/report.<docx|xlsx|png>``: the programme report of saraban.reports.programmes.

Who: ``watch`` on the owner's office (saraban.accounts.roles); an assessor only for the programmes they are
appointed to. Anyone else gets 404, as for a programme that does not exist.

The dashboard counts in the database (saraban.reports.programme_dashboard: GROUP BY, pages of 25). Its body
(the same for everyone who may watch) is rendered once and shared while the programme's stamp holds: its
applications' count and last id, the last reminder and the last event (an application, a reminder made or
mailed, a unit's contact changed: each writes one), read by index on every request; a minute at most.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from starlette.background import BackgroundTask

from saraban.accounts.authority import Actor, NotAllowed
from saraban.directory.levels import LEVEL_NAMES, provinces
from saraban.faces.web.cache import ShortCache
from saraban.faces.web.deps import ActorDep, DbDep, PageNumber, SettingsDep, authorise, render
from saraban.kernel.clock import now
from saraban.programmes.applications import window_text
from saraban.programmes.assessors import appointed_programme_ids, is_appointed
from saraban.records.db import Database
from saraban.records.models import Programme
from saraban.reports.programme_dashboard import (
    DashboardError,
    DashboardFilter,
    dashboard_stamp,
    owned_programmes,
    programme_dashboard,
    programme_lines,
    read_filter,
)
from saraban.reports.programmes import KIND_TH, MAIL_TH, step_text

router = APIRouter()

DASHBOARD_CACHE_SECONDS = 60
REPORT_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "png": "image/png"}
# The dashboard's eligible levels to choose from (the local administrations), the others still typed.
LEVEL_CHOICES = ("pao", "city_municipality", "town_municipality", "subdistrict_municipality", "sao")


def watched_programme(db: Database, actor: Actor, programme_key: str) -> Programme:
    """The programme of ``programme_key`` once ``actor`` may watch it; else 404 (never saying it exists)."""
    return _watched(db, actor, programme_key)[0]


def _watched(db: Database, actor: Actor, programme_key: str, *, stamp: bool = False) -> tuple[Programme, tuple]:
    """The programme (as :func:`watched_programme`) and, with ``stamp``, its dashboard's stamp of the moment
    (read in the same transaction, before authority is asked: it says nothing about the programme)."""
    with db.reading() as s:
        programme = s.scalar(select(Programme).where(Programme.key == programme_key)) \
            if len(programme_key) <= 64 else None
        if programme is None:
            raise NotAllowed("ไม่พบโครงการ / no such programme", not_found=True)
        appointed = actor.role == "assessor" and is_appointed(s, programme.id, actor.user_id)
        version = dashboard_stamp(s, programme) if stamp else ()
    authorise(actor, "watch", programme.owner_unit_id, assigned=appointed)
    return programme, version


@router.get("/programmes")
def programmes_list(request: Request, actor: ActorDep, db: DbDep) -> Response:
    """The office's programmes (an assessor: those appointed to), each with its applicants and coverage."""
    authorise(actor, "watch", actor.unit_id, assigned=actor.role == "assessor")
    with db.reading() as s:
        only = appointed_programme_ids(s, actor.user_id) if actor.role == "assessor" else None
        lines = programme_lines(s, owned_programmes(s, actor.unit_id, only=only))
    return render(request, "programmes/list.html", lines=lines, at=now())


# The dashboard's body as rendered, shared while its stamp holds (authority is checked before, on every
# request; the body names no person and holds no CSRF token).
_views: ShortCache[Markup] = ShortCache(seconds=DASHBOARD_CACHE_SECONDS)
_INDENT = re.compile(r"\n[ \t]+")  # the template's indentation: a tenth of the page, sent on every request


def _body(db: Database, programme: Programme, stamp: tuple, wanted: DashboardFilter, pages: tuple[int, int, int],
          *, typed_level: str, error: str | None) -> Markup:
    from saraban.faces.web.pages import templates

    def compute() -> Markup:
        page, waiting_page, reminders_page = pages
        with db.reading() as s:
            view = programme_dashboard(s, programme, wanted, page=page, waiting_page=waiting_page,
                                       reminders_page=reminders_page)
        query = {k: v for k, v in (("province", wanted.province), ("level", typed_level)) if v}
        here = f"/programmes/{programme.key}?" + (urlencode(query) + "&" if query else "")
        return Markup(_INDENT.sub("\n", templates.env.get_template("programmes/_dashboard_body.html").render(
            programme=programme, view=view, read_at=now(), wanted=wanted, error=error, typed_level=typed_level,
            here=here, window=window_text(programme), level_names=LEVEL_NAMES, level_choices=LEVEL_CHOICES,
            provinces=provinces(), mail_th=MAIL_TH, kind_th=KIND_TH, step_text=step_text)))

    return _views.get((stamp, wanted, pages, typed_level, error), compute)


@router.get("/programmes/{programme_key}")
def dashboard(request: Request, programme_key: str, actor: ActorDep, db: DbDep, province: str | None = None,
              level: str | None = None, page: PageNumber = 1, waiting_page: PageNumber = 1,
              reminders_page: PageNumber = 1) -> Response:
    """The owner's dashboard of one programme, filtered by ``province`` and ``level`` when given."""
    programme, stamp = _watched(db, actor, programme_key, stamp=True)
    error, status, pages = None, 200, (max(1, page), max(1, waiting_page), max(1, reminders_page))
    try:
        wanted = read_filter(province, level)
    except DashboardError as e:  # said on the page, the whole programme shown
        error, status, wanted, pages = str(e), 400, DashboardFilter(), (1, 1, 1)
    typed_level = (level or "").strip()[:64] if wanted.levels else ""
    body = _body(db, programme, stamp, wanted, pages, typed_level=typed_level, error=error)
    return render(request, "programmes/dashboard.html", status_code=status, programme=programme, body=body)


@router.get("/programmes/{programme_key}/report.{fmt}")
def programme_report(programme_key: str, fmt: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The programme report of today (saraban.reports.programmes): .docx, .xlsx, or its chart as .png."""
    from saraban.reports.programmes import (
        coverage_chart_png,
        programme_figures,
        programme_report_docx,
        programme_report_xlsx,
    )

    programme = watched_programme(db, actor, programme_key)
    if fmt not in REPORT_TYPES:
        raise HTTPException(404, "รายงานมีแบบ docx, xlsx และแผนภูมิ png / the report comes as docx, xlsx or png")
    with db.reading() as s:
        figures = programme_figures(s, s.get(Programme, programme.id))
    folder = Path(tempfile.mkdtemp(prefix="saraban-programme-"))
    try:
        path = folder / f"report.{fmt}"
        if fmt == "xlsx":
            programme_report_xlsx(figures, path)
        elif fmt == "docx":
            programme_report_docx(figures, path, settings)
        else:
            coverage_chart_png(figures, path, settings)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, filename=f"programme-{programme.key}.{fmt}", media_type=REPORT_TYPES[fmt],
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))

