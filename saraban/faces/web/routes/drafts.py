"""ออกหนังสือ: write a letter or circular in a form, preview it as it will print, have the head approve it,
then number and send it. The rules are saraban.accounts.drafts'; this module reads the form into a letter
spec (the same mapping a YAML file gives the CLI), calls the core, and marks each problem next to its field
with the CLI's own message."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from saraban.accounts.drafts import (
    EDITABLE,
    STATUSES,
    DraftError,
    approve_draft,
    draft_problems,
    draft_version,
    get_draft,
    issue_draft,
    office_drafts,
    people_of,
    preview_draft,
    save_draft,
    submit_draft,
)
from saraban.chain.circulars import CircularError
from saraban.directory.levels import DirectoryError
from saraban.faces.web.deps import ActorDep, DbDep, FormDep, SettingsDep, authorise, office_of, render
from saraban.faces.web.jobs import make_files_later
from saraban.kernel.clock import today
from saraban.letters.paper.pdf import PdfError
from saraban.letters.spec import KIND_NAMES, SALUTATIONS, SECRECIES, URGENCIES, LetterSpec, SpecError
from saraban.records.models import Draft, Unit

router = APIRouter()

LINES = ("references", "enclosures", "copies_to")  # one entry a line in a textarea
GROUPS = {"sender": ("name", "address"), "signer": ("name", "position"),
          "owner": ("unit", "phone", "fax", "email", "contact")}
OPTIONAL = ("salutation", "closing", "urgency", "secrecy")
FIELDS = frozenset(LetterSpec.model_fields) | {"recipients"}
RECIPIENTS_HINT = ("หน่วยงาน (รหัสหรือชื่อ) คั่นด้วยจุลภาค หรือกฎ เช่น prov.81,prov.83 · ทุกจังหวัด · "
                   "children:prov.81 · under:amphoe.8101:local · province:กระบี่:district_office")


# --- the form and the spec -----------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str)]


def spec_from_form(form: FormData) -> tuple[dict[str, Any], str]:
    """The letter spec the form gives (as a YAML file would give it to the CLI) and the recipients' selector.
    Blank optional fields, paragraphs and QR rows are left out."""
    spec: dict[str, Any] = {"kind": _text(form, "kind"), "circular": form.get("circular") == "1",
                            "date": _text(form, "date"), "to": _text(form, "to"), "subject": _text(form, "subject")}
    spec = {k: v for k, v in spec.items() if v != "" or k in ("to", "subject")}
    for group, keys in GROUPS.items():
        values = {k: _text(form, f"{group}.{k}") for k in keys}
        if any(values.values()) or group == "sender":
            spec[group] = {k: v for k, v in values.items() if v}
    for key in LINES:
        if lines := [line.strip() for line in _text(form, key).splitlines() if line.strip()]:
            spec[key] = lines
    spec["body"] = [p for p in _texts(form, "body") if p]
    if qr := [{"caption": c, "url": u} for c, u in zip(_texts(form, "qr.caption"), _texts(form, "qr.url"), strict=False)
              if c or u]:
        spec["qr"] = qr
    for key in OPTIONAL:
        if value := _text(form, key):
            spec[key] = value
    if _text(form, "digits") == "arabic":
        spec["digits"] = "arabic"
    return spec, _text(form, "recipients")


def new_spec(office: Unit) -> dict[str, Any]:
    """A new draft: a circular dated today from the office, its sender and owner as the directory has them."""
    owner = {k: v for k, v in {"unit": office.name, "phone": office.phone, "email": office.email}.items() if v}
    sender = {k: v for k, v in {"name": office.printed_sender, "address": office.address}.items() if v}
    return {"kind": "stamped", "circular": True, "date": today().isoformat(), "sender": sender, "to": "",
            "subject": "", "body": [], "owner": owner}


def form_values(spec: dict[str, Any], add: str | None = None) -> dict[str, Any]:
    """What the form's fields show for a stored spec; ``add``: one more blank paragraph or QR row."""
    values = dict(spec)
    for key in LINES:
        values[key] = "\n".join(str(x) for x in spec.get(key) or [])
    values["body"] = list(spec.get("body") or []) or [""]
    values["qr"] = list(spec.get("qr") or []) or [{"caption": "", "url": ""}]
    if add == "body":
        values["body"].append("")
    elif add == "qr":
        values["qr"].append({"caption": "", "url": ""})
    for group in GROUPS:
        values[group] = dict(spec.get(group) or {})
    return values


def field_errors(problems: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each "key: message" of the checks by the form field it belongs to (``body[1]``, ``qr[0].url``,
    ``signer.name``; a list of lines by its textarea), and the problems of no field."""
    by_field: dict[str, list[str]] = {}
    other: list[str] = []
    for problem in problems:
        path, sep, message = problem.partition(": ")
        base = re.match(r"[a-z_]+", path)
        if not sep or base is None or base[0] not in FIELDS:
            other.append(problem)
            continue
        field = base[0] if base[0] in LINES else path
        if re.fullmatch(r"qr\[\d+\]", field):
            field += ".url"
        by_field.setdefault(field, []).append(message)
    return by_field, other


# --- pages ---------------------------------------------------------------------------------------------


def _page(request: Request, db, settings, actor, draft: Draft | None, *, spec: dict[str, Any] | None = None,
          to_text: str | None = None, add: str | None = None, status_code: int = 200, pages: Sequence[bytes] = (),
          message: str | None = None, error: str | None = None) -> Response:
    """The draft's page: the form (marked with every problem), the acts its status allows, a preview."""
    spec = spec if spec is not None else (draft.spec if draft else new_spec(office_of(db, actor)))
    to_text = to_text if to_text is not None else (draft.to_text if draft else "")
    unit_id = draft.unit_id if draft else actor.unit_id
    _, problems = draft_problems(db, settings, spec, to_text, unit_id) if draft else (None, [])
    errors, other = field_errors(problems)
    return render(request, "drafts/edit.html", status_code=status_code, draft=draft, v=form_values(spec, add),
                  recipients=to_text, problems=problems, errors=errors, other=other, message=message, error=error,
                  people=people_of(db, draft) if draft else {}, version=draft_version(draft) if draft else "",
                  editable=draft is None or draft.status in EDITABLE, statuses=STATUSES, kinds=KIND_NAMES,
                  urgencies=URGENCIES, secrecies=SECRECIES, salutations=SALUTATIONS, hint=RECIPIENTS_HINT,
                  pages=[base64.b64encode(p).decode("ascii") for p in pages])


@router.get("/drafts")
def drafts_list(request: Request, actor: ActorDep, db: DbDep) -> Response:
    """The office's drafts: those waiting for the head's approval first."""
    authorise(actor, "read", actor.unit_id)
    rows = office_drafts(db, actor)
    return render(request, "drafts/list.html", rows=rows, statuses=STATUSES, kinds=KIND_NAMES,
                  waiting=[r for r in rows if r.status == "submitted"])


@router.get("/drafts/new")
def new_draft(request: Request, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    authorise(actor, "write", actor.unit_id)
    return _page(request, db, settings, actor, None)


@router.post("/drafts")
def create_draft(request: Request, form: FormDep, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    authorise(actor, "write", actor.unit_id)
    spec, to_text = spec_from_form(form)
    draft = save_draft(db, actor, None, spec, to_text)
    return _after_save(request, db, settings, actor, draft, _text(form, "add"))


def _after_save(request: Request, db, settings, actor, draft: Draft, add: str) -> Response:
    """A saved draft with problems (or a row asked for) is shown at once, marked; else back to its page."""
    if add in ("body", "qr"):
        return _page(request, db, settings, actor, draft, add=add)
    _, problems = draft_problems(db, settings, draft.spec, draft.to_text, draft.unit_id)
    if problems:
        return _page(request, db, settings, actor, draft, status_code=422,
                     message="บันทึกร่างแล้ว แต่ยังมีข้อผิดพลาด ไม่มีการออกเลข / saved as a draft, with problems — "
                             "nothing is numbered until they are put right")
    return RedirectResponse(f"/drafts/{draft.id}?saved=1", status_code=303)


@router.get("/drafts/{draft_id}")
def draft_page(request: Request, draft_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    draft = get_draft(db, actor, draft_id)
    saved = "บันทึกแล้ว / saved" if request.query_params.get("saved") else None
    return _page(request, db, settings, actor, draft, message=saved)


@router.post("/drafts/{draft_id}")
def change_draft(request: Request, draft_id: int, form: FormDep, actor: ActorDep, db: DbDep,
                 settings: SettingsDep) -> Response:
    draft = get_draft(db, actor, draft_id, "write")
    spec, to_text = spec_from_form(form)
    try:
        draft = save_draft(db, actor, draft_id, spec, to_text)
    except DraftError as e:
        return _page(request, db, settings, actor, draft, status_code=409, error=str(e))
    return _after_save(request, db, settings, actor, draft, _text(form, "add"))


@router.post("/drafts/{draft_id}/preview")
def preview(request: Request, draft_id: int, form: FormDep, actor: ActorDep, db: DbDep,
            settings: SettingsDep) -> Response:
    """The letter as it will print, before it is numbered (the form's text is saved first, when sent)."""
    draft = get_draft(db, actor, draft_id, "write")
    try:
        if "kind" in form and draft.status in EDITABLE:
            spec, to_text = spec_from_form(form)
            draft = save_draft(db, actor, draft_id, spec, to_text)
        pages = preview_draft(db, settings, actor, draft_id)
    except DraftError as e:
        return _page(request, db, settings, actor, draft, status_code=422 if e.problems else 409, error=str(e))
    except PdfError as e:
        return _page(request, db, settings, actor, draft, status_code=503,
                     error=f"ทำตัวอย่างไม่ได้ / the preview could not be made: {e}")
    return _page(request, db, settings, actor, draft, pages=pages)


@router.post("/drafts/{draft_id}/submit")
def submit(request: Request, draft_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """Send the draft to the head for approval."""
    draft = get_draft(db, actor, draft_id, "write")
    try:
        submit_draft(db, settings, actor, draft_id)
    except DraftError as e:
        return _page(request, db, settings, actor, draft, status_code=422 if e.problems else 409, error=str(e))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/approve")
def approve(request: Request, draft_id: int, form: FormDep, actor: ActorDep, db: DbDep,
            settings: SettingsDep) -> Response:
    """The head approves the text they saw (the page's ``version``)."""
    get_draft(db, actor, draft_id, "approve")  # another office's draft: 404 before anything is read
    try:
        approve_draft(db, settings, actor, draft_id, _text(form, "version") or None)
    except DraftError as e:
        return _page(request, db, settings, actor, get_draft(db, actor, draft_id),
                     status_code=422 if e.problems else 409, error=str(e))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/issue")
def issue(request: Request, draft_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep,
          date_reason: Annotated[str, Form()] = "") -> Response:
    """Number the approved draft and send it; its files are made in the background (progress page).
    ``date_reason``: why it is dated more than a week from today (the register line's note)."""
    get_draft(db, actor, draft_id, "issue")
    try:
        issued = issue_draft(db, settings, actor, draft_id, date_reason=date_reason.strip() or None)
    except (DraftError, SpecError, CircularError, DirectoryError) as e:
        problems = getattr(e, "problems", None)
        return _page(request, db, settings, actor, get_draft(db, actor, draft_id),
                     status_code=422 if problems else 409, error=str(e))
    make_files_later(db, settings, issued.letter_id, actor=actor.username)
    return RedirectResponse(f"/letters/{issued.letter_id}/progress", status_code=303)
