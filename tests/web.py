"""The web tests' world: offices of the chain with accounts of every role, an app over a fresh database,
and a client logged in as one person (FastAPI's TestClient: the real app in-process, cookies and all).

Use the ``web`` fixture (SQLite and PostgreSQL): ``web.client("krabi.clerk")`` is logged in;
``web.circular()`` issues the department's circular to Krabi's and Phuket's offices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from saraban.kernel.settings import Settings
from saraban.records.db import Database
from tests.dbs import KINDS, circular_spec, database_param, fresh_database

PASSWORD = "ทดสอบ-password-1234"
# username: (unit key, role). Phuket's people are the foreign office of every authority test.
ACCOUNTS = {
    "dept.clerk": ("dla.env.2", "clerk"),
    "dept.head": ("dla.env.2", "head"),
    "krabi.clerk": ("prov.81", "clerk"),
    "krabi.head": ("prov.81", "head"),
    "krabi.staff": ("prov.81", "staff"),
    "krabi.admin": ("prov.81", "admin"),
    "mueang.clerk": ("amphoe.8101", "clerk"),
    "town.clerk": ("muni.8101.krabi", "clerk"),
    "phuket.clerk": ("prov.83", "clerk"),
    "phuket.head": ("prov.83", "head"),
    "phuket.staff": ("prov.83", "staff"),
    "phuket.admin": ("prov.83", "admin"),
}
# The programme's people (web.programme() adds them): the owner's (DEQP) and two applicants, Krabi's town
# municipality (town.clerk above) and Phuket's Patong (the foreign applicant).
PROGRAMME_ACCOUNTS = {
    "deqp.clerk": ("deqp", "clerk"),
    "deqp.head": ("deqp", "head"),
    "deqp.assessor": ("deqp", "assessor"),  # appointed to the programme
    "deqp.assessor2": ("deqp", "assessor"),  # not appointed: sees no programme
    "town.head": ("muni.8101.krabi", "head"),
    "patong.clerk": ("muni.8301.patong", "clerk"),
}
PROGRAMME_FILE = Path(__file__).parent.parent / "examples" / "programmes" / "eco-town-2565.yaml"
PROGRAMME_KEY = "eco-town-2565"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_accounts(db: Database, accounts: dict[str, tuple[str, str]] = ACCOUNTS) -> None:
    from saraban.accounts.users import NewUser, import_users

    import_users(db, [NewUser(username=name, display_name=f"คุณ{name}", unit=unit, role=role, password=PASSWORD)
                      for name, (unit, role) in accounts.items()], actor="test")


class WebClient:
    """A browser of one person: cookies kept, the CSRF token of the session sent with every form."""

    def __init__(self, app, username: str | None = None) -> None:
        self.http = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False,
                               follow_redirects=False)
        self.csrf = ""
        if username:
            self.login(username)

    def login(self, username: str, password: str = PASSWORD):
        page = self.http.get("/login")  # the session's CSRF token (a logged-in session is sent on: keeps its own)
        if found := CSRF.search(page.text):
            self.csrf = found[1]
        response = self.http.post("/login", data={"username": username, "password": password, "csrf": self.csrf})
        assert response.status_code == 303, response.text
        return response

    def get(self, path: str, **kw):
        return self.http.get(path, **kw)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf", self.csrf)
        return self.http.post(path, data=data, **kw)


@dataclass
class ProgrammeWorld:
    key: str
    invitation: object  # the invitation's Issued (None when not invited)
    tokens: dict[str, str]  # unit key → its invitation copy's tracking token


@dataclass
class WebWorld:
    db: Database
    settings: Settings
    app: object

    def client(self, username: str | None = None) -> WebClient:
        return WebClient(self.app, username)

    def circular(self, to: str = "prov.81,prov.83", **changes):
        """The department's circular issued (by dept.clerk) to ``to``, dated today unless ``date`` is given
        (the example's own date is too far from today for the register): its Issued."""
        from saraban.chain.circulars import issue_circular
        from saraban.kernel.clock import today

        changes.setdefault("date", today())
        return issue_circular(self.db, self.settings, circular_spec(**changes), sender_key="dla.env.2", to=to,
                              actor="dept.clerk")

    def programme(self, *, opens: datetime | None = None, closes: datetime | None = None, invite: bool = True,
                  to: str = "muni.8101.krabi,muni.8301.patong") -> ProgrammeWorld:
        """The example programme (DEQP's eco-town, field-examples §2) open from ``opens`` (a month ago) to
        ``closes`` (a month from now), its people (PROGRAMME_ACCOUNTS; deqp.assessor appointed), Phuket's
        Patong municipality, and (``invite``) its invitation sent to ``to`` today."""
        import yaml
        from sqlalchemy import select

        from saraban.directory.imports import update_unit
        from saraban.kernel.clock import now
        from saraban.programmes.applications import create_programme, send_invitation
        from saraban.programmes.assessors import appoint_assessor
        from saraban.records.models import Delivery, Unit

        with self.db.transaction() as s:
            update_unit(s, "deqp", letter_code="ทส 0903", address="ถนนพระรามที่ 6 เขตพญาไท กรุงเทพฯ 10400",
                        email="ecotown@example.org")
            amphoe = s.scalar(select(Unit).where(Unit.key == "amphoe.8301"))
            if s.scalar(select(Unit.id).where(Unit.key == "muni.8301.patong")) is None:
                s.add(Unit(key="muni.8301.patong", name="เทศบาลเมืองป่าตอง", level="town_municipality",
                           parent_id=amphoe.id, province_code="83", email="patong@example.org"))
        add_accounts(self.db, PROGRAMME_ACCOUNTS)
        at = now()
        data = yaml.safe_load(PROGRAMME_FILE.read_text(encoding="utf-8"))
        data["window"] = {"opens": (opens or at - timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
                          "closes": (closes or at + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
                          "time_zone": "Asia/Bangkok"}
        create_programme(self.db, data, actor="deqp.clerk")
        appoint_assessor(self.db, PROGRAMME_KEY, "deqp.assessor", actor="deqp.head")
        if not invite:
            return ProgrammeWorld(PROGRAMME_KEY, None, {})
        issued = send_invitation(self.db, self.settings, PROGRAMME_KEY, to=to, actor="deqp.clerk")
        with self.db.reading() as s:
            tokens = dict(s.execute(select(Unit.key, Delivery.token).join(Unit, Unit.id == Delivery.unit_id)
                                    .where(Delivery.letter_id == issued.letter_id)).all())
        return ProgrammeWorld(PROGRAMME_KEY, issued, tokens)


@pytest.fixture(name="web", params=[database_param(k) for k in KINDS])
def web_world(request, tmp_path: Path, monkeypatch, data_dir) -> WebWorld:
    """An app over a fresh database (SQLite, PostgreSQL) with the directory and the accounts of ACCOUNTS."""
    from saraban.directory.skeleton import ensure_directory
    from saraban.faces.web.app import create_app
    from saraban.kernel.settings import load_settings

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    db = fresh_database(request.param, tmp_path)
    ensure_directory(db)
    add_accounts(db)
    yield WebWorld(db=db, settings=settings, app=create_app(settings, db))
    db.engine.dispose()
