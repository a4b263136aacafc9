"""Error pages: plain Thai (with English) pages, never a stack trace.

- :class:`~saraban.accounts.authority.NotAllowed`: 404 for another office's thing, 403 for a role that may not;
- no session: a page goes to the login page (and back afterwards); an act answers 401;
- any HTTP error (404, 405, a CSRF refusal ...): its status and message;
- a request FastAPI cannot read (a bad number in the address): 404, or 422 with the field for a form;
- anything else: 500, logged on the server, one polite line for the person.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from saraban.accounts.authority import NotAllowed
from saraban.faces.web.deps import LoginRequired, render

log = logging.getLogger("saraban.web")

TITLES = {400: "คำขอไม่ถูกต้อง", 401: "กรุณาเข้าสู่ระบบ", 403: "ไม่มีสิทธิ์", 404: "ไม่พบหน้านี้", 405: "ทำรายการนี้ไม่ได้",
          409: "ทำรายการซ้ำ", 422: "ข้อมูลไม่ถูกต้อง", 429: "ลองใหม่ภายหลัง", 500: "เกิดข้อผิดพลาดในระบบ"}
MESSAGES = {404: "ไม่พบหน้านี้ หรือไม่ใช่ของหน่วยงานของท่าน / not found",
            405: "ทำรายการนี้ด้วยวิธีนี้ไม่ได้ / method not allowed",
            500: "ระบบทำรายการไม่สำเร็จ ไม่มีการบันทึกเพิ่ม กรุณาลองใหม่ หรือแจ้งผู้ดูแลระบบ / something went wrong on "
                 "the server; nothing more was recorded. Try again, or tell the administrator"}


def error_page(request: Request, status: int, message: str | None = None) -> Response:
    if request.headers.get("hx-request"):  # htmx swaps the answer into the page: a fragment, not a page
        text = message or MESSAGES.get(status) or TITLES.get(status, "")
        return HTMLResponse(f'<p class="error" role="alert">{_escape(text)}</p>', status_code=status)
    return render(request, "error.html", status_code=status, status=status, title=TITLES.get(status, "ข้อผิดพลาด"),
                  message=message or MESSAGES.get(status) or TITLES.get(status, ""))


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        if exc.not_found:
            return error_page(request, 404)
        return error_page(request, 403, str(exc))

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.method == "GET" and not request.headers.get("hx-request"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return error_page(request, 401, "กรุณาเข้าสู่ระบบก่อน / please log in first")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed") \
            else None
        response = error_page(request, exc.status_code, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> Response:
        if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            return error_page(request, 404)
        fields = ", ".join(str(e.get("loc", ("", "?"))[-1]) for e in exc.errors())
        return error_page(request, 422, f"ข้อมูลในแบบฟอร์มไม่ครบหรือไม่ถูกต้อง: {fields} / the form is incomplete or "
                                        f"wrong: {fields}")

    @app.exception_handler(OverflowError)
    async def beyond_any_id(request: Request, exc: OverflowError) -> Response:
        # a number in the address (an id, a page) larger than the database stores: nothing can be there
        return error_page(request, 404)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("web request failed: %s %s", request.method, request.url.path)
        return error_page(request, 500)
