"""ส่งต่อ: a received circular carried on to the units below the office, as the office's own circular.

The form: the units below the office as a checklist grouped by level (the next hop of the chain checked),
a selector as on the command line added to them, and the forwarding letter's text to edit. Preview renders
it as it will print, with nothing numbered; issue numbers it (saraban.chain.circulars.forward, exactly once
per delivery) and makes its files in the background while the progress page shows them being made.
The rules (received first, only units below, the text's validity) are the core's; this module only reads
the form, asks, and shows the answers next to the fields they are about.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from saraban.accounts.authority import Actor
from saraban.chain.circulars import CircularError, RecipientsError, forward, forward_draft
from saraban.chain.emailing import EmailingError, check_emailing
from saraban.chain.expectations import chain_recipients
from saraban.chain.tracking import longest_tracking_link
from saraban.directory.levels import LEVEL_NAMES, LEVELS, DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.units import descendants
from saraban.faces.web.deps import ActorDep, DbDep, SettingsDep, authorise, render
from saraban.faces.web.jobs import files_progress, make_files_later
from saraban.kernel.settings import Settings
from saraban.letters.paper.pdf import PdfError
from saraban.letters.spec import LetterSpec, SpecError
from saraban.records.db import Database
from saraban.records.models import Delivery, Letter, Unit

router = APIRouter()

# How a clerk names each level on the checklist (the abbreviations they write).
LEVEL_LABELS = {
    "district_office": "ที่ว่าการอำเภอ",
    "pao": "องค์การบริหารส่วนจังหวัด (อบจ.)",
    "city_municipality": "เทศบาลนคร (ทน.)",
    "town_municipality": "เทศบาลเมือง (ทม.)",
    "subdistrict_municipality": "เทศบาลตำบล (ทต.)",
    "sao": "องค์การบริหารส่วนตำบล (อบต.)",
}
EXTRA_PARAGRAPHS = 1  # empty textareas offered to add a paragraph


@dataclass
class Choice:
    """What the form says: the units ticked, the levels taken whole, the selector, the text."""

    units: set[str] = field(default_factory=set)
    levels: set[str] = field(default_factory=set)
    selector: str = ""
    subject: str = ""
    body: list[str] = field(default_factory=list)
    email: bool = False  # also e-mail each recipient's copy (saraban.chain.emailing)


@dataclass
class Group:
    level: str
    label: str
    units: list[Unit]
    whole: bool  # "every unit of this level" is ticked


@dataclass
class Context:
    """What the form page shows about the delivery being forwarded."""

    delivery: Delivery
    letter: Letter
    office: Unit
    sender: Unit


def _load(db: Database, actor: Actor, delivery_id: int) -> Context:
    """The delivery, when it is the actor's office's and the actor may forward (else 404/403)."""
    with db.reading() as s:
        d = s.get(Delivery, delivery_id)
        authorise(actor, "forward", d.unit_id if d else None)
        letter = s.get(Letter, d.letter_id)
        return Context(d, letter, s.get(Unit, d.unit_id), s.get(Unit, letter.unit_id))


def _groups(db: Database, office: Unit, choice: Choice) -> list[Group]:
    with db.reading() as s:
        below = descendants(s, office)
    by_level: dict[str, list[Unit]] = {}
    for u in below:
        by_level.setdefault(u.level, []).append(u)
    return [Group(level, LEVEL_LABELS.get(level, LEVEL_NAMES.get(level, level)), by_level[level],
                  level in choice.levels) for level in LEVELS if level in by_level]


def _parents(db: Database, groups: list[Group], office: Unit) -> dict[int, str]:
    """Short names of the units above the listed ones (other than the office): "อ.เมืองกระบี่" beside an อบต."""
    ids = {u.parent_id for g in groups for u in g.units if u.parent_id not in (None, office.id)}
    if not ids:
        return {}
    with db.reading() as s:
        return {u.id: u.short_name or u.name for u in s.scalars(select(Unit).where(Unit.id.in_(ids)))}


def _chosen_units(db: Database, office: Unit, choice: Choice, errors: dict[str, str]) -> list[Unit] | None:
    """The units the form names (ticked, whole levels below the office, the selector's); a bad selector is
    an error of its field with the command line's message."""
    with db.reading() as s:
        units = list(s.scalars(select(Unit).where(Unit.key.in_(choice.units)))) if choice.units else []
        if choice.levels:
            units += descendants(s, office, choice.levels)
        if choice.selector.strip():
            try:
                units += select_units(s, choice.selector)
            except DirectoryError as e:
                errors["selector"] = str(e)
                return None
    return units


def _body_errors(problems: list[str], kept: list[int], errors: dict[str, str]) -> None:
    """The spec's problems beside their fields: ``body[1]: ...`` is the textarea it came from."""
    for problem in problems:
        path, _, message = problem.partition(": ")
        if path == "subject":
            errors.setdefault("subject", message)
        elif path.startswith("body[") and path.endswith("]") and path[5:-1].isdigit() and int(path[5:-1]) < len(kept):
            errors.setdefault(f"body{kept[int(path[5:-1])]}", message)
        elif path == "body":
            errors.setdefault("body", message)
        else:
            errors.setdefault("general", problem)


def _draft(db: Database, settings: Settings, ctx: Context, choice: Choice,
           errors: dict[str, str]) -> tuple[list[Unit] | None, LetterSpec | None]:
    """The forwarding letter the form describes, checked by the core; problems go to ``errors``."""
    units = _chosen_units(db, ctx.office, choice, errors)
    if units is None:
        return None, None
    kept = [i for i, p in enumerate(choice.body) if p.strip()]
    try:
        spec = forward_draft(db, settings, ctx.letter.id, ctx.office.key, units, subject=choice.subject.strip(),
                             body=[choice.body[i].strip() for i in kept])
    except RecipientsError as e:
        errors["recipients"] = str(e)
        return None, None
    except SpecError as e:
        _body_errors(e.problems, kept, errors)
        return None, None
    except (CircularError, DirectoryError) as e:
        errors["general"] = str(e)
        return None, None
    return units, spec


def _page(request: Request, db: Database, ctx: Context, choice: Choice, *, errors: dict[str, str] | None = None,
          pages: list[str] | None = None, status_code: int = 200) -> Response:
    groups = _groups(db, ctx.office, choice)
    body = list(choice.body)
    while body and not body[-1].strip():  # the empty ones sent back: one empty one is offered again
        body.pop()
    body += [""] * EXTRA_PARAGRAPHS
    return render(request, "forward/form.html", status_code=status_code, ctx=ctx, choice=choice, groups=groups,
                  parents=_parents(db, groups, ctx.office), body=body, errors=errors or {}, pages=pages or [])


def _not_open(request: Request, db: Database, ctx: Context) -> Response | None:
    """Forwarded already (the letter that did it), or not received yet (ลงรับก่อน): no form."""
    if ctx.delivery.forwarded_letter_id is not None:
        with db.reading() as s:
            done = s.get(Letter, ctx.delivery.forwarded_letter_id)
        return render(request, "forward/done.html", ctx=ctx, done=done)
    if ctx.delivery.received_at is None:
        return render(request, "forward/not_received.html", status_code=409, ctx=ctx)
    return None


def _checked_form(request: Request, db: Database, settings: Settings, ctx: Context,
                  choice: Choice) -> tuple[list, LetterSpec] | Response:
    """The recipients and the forwarding letter the form gives, or the page saying why not (nothing numbered)."""
    if (closed := _not_open(request, db, ctx)) is not None:
        return closed
    errors: dict[str, str] = {}
    units, spec = _draft(db, settings, ctx, choice, errors)
    if spec is None:
        return _page(request, db, ctx, choice, errors=errors, status_code=422)
    return units, spec


def _form_choice(unit: list[str], level: list[str], selector: str, subject: str, body: list[str],
                 email: str = "") -> Choice:
    return Choice(units=set(unit), levels={lv for lv in level if lv in LEVELS}, selector=selector, subject=subject,
                  body=list(body), email=bool(email))


ListField = Annotated[list[str], Form()]


@router.get("/deliveries/{delivery_id}/forward")
def forward_form(request: Request, delivery_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The form, filled in: the next hop of the chain ticked, the text of forward_spec."""
    ctx = _load(db, actor, delivery_id)
    if (closed := _not_open(request, db, ctx)) is not None:
        return closed
    with db.reading() as s:
        default = chain_recipients(s, ctx.office)
        below = default or descendants(s, ctx.office)
    if not below:
        return _page(request, db, ctx, Choice(), errors={"general": (
            f"{ctx.office.name} ไม่มีหน่วยงานในสังกัดที่จะส่งต่อ / {ctx.office.name} has no one to forward to (no units "
            "below it in the directory)")})
    errors: dict[str, str] = {}
    try:  # the text as the core writes it for the default recipients (or, with no next hop, all below)
        spec = forward_draft(db, settings, ctx.letter.id, ctx.office.key, below)
    except (CircularError, SpecError, DirectoryError) as e:
        errors["general"] = str(e)
        return _page(request, db, ctx, Choice(units={u.key for u in default}), errors=errors)
    choice = Choice(units={u.key for u in default}, subject=spec.subject, body=list(spec.body))
    return _page(request, db, ctx, choice)


@router.post("/deliveries/{delivery_id}/forward/preview")
def forward_preview(request: Request, delivery_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep,
                    unit: ListField = [], level: ListField = [],  # noqa: B006 (FastAPI copies defaults)
                    selector: Annotated[str, Form()] = "", subject: Annotated[str, Form()] = "",
                    body: ListField = [], email: Annotated[str, Form()] = "") -> Response:  # noqa: B006
    """The forwarding letter as it will print, before it is numbered (the number is blank)."""
    from saraban.letters.paper.preview import letter_preview

    ctx = _load(db, actor, delivery_id)
    choice = _form_choice(unit, level, selector, subject, body, email)
    checked = _checked_form(request, db, settings, ctx, choice)
    if isinstance(checked, Response):
        return checked
    _, spec = checked
    try:
        _, pngs = letter_preview(spec, settings,
                                 tracking_link_length=len(longest_tracking_link(settings.base_url)))
    except PdfError as e:
        return _page(request, db, ctx, choice, errors={"general": str(e)}, status_code=500)
    pages = [f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" for png in pngs]
    return _page(request, db, ctx, choice, pages=pages)


@router.post("/deliveries/{delivery_id}/forward")
def forward_issue(request: Request, delivery_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep,
                  unit: ListField = [], level: ListField = [],  # noqa: B006
                  selector: Annotated[str, Form()] = "", subject: Annotated[str, Form()] = "",
                  body: ListField = [], email: Annotated[str, Form()] = "") -> Response:  # noqa: B006
    """Number the forwarding letter, send it, and make its files in the background (then, ``email`` ticked,
    e-mail each copy); pressed again (another tab, another clerk): the letter that forwarded it."""
    ctx = _load(db, actor, delivery_id)
    if ctx.delivery.forwarded_letter_id is not None:
        return _to_progress(db, settings, ctx.delivery.forwarded_letter_id, actor)
    choice = _form_choice(unit, level, selector, subject, body, email)
    checked = _checked_form(request, db, settings, ctx, choice)
    if isinstance(checked, Response):
        return checked
    if choice.email:  # no mail server: said beside the box, nothing numbered
        try:
            check_emailing(db, settings)
        except EmailingError as e:
            return _page(request, db, ctx, choice, errors={"email": str(e)}, status_code=422)
    units, spec = checked
    try:
        issued = forward(db, settings, ctx.letter.id, ctx.office.key, units, subject=spec.subject,
                         body=list(spec.body), actor=actor.username, files=False)
    except RecipientsError as e:
        return _page(request, db, ctx, choice, errors={"recipients": str(e)}, status_code=422)
    except SpecError as e:
        errors = {}
        _body_errors(e.problems, [i for i, p in enumerate(choice.body) if p.strip()], errors)
        return _page(request, db, ctx, choice, errors=errors, status_code=422)
    except (CircularError, DirectoryError) as e:
        return _page(request, db, ctx, choice, errors={"general": str(e)}, status_code=422)
    return _to_progress(db, settings, issued.letter_id, actor, email=choice.email)


def _to_progress(db: Database, settings: Settings, letter_id: int, actor: Actor, *, email: bool = False) -> Response:
    if email or not files_progress(db, letter_id).done:
        make_files_later(db, settings, letter_id, actor=actor.username, email=email)
    return RedirectResponse(f"/letters/{letter_id}/progress", status_code=303)
