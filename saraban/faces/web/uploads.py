"""The size of what a browser may send: a request body larger than the largest upload (plus room for the form
around it) is refused with 413 before it is read — at once when its Content-Length says so, else as soon as
the bytes counted while reading pass the limit — so a 200 MB upload is neither kept in memory nor spooled to
disk. The file's own limit (per file) is the core's (saraban.programmes.evidence.read_limited).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_MARGIN = 1024 * 1024  # the multipart boundaries, the CSRF token and the other fields around the file


def too_large(limit: int) -> str:
    mb = f"{(limit - FORM_MARGIN) / (1024 * 1024):g}"
    return (f"ข้อมูลที่ส่งมาใหญ่เกินไป รับไฟล์ได้ไม่เกิน {mb} MB ไม่มีการบันทึก / the upload is too large: at most "
            f"{mb} MB per file; nothing was stored")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


class BodyLimit:
    """ASGI middleware: request bodies of at most ``limit`` bytes (inside the session middleware, so that the
    refusal is the app's Thai error page)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.limit:
            from saraban.faces.web.errors import error_page

            response = error_page(Request(scope), 413, too_large(self.limit))
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        counted = 0

        async def counting() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.limit:  # a body without (or beyond) its Content-Length: stop reading it
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counting, send)
