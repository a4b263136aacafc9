"""The real-browser tests' world: the app served by uvicorn on a free loopback port (one server per database
per test session) and Debian's chromium driven by Playwright (one browser per session).

Import the fixtures in a test module::

    from tests.browser import (blank_tab, launch_chromium, open_tabs, screenshot_folder,  # noqa: F401
                               screenshots_of_test, serve_app)

``live_server`` (SQLite, and PostgreSQL when ``SARABAN_TEST_POSTGRES_URL`` is set) is a :class:`LiveServer`
whose settings' ``base_url`` is its own address (the QR codes of the copies it makes point at it);
``tab_of("krabi.clerk")`` is a tab of that person, logged in through the login page (each person their own
browser context, their own cookies); ``page`` is a fresh tab of nobody; ``goto("/path")`` is relative to the
server. ``screenshots.take(tab, "step")`` saves numbered full-page pictures under the session's tmp folder
(and under ``$SARABAN_SCREENSHOTS`` when set: pytest keeps only its last three tmp folders). Without chromium
the tests are skipped, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from saraban.kernel.settings import Settings
from saraban.records.db import Database
from tests.dbs import KINDS, database_param, fresh_database
from tests.web import ACCOUNTS, PASSWORD, add_accounts

SCREENSHOTS_ENV = "SARABAN_SCREENSHOTS"
# The people of the browser tests (tests.web's accounts): each costs an argon2 hash (~0.5 s) to make.
PEOPLE = ("dept.clerk", "dept.head", "krabi.clerk", "mueang.clerk", "phuket.clerk")
START_TIMEOUT = 30.0  # seconds for uvicorn to answer
WAIT_MS = 20_000  # what a step waits for a page, a button, a text (Playwright's default for expect is 5 s)


@dataclass
class LiveServer:
    """The app of one database, served over real HTTP."""

    kind: str
    url: str  # http://127.0.0.1:<port>, also the settings' base_url (what the QR codes point at)
    db: Database
    settings: Settings
    app: object


class _Server:
    """uvicorn in a background thread, on a socket bound before it starts (no race for the port)."""

    def __init__(self) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, app) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError(f"uvicorn stopped before it answered on {self.url}")
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"uvicorn did not answer on {self.url} within {START_TIMEOUT:g} s")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)
        self.socket.close()


@pytest.fixture(name="live_server", scope="module", params=[database_param(k) for k in KINDS])
def serve_app(request, tmp_path_factory: pytest.TempPathFactory, data_dir: Path):
    """The app on a fresh database (``request.param``) with the directory and the accounts of ``PEOPLE``
    (tests.web's), served by uvicorn for the whole session.

    ``SARABAN_BASE_URL`` (the server's address: what the QR codes point at) and ``SARABAN_DATA_DIR`` are set
    only while the settings are read, then restored: the app keeps its settings, and the other tests of the
    session see the environment unchanged."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from saraban.directory.skeleton import ensure_directory
    from saraban.faces.web.app import create_app
    from saraban.faces.web.jobs import wait_for_files
    from saraban.kernel.settings import load_settings
    from saraban.records.models import Letter

    kind = request.param
    folder = tmp_path_factory.mktemp(f"live-{kind}")
    db = fresh_database(kind, folder)
    ensure_directory(db)
    add_accounts(db, {name: ACCOUNTS[name] for name in PEOPLE})
    server = _Server()  # its port first: the base URL is in the settings
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SARABAN_BASE_URL", server.url)
        env.setenv("SARABAN_DATA_DIR", str(folder / "data"))
        settings = load_settings()
    app = create_app(settings, db)
    server.start(app)
    try:
        yield LiveServer(kind=kind, url=server.url, db=db, settings=settings, app=app)
    finally:
        try:  # no file job left writing into a database that goes away
            with db.reading() as s:
                letter_ids = list(s.scalars(select(Letter.id)))
        except SQLAlchemyError:  # PostgreSQL's test database emptied by a later test of the session
            letter_ids = []
        for letter_id in letter_ids:
            wait_for_files(letter_id, timeout=60)
        server.stop()
        db.engine.dispose()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(name="browser", scope="module")
def launch_chromium():
    # Per module, not per session: while Playwright's sync API is open the main thread has a running event
    # loop, and Prefect (tests/test_workflow_*) would then hand back coroutines instead of results.
    """Debian's chromium, driven by Playwright (its own browser download is not reachable here)."""
    executable = chromium_path()
    if not executable:
        pytest.skip("chromium is not installed (sh scripts/install-browser.sh installs Debian's)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev install has it
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)  # a page made by LibreOffice on a busy CI machine takes seconds
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(name="tab_of")
def open_tabs(browser, live_server: LiveServer):
    """``tab_of("krabi.clerk")``: a browser tab of that person, logged in through the login page (each person
    a browser context of their own: their own cookies, as at their own desk)."""
    contexts = []

    def open_tab(username: str | None = None):
        context = browser.new_context(base_url=live_server.url, locale="th-TH",
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        tab = context.new_page()
        if username:
            log_in(tab, username)
            tab.wait_for_url(f"{live_server.url}/")
        return tab

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture(name="page")
def blank_tab(tab_of):
    """A fresh tab of its own (no cookies) on the live server; ``page.goto("/inbox")`` is relative to it."""
    return tab_of()


@dataclass
class Screenshots:
    """Numbered full-page screenshots of one test: ``shots.take(page, "login")`` → ``01-login.png``."""

    folders: list[Path]
    taken: list[Path] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    seconds: list[float] = field(default_factory=list)  # since the test started, at each screenshot

    def take(self, page, name: str) -> Path:
        slug = re.sub(r"[^\w.-]+", "-", name, flags=re.ASCII).strip("-") or "step"
        file_name = f"{len(self.taken) + 1:02d}-{slug}.png"
        data = page.screenshot(full_page=True)
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / file_name).write_bytes(data)
        self.taken.append(self.folders[0] / file_name)
        self.seconds.append(time.monotonic() - self.started)
        return self.taken[-1]

    def timings(self) -> str:
        """Each step's screenshot and the seconds the step took: where the time goes."""
        steps = zip(self.taken, [0.0, *self.seconds[:-1]], self.seconds, strict=True)
        return "\n".join(f"{after - before:6.1f} s  {path.name}" for path, before, after in steps)


@pytest.fixture(name="screenshot_root", scope="session")
def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(name="screenshots")
def screenshots_of_test(request, screenshot_root: Path) -> Screenshots:
    """Where this test's screenshots go: ``<session tmp>/screenshots*/<test>/`` (and ``$SARABAN_SCREENSHOTS``)."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name, flags=re.ASCII).strip("-")
    folders = [screenshot_root / name]
    if extra := os.environ.get(SCREENSHOTS_ENV):
        folders.append(Path(extra) / name)
    return Screenshots(folders)


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page, as a person would: type the name and password, press the button."""
    page.goto("/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_load_state()


def log_out(page) -> None:
    page.get_by_role("button", name="ออกจากระบบ").click()
    page.wait_for_url("**/login")
