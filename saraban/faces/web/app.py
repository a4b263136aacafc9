"""The web application: ``create_app`` (what ``saraban web`` serves with uvicorn, one app per worker).

Each page group is a router of its own (``routes/``); every route gets the CSRF check (a dependency of
the whole app) and every act of a request is recorded as coming from the web and the client's address.
"""

from __future__ import annotations

from importlib import import_module

from fastapi import Depends, FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from saraban.faces.web import errors
from saraban.faces.web.pages import HERE
from saraban.faces.web.security import SESSION_COOKIE, SESSION_HOURS, check_csrf, check_input, session_secret
from saraban.faces.web.uploads import FORM_MARGIN, BodyLimit
from saraban.kernel.settings import Settings, load_settings
from saraban.letters.paper.fonts import sarabun_file
from saraban.records.db import Database, open_database
from saraban.records.events import acting_via

# The page groups, in the order of the menu; each module has a ``router``.
ROUTE_MODULES = ("auth", "home", "inbox", "tracking", "forward", "drafts", "sent", "follow", "registers", "users",
                 "office", "apply", "programmes", "assessment", "verify")


# No framing (clickjacking), no sniffing, no referrer to other sites (tracking links carry tokens), forms and
# scripts only from here; pages of an office are not kept in shared caches.
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"),
]


class WebRequests:
    """Around every request: its acts are recorded as ``via="web"`` from the client's address
    (saraban.records.events), and its answer carries the security headers (``no-store`` but for static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *SECURITY_HEADERS]
                if not scope["path"].startswith(("/static/", "/fonts/")):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        client = scope.get("client")
        with acting_via("web", client[0] if client else None):
            await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The app over ``settings``' data (the environment's by default) and ``db`` (opened from them)."""
    from saraban.directory.skeleton import ensure_directory

    settings = settings or load_settings()
    if db is None:
        db = open_database(settings)
        ensure_directory(db)
    app = FastAPI(title="saraban", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_csrf), Depends(check_input)])
    app.state.settings = settings
    app.state.db = db
    for name in ROUTE_MODULES:
        app.include_router(import_module(f"saraban.faces.web.routes.{name}").router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/fonts", StaticFiles(directory=sarabun_file("Regular").parent), name="fonts")
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.upload_max_bytes + FORM_MARGIN)  # inside the session: its page
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings), session_cookie=SESSION_COOKIE,
                       max_age=SESSION_HOURS * 3600, same_site="lax",
                       https_only=settings.base_url.startswith("https://"))
    app.add_middleware(WebRequests)
    return app


def route_table(app: FastAPI) -> list[tuple[str, frozenset[str], str]]:
    """Every route of the app's page groups: (path, methods, endpoint name), for the authority walk.

    FastAPI 0.150 keeps an included router as one entry (``original_router``); routers are included without
    a prefix of their own here, so their routes' paths are whole."""
    from fastapi.routing import APIRoute

    table = []
    pending = list(app.router.routes)
    while pending:
        route = pending.pop(0)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            pending.extend(inner.routes)
        elif isinstance(route, APIRoute):
            table.append((route.path, frozenset(route.methods or ()), route.endpoint.__name__))
    return table
