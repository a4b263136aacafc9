"""The administrator's users page: the office's accounts, add one (its password shown once), disable, reset a
password — and nothing of another office's (404). SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select

from saraban.accounts.users import authenticate
from saraban.records.models import Event, User
from tests.web import web_world  # noqa: F401  (the web fixture)


def account(web, username: str) -> User:
    with web.db.reading() as s:
        return s.scalar(select(User).where(User.username == username))


def test_the_admin_sees_the_offices_accounts_only(web):
    page = web.client("krabi.admin").get("/users")
    assert page.status_code == 200
    assert "krabi.clerk" in page.text and "สารบรรณ" in page.text and "phuket.clerk" not in page.text
    assert web.client("krabi.clerk").get("/users").status_code == 403  # a clerk does not manage accounts


def test_the_admin_adds_a_user_and_sees_the_password_once(web):
    admin = web.client("krabi.admin")
    page = admin.post("/users", {"username": "krabi.new", "display_name": "คุณใหม่ <script>x</script>",
                                 "role": "clerk", "email": ""})
    assert page.status_code == 200, page.text
    password = re.search(r"<code>([^<]+)</code>", page.text)[1]
    assert "คุณใหม่ &lt;script&gt;" in page.text
    user = authenticate(web.db, "krabi.new", password, address="127.0.0.1")
    assert (user.role, user.unit_id) == ("clerk", account(web, "krabi.clerk").unit_id)
    assert password not in admin.get("/users").text  # shown once
    with web.db.reading() as s:
        event = s.scalar(select(Event).where(Event.kind == "account.added", Event.actor == "krabi.admin"))
    assert event.via == "web"

    refused = admin.post("/users", {"username": "krabi.new", "display_name": "ซ้ำ", "role": "clerk"})
    assert refused.status_code == 422 and "already exists" in refused.text
    bad_role = admin.post("/users", {"username": "krabi.x", "display_name": "เอ็กซ์", "role": "boss"})
    assert bad_role.status_code == 422 and "unknown role" in bad_role.text and account(web, "krabi.x") is None


def test_the_admin_disables_and_resets_a_password(web):
    admin = web.client("krabi.admin")
    clerk = web.client("krabi.clerk")
    target = account(web, "krabi.clerk")
    reset = admin.post(f"/users/{target.id}/reset-password")
    assert reset.status_code == 200
    password = re.search(r"<code>([^<]+)</code>", reset.text)[1]
    assert clerk.get("/").status_code == 303  # the old session has ended
    authenticate(web.db, "krabi.clerk", password, address="127.0.0.1")
    done = admin.post(f"/users/{target.id}/disable")
    assert done.status_code == 303 and account(web, "krabi.clerk").disabled
    assert admin.post(f"/users/{account(web, 'krabi.admin').id}/disable").status_code == 409


def test_another_offices_admin_gets_404_and_changes_nothing(web):
    phuket = web.client("phuket.admin")
    target = account(web, "krabi.clerk")
    assert phuket.post(f"/users/{target.id}/disable").status_code == 404
    assert phuket.post(f"/users/{target.id}/reset-password").status_code == 404
    assert phuket.post("/users/999999/disable").status_code == 404
    after = account(web, "krabi.clerk")
    assert (after.disabled, after.password_hash, after.session_version) == (
        False, target.password_hash, target.session_version)
    assert "krabi.clerk" not in phuket.get("/users").text


def test_the_admin_keeps_the_offices_contact_in_the_directory(web) -> None:
    from saraban.records.models import Event, Unit

    admin = web.client("krabi.admin")
    page = admin.get("/office")
    assert page.status_code == 200 and "กบ 0023.6" in page.text
    saved = admin.post("/office", {"phone": "0 7561 1234", "email": "saraban@krabi.example.go.th",
                                   "letter_code": "กบ 0023.6"})
    assert saved.status_code == 303
    assert "บันทึกแล้ว" in admin.get(saved.headers["location"]).text
    with web.db.reading() as s:
        krabi = s.scalar(select(Unit).where(Unit.key == "prov.81"))
        event = s.scalar(select(Event).where(Event.kind == "unit.changed", Event.actor == "krabi.admin"))
    assert (krabi.phone, krabi.email) == ("0 7561 1234", "saraban@krabi.example.go.th")
    assert event.via == "web" and event.after["email"] == "saraban@krabi.example.go.th"
    refused = admin.post("/office", {"email": "not-an-address", "phone": "0 7561 1234",
                                     "letter_code": "กบ 0023.6"})
    assert refused.status_code == 422 and "อีเมล" in refused.text
    with web.db.reading() as s:
        assert s.scalar(select(Unit.email).where(Unit.key == "prov.81")) == "saraban@krabi.example.go.th"
    assert web.client("krabi.clerk").get("/office").status_code == 403
    assert web.client("krabi.clerk").post("/office", {"phone": "1"}).status_code == 403
