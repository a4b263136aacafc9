"""Accounts and sessions of the web face: login, lock-out, throttling, CSRF, sessions ended by the admin."""

from __future__ import annotations

from sqlalchemy import select

from saraban.accounts.users import MAX_FAILURES, disable_user, reset_password
from saraban.records.models import Event
from tests.web import CSRF, PASSWORD, WebClient, web_world  # noqa: F401  (the web fixture)


def test_login_shows_the_office_and_logout_ends_the_session(web) -> None:
    client = web.client("krabi.clerk")
    page = client.get("/")
    assert page.status_code == 200
    assert "charset=utf-8" in page.headers["content-type"]
    assert '<meta charset="utf-8">' in page.text
    assert "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่" in page.text and "สารบรรณ" in page.text
    cookie = page.request.headers.get("cookie", "")
    assert "saraban_session=" in cookie
    set_cookie = client.login("krabi.clerk").headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 303  # back to the login page
    with web.db.reading() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.actor == "krabi.clerk").order_by(Event.id))]
        via = {e.via for e in s.scalars(select(Event).where(Event.actor == "krabi.clerk"))}
    assert kinds.count("account.login") == 2 and kinds[-1] == "account.logout" and via == {"web"}


def test_a_page_without_a_session_goes_to_login_and_back(web) -> None:
    client = web.client()
    response = client.get("/?x=1")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/%3Fx%3D1"
    page = client.get("/login?next=https://evil.example/")
    assert 'value="/"' in page.text  # never sent elsewhere after login


def test_wrong_passwords_lock_the_account_and_the_right_one_then_waits(web) -> None:
    client = web.client()
    client.csrf = CSRF.search(client.get("/login").text)[1]
    for _ in range(MAX_FAILURES - 1):
        page = client.post("/login", {"username": "krabi.clerk", "password": "wrong-password!"})
        assert page.status_code == 401 and "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in page.text
    page = client.post("/login", {"username": "krabi.clerk", "password": "wrong-password!"})
    assert page.status_code == 401 and "ล็อก" in page.text
    page = client.post("/login", {"username": "krabi.clerk", "password": PASSWORD})
    assert page.status_code == 401 and "ล็อก" in page.text  # locked: even the right password waits
    reset_password(web.db, "krabi.clerk", PASSWORD, actor="krabi.admin")
    assert web.client("krabi.clerk").get("/").status_code == 200
    with web.db.reading() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.actor == "krabi.clerk"))]
    assert "account.locked" in kinds and "account.login_refused" in kinds


def test_a_form_without_the_csrf_token_is_refused(web) -> None:
    client = web.client("krabi.clerk")
    response = client.post("/logout", csrf=False)
    assert response.status_code == 403 and "CSRF" in response.text
    response = client.post("/logout", {"csrf": "forged"})
    assert response.status_code == 403
    assert client.get("/").status_code == 200  # still logged in: nothing happened


def test_disabling_or_resetting_ends_open_sessions(web) -> None:
    client = web.client("krabi.clerk")
    assert client.get("/").status_code == 200
    reset_password(web.db, "krabi.clerk", "another-password-99", actor="krabi.admin")
    assert client.get("/").status_code == 303
    client.login("krabi.clerk", "another-password-99")
    disable_user(web.db, "krabi.clerk", actor="krabi.admin")
    assert client.get("/").status_code == 303
    page = WebClient(web.app).http.get("/login")
    assert page.status_code == 200


def test_an_unknown_address_is_a_thai_404_page(web) -> None:
    page = web.client("krabi.clerk").get("/no/such/page")
    assert page.status_code == 404 and "ไม่พบหน้านี้" in page.text and "Traceback" not in page.text


def test_pages_are_not_framed_cached_or_sniffed(web) -> None:
    page = web.client("krabi.clerk").get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    font = web.client().get("/fonts/Sarabun-Regular.ttf")
    assert font.status_code == 200 and len(font.content) > 10_000 and "cache-control" not in font.headers
    assert web.client().get("/static/htmx.min.js").status_code == 200


def test_many_failures_from_one_address_are_throttled_for_every_account(web) -> None:
    from saraban.accounts.users import MAX_ADDRESS_FAILURES

    client = web.client()
    client.csrf = CSRF.search(client.get("/login").text)[1]
    names = ["krabi.clerk", "krabi.head", "krabi.staff", "krabi.admin", "dept.clerk", "dept.head"]
    for i in range(MAX_ADDRESS_FAILURES):
        client.post("/login", {"username": names[i % len(names)], "password": f"guess-number-{i}"})
    page = client.post("/login", {"username": "town.clerk", "password": PASSWORD})
    assert page.status_code == 429 and "หลายครั้ง" in page.text


def test_people_logging_in_at_the_same_moment_do_not_queue_on_the_write_lock(web) -> None:
    """The password is checked outside the write transaction: twelve logins at once all succeed."""
    import threading

    from saraban.accounts.users import authenticate
    from tests.web import ACCOUNTS

    start = threading.Barrier(len(ACCOUNTS))
    results: dict[str, object] = {}

    def log_in(name: str) -> None:
        start.wait()
        try:
            results[name] = authenticate(web.db, name, PASSWORD, address="192.0.2.1").username
        except Exception as e:  # reported below
            results[name] = e

    threads = [threading.Thread(target=log_in, args=(name,)) for name in ACCOUNTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {name: name for name in ACCOUNTS}


def test_logging_out_ends_the_session_on_the_server_too(web) -> None:
    client = web.client("krabi.clerk")
    stolen = WebClient(web.app)
    stolen.http.cookies.update(client.http.cookies)  # a copy of the cookie, taken before logging out
    assert stolen.get("/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert stolen.get("/").status_code == 303  # the copy opens nothing any more


def test_control_characters_and_numbers_beyond_any_id_are_refused_politely(web) -> None:
    client = web.client("krabi.clerk")
    page = client.get("/inbox?q=a%00b")
    assert page.status_code == 400 and "อักขระควบคุม" in page.text
    anonymous = WebClient(web.app)
    anonymous.csrf = CSRF.search(anonymous.get("/login").text)[1]
    login = anonymous.post("/login", {"username": "a\x00b", "password": "x"})
    assert login.status_code == 400 and "Traceback" not in login.text
    for path in ("/deliveries/99999999999999999999", "/letters/99999999999999999999",
                 "/follow?page=1000000000000000000000000", "/registers/2569/receive?page=99999999999999999999"):
        answer = client.get(path)
        assert answer.status_code in (404, 422) and "Traceback" not in answer.text, path
    assert client.get("/deliveries/99999999999999999999").status_code == 404
