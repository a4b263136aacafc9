"""`saraban user`: accounts from the command line — a password printed once, all-or-nothing imports, Thai-first
refusals with exit code 2 and nothing added (real SQLite, the real argon2 hashes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from saraban.accounts.users import authenticate, session_user
from saraban.faces.cli.app import app
from saraban.records.db import open_database
from saraban.records.models import Event, User


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    """Run ``saraban ARGS`` (with ``input`` on stdin) on a fresh SQLite database and data folder."""
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, [str(a) for a in args], input=input)


@pytest.fixture
def db(tmp_path: Path, cli):
    cli("user", "list")  # creates the database and its directory
    database = open_database(url=f"sqlite:///{tmp_path}/cli.db")
    yield database
    database.engine.dispose()


def users(db) -> dict[str, User]:
    with db.reading() as s:
        return {u.username: u for u in s.scalars(select(User))}


def printed_password(output: str, username: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith(f"รหัสผ่านของ {username} "))
    return line.rsplit(": ", 1)[1].strip()


def test_add_prints_a_generated_password_once_and_it_logs_in(cli, db):
    added = cli("user", "add", "somsri", "--name", "นางสมศรี ใจดี", "--unit", "สถจ.กระบี่", "--role", "สารบรรณ",
                "--email", "somsri@example.org")
    assert added.exit_code == 0, added.output
    assert "เพิ่มผู้ใช้ somsri (สารบรรณ) แล้ว" in added.output and "[prov.81]" in added.output
    password = printed_password(added.output, "somsri")
    user = authenticate(db, "somsri", password, address="127.0.0.1")
    assert (user.role, user.display_name, user.email) == ("clerk", "นางสมศรี ใจดี", "somsri@example.org")
    assert password not in user.password_hash
    with db.reading() as s:
        event = s.scalar(select(Event).where(Event.kind == "account.added"))
    assert event.via == "cli" and event.after["username"] == "somsri"


def test_add_reads_a_given_password_from_stdin_and_prints_none(cli, db):
    added = cli("user", "add", "malee", "--name", "มาลี", "--unit", "prov.81", "--role", "head", "--password-stdin",
                input="รหัสผ่านยาวพอแล้ว-1\n")
    assert added.exit_code == 0, added.output
    assert "รหัสผ่านของ" not in added.output
    assert authenticate(db, "malee", "รหัสผ่านยาวพอแล้ว-1", address="127.0.0.1").role == "head"


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "prov.81", "--role", "boss"], "unknown role 'boss'"),
    (["--unit", "no-such-office", "--role", "clerk"], "no-such-office"),
    (["--unit", "prov.81", "--role", "clerk", "--email", "not-an-address"], "not-an-address"),
])
def test_a_bad_request_adds_nothing(cli, db, args, message):
    result = cli("user", "add", "somchai", "--name", "สมชาย", *args)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
    assert "somchai" not in users(db)


def test_a_duplicate_username_is_refused(cli, db):
    assert cli("user", "add", "somchai", "--name", "สมชาย", "--unit", "prov.81", "--role", "clerk").exit_code == 0
    again = cli("user", "add", "SOMCHAI", "--name", "สมชายคนใหม่", "--unit", "prov.83", "--role", "head")
    assert again.exit_code == 2 and "a user named somchai already exists" in again.output
    assert users(db)["somchai"].display_name == "สมชาย"


def test_import_is_all_or_nothing_and_a_bad_row_names_its_line(cli, db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("username,display_name,unit,role,email\n"
                   "a.clerk,เอ,prov.81,สารบรรณ,\n"
                   "b.head,บี,prov.81,หัวหน้า,\n"
                   "c.who,ซี,prov.81,ภารโรง,\n", encoding="utf-8")
    result = cli("user", "import", bad)
    assert result.exit_code == 2, result.output
    assert "line 4" in result.output and "ภารโรง" in result.output and "nothing was added" in result.output
    assert users(db) == {}

    good = tmp_path / "good.csv"
    good.write_text("username,display_name,unit,role,email,password\n"
                    "a.clerk,เอ,prov.81,สารบรรณ,,\n"
                    "b.head,บี,อำเภอเมืองกระบี่,หัวหน้า,b@example.org,รหัสที่ตั้งไว้แล้ว-99\n", encoding="utf-8")
    result = cli("user", "import", good)
    assert result.exit_code == 0, result.output
    assert "เพิ่มผู้ใช้ 2 คน" in result.output
    assert "รหัสผ่านของ a.clerk" in result.output and "รหัสผ่านของ b.head" not in result.output
    authenticate(db, "a.clerk", printed_password(result.output, "a.clerk"), address="127.0.0.1")
    assert users(db)["b.head"].role == "head"


def test_disable_and_reset_password(cli, db):
    added = cli("user", "add", "somsri", "--name", "สมศรี", "--unit", "prov.81", "--role", "clerk")
    old = printed_password(added.output, "somsri")
    before = users(db)["somsri"]
    reset = cli("user", "reset-password", "somsri")
    assert reset.exit_code == 0, reset.output
    new = printed_password(reset.output, "somsri")
    assert new != old
    assert session_user(db, before.id, before.session_version) is None  # open sessions ended
    assert authenticate(db, "somsri", new, address="127.0.0.1").username == "somsri"

    disabled = cli("user", "disable", "somsri")
    assert disabled.exit_code == 0 and "disabled somsri" in disabled.output
    assert users(db)["somsri"].disabled
    listed = cli("user", "list", "--unit", "prov.81")
    assert "somsri" in listed.output and "disabled" in listed.output

    for command in ("disable", "reset-password"):
        unknown = cli("user", command, "nobody")
        assert unknown.exit_code == 2 and "no user named nobody" in unknown.output


def test_list_by_office(cli, db):
    cli("user", "add", "k.clerk", "--name", "เค", "--unit", "prov.81", "--role", "clerk")
    cli("user", "add", "p.clerk", "--name", "พี", "--unit", "prov.83", "--role", "clerk")
    krabi = cli("user", "list", "--unit", "prov.81")
    assert krabi.exit_code == 0 and "k.clerk" in krabi.output and "p.clerk" not in krabi.output
    everyone = cli("user", "list")
    assert "k.clerk" in everyone.output and "p.clerk" in everyone.output
    assert cli("user", "list", "--unit", "no-such-office").exit_code == 2


def test_saraban_web_serves_the_app_with_two_workers(tmp_path: Path):
    """`saraban web --workers 2`: uvicorn serves the app; sessions are cookies and all state is in the
    database, so a login on one worker holds on the other (whichever answers)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from tests.web import CSRF

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SARABAN_DATA_DIR": str(tmp_path / "data"),
           "SARABAN_DATABASE_URL": f"sqlite:///{tmp_path}/web.db", "SARABAN_BASE_URL": f"http://127.0.0.1:{port}"}
    saraban = [sys.executable, "-m", "saraban.faces.cli.app"]
    subprocess.run([*saraban, "user", "add", "krabi.clerk", "--name", "สมศรี", "--unit", "prov.81", "--role",
                    "clerk", "--password-stdin"], input="รหัสผ่านทดสอบ-1234\n", text=True, env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen([*saraban, "web", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as http:
            for _ in range(150):
                try:
                    login = http.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                pytest.fail("saraban web did not start")
            assert login.status_code == 200 and "เข้าสู่ระบบ" in login.text
            done = http.post("/login", data={"username": "krabi.clerk", "password": "รหัสผ่านทดสอบ-1234",
                                             "csrf": CSRF.search(login.text)[1]})
            assert done.status_code == 303
            for _ in range(6):  # either worker knows the session
                assert http.get("/").status_code == 200
            refused = http.get("/t/not-a-token-of-ours-at-all")
            assert refused.status_code == 404 and "ไม่พบหนังสือตามรหัสนี้" in refused.text
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/" in output


def test_an_assessor_is_appointed_to_one_programme_and_only_an_owners_assessor_can_be(cli, db, tmp_path):
    from saraban.programmes.applications import create_programme
    from saraban.programmes.assessors import appointed_programme_ids
    from saraban.records.models import Programme
    from tests.web import PROGRAMME_FILE, PROGRAMME_KEY

    create_programme(db, PROGRAMME_FILE)
    assert cli("user", "add", "ratree", "--name", "รตี ผู้ประเมิน", "--unit", "deqp", "--role", "ผู้ประเมิน").exit_code == 0
    assert cli("user", "add", "somchai", "--name", "สมชาย", "--unit", "prov.81", "--role", "assessor").exit_code == 0

    done = cli("programme", "assessor", PROGRAMME_KEY, "ratree")
    assert done.exit_code == 0 and "แต่งตั้ง ratree เป็นผู้ประเมินของ eco-town-2565 แล้ว" in done.output
    again = cli("programme", "assessor", PROGRAMME_KEY, "ratree")
    assert again.exit_code == 0 and "อยู่แล้ว" in again.output
    foreign = cli("programme", "assessor", PROGRAMME_KEY, "somchai")  # an assessor of another office
    assert foreign.exit_code == 2 and "ไม่ใช่ผู้ประเมินของกรมส่งเสริมคุณภาพสิ่งแวดล้อม" in foreign.output
    with db.reading() as s:
        programme_id = s.scalar(select(Programme.id))
        ids = {u.username: appointed_programme_ids(s, u.id) for u in s.scalars(select(User))}
    assert ids["ratree"] == {programme_id} and ids["somchai"] == set()

    removed = cli("programme", "assessor", PROGRAMME_KEY, "ratree", "--remove")
    assert removed.exit_code == 0 and "ถอน ratree" in removed.output
    with db.reading() as s:
        assert appointed_programme_ids(s, users(db)["ratree"].id) == set()
