"""หนังสือเข้า: the office's inbox, one delivery's page (page 1 as an image, the files), ลงรับ, and assigning
a letter to a member of staff.

ลงรับ is one button and exactly once (saraban.chain.circulars.receive): a second press, a second tab or a
second clerk at the same moment gets the same receive number, never a second one and never an error. A copy
that has no PDF yet (the cascade makes .docx only) gets its PDFs made first, so the stamp always exists.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from saraban.accounts.authority import Actor, may
from saraban.faces.web.deps import ActorDep, DbDep, SettingsDep, authorise, render
from saraban.faces.web.errors import error_page
from saraban.faces.web.files import stored_file
from saraban.faces.web.routes.sent import download_name
from saraban.faces.web.security import safe_path
from saraban.kernel.settings import Settings
from saraban.records.db import Database
from saraban.records.file_store import file_store, is_legacy_path, sibling

router = APIRouter()

PAGE_DPI = 100  # page 1 on the letter page: sharp enough to read, and for a phone to scan its QR code from the screen


def _view(db: Database, actor: Actor, delivery_id: int, act: str):
    """The delivery's page facts, when it is the actor's office's and the actor may do ``act`` (else 404/403);
    a member of staff reads only what was assigned to them."""
    from saraban.accounts.assignments import is_assigned
    from saraban.chain.inbox import delivery_view

    with db.reading() as s:
        view = delivery_view(s, delivery_id)
        assigned = view is not None and actor.role == "staff" and is_assigned(s, delivery_id, actor.user_id)
    authorise(actor, act, view.office.id if view else None, assigned=assigned)
    return view


def _with_pdf(db: Database, settings: Settings, view, *, pdf: bool = True):
    """The view again after making the letter's missing files (``pdf``: with PDFs; a received copy's PDF is
    stamped as it is made)."""
    from saraban.chain.circulars import make_files
    from saraban.chain.inbox import delivery_view

    d = view.delivery
    if _exists(settings, d.pdf_key if pdf else d.docx_key):
        return view
    make_files(db, settings, [d.letter_id], pdf=pdf)
    with db.reading() as s:
        return delivery_view(s, d.id)


def _exists(settings: Settings, key: str | None) -> bool:
    return file_store(settings).exists(key)


def _page_links(q: str, page: int, pages: int) -> list[tuple[int | None, str]]:
    """(number, address) of the pages to offer: the first, the last, and two either side of this one; None
    for a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[tuple[int | None, str]] = []
    for n in wanted:
        if links and links[-1][0] is not None and n - links[-1][0] > 1:
            links.append((None, ""))
        links.append((n, "/inbox?" + urlencode({"q": q, "page": n} if q else {"page": n})))
    return links


@router.get("/inbox")
def inbox_page(request: Request, actor: ActorDep, db: DbDep, q: str = "", page: str = "1") -> Response:
    """The office's deliveries, not yet received first; a member of staff sees only what was assigned to them."""
    from saraban.chain.inbox import inbox

    authorise(actor, "read_assigned", actor.unit_id, assigned=True)
    only = None if may(actor, "read", actor.unit_id) else actor.user_id
    number = int(page) if page.strip().isdigit() else 1
    with db.reading() as s:
        found = inbox(s, actor.unit_id, q=q, page=number, assigned_to=only)
    return render(request, "inbox/list.html", found=found, links=_page_links(found.q, found.page, found.pages),
                  staff_only=only is not None)


@router.get("/deliveries/{delivery_id}")
def delivery_page(request: Request, delivery_id: int, actor: ActorDep, db: DbDep) -> Response:
    from saraban.accounts.assignments import assignees, staff_of

    view = _view(db, actor, delivery_id, "read_assigned")
    with db.reading() as s:
        given = assignees(s, delivery_id)
        staff = staff_of(s, view.office.id) if may(actor, "assign", view.office.id) else []
    return render(request, "inbox/letter.html", view=view, assignees=given, staff=staff,
                  may_receive=may(actor, "receive", view.office.id),
                  may_assign=may(actor, "assign", view.office.id),
                  may_forward=may(actor, "forward", view.office.id))


@router.get("/deliveries/{delivery_id}/page1.png")
def page_image(delivery_id: int, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """Page 1 of the office's PDF copy (once received: of the copy with the receipt stamp), drawn once and kept
    beside the PDF (the copy is never replaced)."""
    from saraban.letters.paper.preview import pdf_pages_png

    view = _with_pdf(db, settings, _view(db, actor, delivery_id, "read_assigned"))
    store = file_store(settings)
    stamped = view.delivery.stamped_pdf_key
    pdf = stamped if store.exists(stamped) else view.delivery.pdf_key
    png = sibling(pdf, f"{PurePosixPath(pdf).stem}-page1.png")
    if is_legacy_path(png):  # a PDF kept by path outside the store (before keys): its drawing goes in the store
        png = f"previews/{delivery_id}-{PurePosixPath(pdf).stem}-page1.png"
    # A local PDF made again after its drawing (deleted, then remade) is drawn again.
    stale = store.is_local and store.exists(png) and store.path(png).stat().st_mtime < store.path(pdf).stat().st_mtime
    if not store.exists(png) or stale:
        with store.local_copy(pdf) as local:
            store.write_replacing(png, pdf_pages_png(local, first=1, last=1, dpi=PAGE_DPI)[0])
    return stored_file(settings, png, media_type="image/png")


FILES = {"pdf": ("pdf_key", "pdf", ""), "docx": ("docx_key", "docx", ""),
         "stamped": ("stamped_pdf_key", "pdf", "-ลงรับ")}


@router.get("/deliveries/{delivery_id}/file/{kind}")
def delivery_file(delivery_id: int, kind: str, actor: ActorDep, db: DbDep, settings: SettingsDep) -> Response:
    """The office's copy: ``pdf``, ``docx``, or ``stamped`` (the PDF with the receipt stamp, once received)."""
    view = _view(db, actor, delivery_id, "read_assigned")
    if kind not in FILES:
        raise HTTPException(404, "ไม่มีไฟล์ชนิดนี้ (pdf, docx, stamped) / no such file kind (pdf, docx, stamped)")
    if kind == "stamped" and not view.received:
        raise HTTPException(404, "ยังไม่ได้ลงรับ จึงยังไม่มีฉบับประทับตรารับ / not received yet: there is no stamped copy")
    view = _with_pdf(db, settings, view, pdf=kind != "docx")
    field, extension, suffix = FILES[kind]
    key = getattr(view.delivery, field)
    if not _exists(settings, key):
        raise HTTPException(404, "ยังไม่มีไฟล์นี้ / this file has not been made (yet)")
    return stored_file(settings, key, filename=download_name(view.letter.ref_text, extension, suffix))


@router.post("/deliveries/{delivery_id}/receive")
def receive_delivery(request: Request, delivery_id: int, actor: ActorDep, db: DbDep,
                     settings: SettingsDep, next: str = Form("")) -> Response:
    """ลงรับ: the office's next receive number and the stamp on its copy; pressed again, the same number.
    ``next``: the page to go back to (the tracking page the button was pressed on)."""
    from saraban.chain.circulars import CircularError, receive
    from saraban.chain.inbox import delivery_view

    view = _view(db, actor, delivery_id, "receive")
    error = None
    try:
        if view.cancellation is None and view.delivery.received_at is None:
            view = _with_pdf(db, settings, view)  # the copy's PDF first, so that the stamp exists
        receive(db, settings, view.letter.id, view.office.key, actor=actor.username)
    except CircularError as e:  # a cancelled letter: the core's words
        error = str(e)
    with db.reading() as s:
        view = delivery_view(s, delivery_id)
    if request.headers.get("hx-request"):  # htmx swaps 2xx answers only: the error goes inside the fragment
        return render(request, "inbox/receipt.html", view=view, error=error, page_again=True,
                      may_receive=may(actor, "receive", view.office.id),
                      may_forward=may(actor, "forward", view.office.id))
    if error:
        return error_page(request, 409, error)
    return RedirectResponse(safe_path(next, f"/deliveries/{delivery_id}"), status_code=303)


@router.post("/deliveries/{delivery_id}/assign")
def assign(request: Request, delivery_id: int, actor: ActorDep, db: DbDep, user_id: str = Form("")) -> Response:
    """Give the letter to a member of staff of the office (again: nothing more is recorded)."""
    from saraban.accounts.assignments import AssignmentError, assign_delivery

    _view(db, actor, delivery_id, "assign")
    try:
        if not user_id.strip().isdigit():
            raise AssignmentError("เลือกเจ้าหน้าที่ที่จะมอบหมาย / choose the member of staff to assign the letter to")
        assign_delivery(db, delivery_id, int(user_id), by=actor)
    except AssignmentError as e:
        return error_page(request, 400, str(e))
    return RedirectResponse(f"/deliveries/{delivery_id}#assigned", status_code=303)


@router.post("/deliveries/{delivery_id}/unassign")
def unassign(delivery_id: int, actor: ActorDep, db: DbDep, user_id: str = Form("")) -> Response:
    """Take the letter back from a member of staff (again: nothing more happens)."""
    from saraban.accounts.assignments import unassign_delivery

    _view(db, actor, delivery_id, "assign")
    if user_id.strip().isdigit():
        unassign_delivery(db, delivery_id, int(user_id), by=actor)
    return RedirectResponse(f"/deliveries/{delivery_id}#assigned", status_code=303)
