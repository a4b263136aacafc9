"""Sessions, CSRF and the client's address.

The session is Starlette's signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure when the base URL is
https) holding the account id, its session version and the CSRF token. Every request that is not a read
(``GET``/``HEAD``/``OPTIONS``) must carry that token, as the form field ``csrf`` or the header
``X-CSRF-Token`` (htmx sends it): the check is a dependency of the whole app, so a new route has it too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from fastapi import HTTPException, Request

from saraban.chain.tracking import secret_key
from saraban.kernel.settings import Settings

SESSION_COOKIE = "saraban_session"
SESSION_HOURS = 10  # a working day
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_secret(settings: Settings) -> str:
    """The session-signing key, derived from the office's secret (never the same key as the tracking links)."""
    return hmac.new(secret_key(settings), b"saraban web session", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


class CsrfRefused(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "แบบฟอร์มหมดอายุหรือไม่ได้มาจากหน้านี้ กรุณาเปิดหน้าใหม่แล้วลองอีกครั้ง / the form has expired "
                              "or did not come from this site (CSRF); reload the page and try again")


async def check_csrf(request: Request) -> None:
    """Refuse (403) a request that changes something without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = (await request.form()).get("csrf")
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise CsrfRefused()


def client_address(request: Request) -> str:
    return (request.client.host if request.client else None) or "unknown"


def safe_path(target: str | None, default: str = "/") -> str:
    """Only a path of this site (never ``//elsewhere`` or ``https://elsewhere``) to send the browser on to."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# Control characters (NUL above all: PostgreSQL refuses it in text) have no place in anything typed into a
# form or a search box; tab and line breaks do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ControlCharacterRefused(HTTPException):
    def __init__(self, where: str) -> None:
        super().__init__(400, f"ข้อความที่ส่งมามีอักขระควบคุม (เช่น NUL) ใน {where} ลบออกแล้วลองอีกครั้ง / the request "
                              f"carries a control character (such as NUL) in {where}; remove it and try again")


async def check_input(request: Request) -> None:
    """Refuse (400) a query or form that carries a control character, before any route reads it."""
    for name, value in request.query_params.multi_items():
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise ControlCharacterRefused(name if not _CONTROL.search(name) else "query")
    if request.method not in SAFE_METHODS and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str) and (_CONTROL.search(name) or _CONTROL.search(value)):
                raise ControlCharacterRefused(name if not _CONTROL.search(name) else "form")
