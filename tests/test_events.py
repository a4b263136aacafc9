"""Who did what: every act and every change to the directory is an event with its actor (the operating-system
user on the CLI), the office it acted for, the time, and before → after; `saraban log` lists them — on
SQLite and on PostgreSQL (``SARABAN_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from saraban.chain.circulars import cancel_letter, forward, issue_circular, receive, receive_incoming
from saraban.directory.imports import import_units, update_unit
from saraban.directory.skeleton import ensure_directory
from saraban.directory.units import get_unit
from saraban.faces.cli.app import app
from saraban.kernel.clock import BANGKOK
from saraban.kernel.clock import today as clock_today
from saraban.records.events import acting_via, find_events, set_origin
from saraban.records.models import Event
from tests.conftest import example_dict
from tests.dbs import (  # noqa: F401  (the db and settings fixtures)
    KINDS,
    circular_spec,
    database_param,
    database_url,
    directory_db,
    fresh_database,
    own_output_settings,
)

AT = datetime(2024, 4, 1, 9, 0, tzinfo=BANGKOK)
USER = getpass.getuser()


@pytest.fixture(autouse=True)
def core_origin():
    """The CLI marks its process's events 'cli': put it back after each test."""
    yield
    set_origin("core")


@pytest.fixture(params=[database_param(k) for k in KINDS])
def cli_db(request, tmp_path, monkeypatch):
    """A fresh database (with the directory) that the CLI finds through the environment."""
    database = fresh_database(request.param, tmp_path)
    ensure_directory(database)
    monkeypatch.setenv("SARABAN_DATABASE_URL", database_url(request.param, tmp_path))
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    yield database
    database.engine.dispose()


def events(db, kind: str) -> list[Event]:
    with db.transaction() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def unit_id(db, key: str) -> int:
    with db.transaction() as s:
        return get_unit(s, key).id


def test_changing_a_unit_leaves_its_before_and_after_and_the_os_user(cli_db):
    db = cli_db
    with db.transaction() as s:
        before_code = get_unit(s, "prov.81").letter_code
    runner = CliRunner()
    for args in (["--email", "krabi@dla.go.th"], ["--email", "outside@example.com"],
                 ["--letter-code", "กบ 0023.9"], ["--parent", "dla.env"]):
        result = runner.invoke(app, ["directory", "set", "prov.81", *args])
        assert result.exit_code == 0, result.output
    changed = events(db, "unit.changed")
    assert [e.actor for e in changed] == [USER] * 4 and {e.via for e in changed} == {"cli"}
    assert {e.unit_id for e in changed} == {unit_id(db, "prov.81")}
    assert (changed[0].before, changed[0].after) == ({"email": None}, {"email": "krabi@dla.go.th"})
    assert (changed[1].before, changed[1].after) == ({"email": "krabi@dla.go.th"}, {"email": "outside@example.com"})
    assert (changed[2].before, changed[2].after) == ({"letter_code": before_code}, {"letter_code": "กบ 0023.9"})
    assert (changed[3].before, changed[3].after) == ({"parent": "dla"}, {"parent": "dla.env"})
    # the same value again changes nothing and leaves no event
    assert runner.invoke(app, ["directory", "set", "prov.81", "--parent", "dla.env"]).exit_code == 0
    assert len(events(db, "unit.changed")) == 4


def test_an_import_leaves_one_event_per_unit_created_or_changed(db, tmp_path: Path):
    path = tmp_path / "units.csv"
    path.write_text("key,name,level,parent,email\ndiv.x,กองเอ็กซ์,division,dla,x@dla.go.th\n"
                    "prov.81,สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่,province_office,dla,k@dla.go.th\n",
                    encoding="utf-8")
    with db.transaction() as s:
        report = import_units(s, path, update=True, actor="somsri", at=AT)
    assert (report.created, report.updated) == (["div.x"], ["prov.81"])
    (created,) = events(db, "unit.created")
    assert created.actor == "somsri" and created.unit_id == unit_id(db, "div.x")
    assert created.after["email"] == "x@dla.go.th" and created.after["parent"] == "dla"
    (changed,) = events(db, "unit.changed")
    assert (changed.before, changed.after) == ({"email": None}, {"email": "k@dla.go.th"})
    (whole,) = events(db, "directory.imported")
    assert whole.data == {"file": "units.csv", "created": 1, "updated": 1}
    with db.transaction() as s:  # the same file again changes nothing and records nothing
        import_units(s, path, update=True, actor="somsri", at=AT)
    assert len(events(db, "unit.changed")) == 1 and len(events(db, "directory.imported")) == 1


def test_the_skeleton_loads_as_one_event(db):
    (loaded,) = [e for e in events(db, "directory.loaded") if e.data["source"] == "skeleton"]
    assert loaded.data["added"] > 1000
    with db.transaction() as s:
        assert s.scalar(select(Event.id).where(Event.kind == "unit.created").limit(1)) is None


def test_issue_receive_forward_cancel_carry_the_actor_and_the_office(db, settings):
    with db.transaction() as s:
        update_unit(s, "prov.81", actor="admin", at=AT, email="krabi@dla.go.th")
        to = [get_unit(s, "prov.81"), get_unit(s, "prov.82")]
    issued = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to=to, actor="somchai", at=AT)
    receive(db, settings, issued.letter_id, "prov.81", actor="somsri", at=AT + timedelta(hours=1))
    with acting_via("flow"):
        onward = forward(db, settings, issued.letter_id, "prov.81", to="amphoe.8101", actor="somsri",
                         at=AT + timedelta(hours=2))
    cancel_letter(db, issued.letter_id, reason="ออกซ้ำ", actor="somchai", at=AT + timedelta(hours=3))
    receive_incoming(db, "prov.82", ref="ทส 0101/12", letter_date=AT.date(), sender="กระทรวงทรัพยากรธรรมชาติ",
                     subject="แจ้ง", actor="malee", at=AT)
    dla, krabi, phangnga = (unit_id(db, k) for k in ("dla.env.2", "prov.81", "prov.82"))
    who = {(e.kind, e.letter_id): (e.actor, e.office_id, e.unit_id, e.via)
           for kind in ("letter.issued", "delivery.received", "delivery.forwarded", "register.cancelled",
                        "letter.received_from_outside") for e in events(db, kind)}
    assert who[("letter.issued", issued.letter_id)] == ("somchai", dla, dla, "core")
    assert who[("delivery.received", issued.letter_id)] == ("somsri", krabi, krabi, "core")
    assert who[("letter.issued", onward.letter_id)] == ("somsri", krabi, krabi, "flow")
    assert who[("delivery.forwarded", issued.letter_id)] == ("somsri", krabi, krabi, "flow")
    assert who[("register.cancelled", issued.letter_id)] == ("somchai", dla, dla, "core")
    assert who[("letter.received_from_outside", None)] == ("malee", phangnga, phangnga, "core")
    with db.transaction() as s:  # the core's query: by unit (about it or on its behalf), actor, time, kind
        assert [e.kind for e in find_events(s, unit_ids=[krabi], since=AT + timedelta(minutes=1))] == [
            "delivery.received", "letter.issued", "delivery.forwarded"]
        assert [e.kind for e in find_events(s, actor="somchai", kind="register")] == ["register.cancelled"]
        assert len(find_events(s, letter_id=issued.letter_id, limit=2)) == 2
        page = find_events(s, letter_id=issued.letter_id, limit=2, offset=2)
        assert [e.kind for e in page] == ["delivery.forwarded", "register.cancelled"]
        assert [e.kind for e in find_events(s, unit_ids=[krabi], until=AT + timedelta(minutes=1))] == ["unit.changed"]
        assert find_events(s, unit_ids=[krabi], newest_first=True, limit=1)[0].kind == "delivery.forwarded"


def _issue_by_cli(tmp_path: Path, runner: CliRunner) -> None:
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = clock_today().isoformat()  # a letter dated today: no reason needed
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2",
                                 "--to", "prov.81,prov.82"])
    assert result.exit_code == 0, result.output


def test_the_cli_records_the_os_user_and_saraban_log_filters(cli_db, tmp_path: Path):
    db = cli_db
    runner = CliRunner()
    _issue_by_cli(tmp_path, runner)
    assert runner.invoke(app, ["receive", "1", "--unit", "สถจ.กระบี่"]).exit_code == 0
    assert runner.invoke(app, ["circular", "forward", "1", "--unit", "prov.81", "--to", "amphoe.8101"]).exit_code == 0
    assert runner.invoke(app, ["circular", "cancel", "1", "--reason", "ออกซ้ำ"]).exit_code == 0
    assert runner.invoke(app, ["directory", "set", "prov.82", "--email", "pn@dla.go.th"]).exit_code == 0
    assert "--by" not in runner.invoke(app, ["circular", "cancel", "--help"]).output
    krabi, dla = unit_id(db, "prov.81"), unit_id(db, "dla.env.2")
    acts = [e for k in ("letter.issued", "delivery.received", "delivery.forwarded", "register.cancelled")
            for e in events(db, k)]
    assert {(e.actor, e.via) for e in acts} == {(USER, "cli")} and len(acts) == 5
    assert {e.office_id for e in acts} == {dla, krabi}

    def log(*args: str) -> list[dict]:
        result = runner.invoke(app, ["log", "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    everything = log()
    assert [e["at"] for e in everything] == sorted(e["at"] for e in everything)
    assert [e["kind"] for e in log("--letter", "1")] == [
        "letter.issued", "delivery.received", "delivery.forwarded", "register.cancelled"]
    assert [e["kind"] for e in log("--letter", "มท 0820.2/ว ๑")] == [e["kind"] for e in log("--letter", "1")]
    krabi_log = log("--unit", "สถจ.กระบี่", "--kind", "delivery")
    assert [(e["kind"], e["office"], e["actor"]) for e in krabi_log] == [
        ("delivery.received", "prov.81", USER), ("delivery.forwarded", "prov.81", USER)]
    (change,) = log("--kind", "unit.changed")
    assert (change["unit"], change["before"], change["after"]) == ("prov.82", {"email": None},
                                                                   {"email": "pn@dla.go.th"})
    assert log("--actor", "nobody-at-all") == []
    assert len(log("--actor", USER)) == 6
    today = clock_today()
    assert log("--until", (today - timedelta(days=1)).isoformat()) == []
    assert len(log("--since", today.isoformat(), "--actor", USER)) == 6
    assert len(log("--since", f"{today.day} {_THAI_MONTHS[today.month - 1]} {today.year + 543}",
                   "--until", today.isoformat(), "--actor", USER)) == 6
    assert len(log("--limit", "2")) == 2 and log("--limit", "2", "--offset", "2")[0] == everything[2]
    text = runner.invoke(app, ["log", "--letter", "1"])
    assert text.exit_code == 0 and "ออกหนังสือ" in text.stdout and "ลงรับ" in text.stdout and USER in text.stdout
    assert "๒๕๖" in text.stdout or "๒๕๗" in text.stdout  # B.E. dates in Thai digits
    plain = runner.invoke(app, ["log", "--kind", "unit.changed"]).stdout
    assert "email: None → 'pn@dla.go.th'" in plain
    bad = runner.invoke(app, ["log", "--unit", "prov.999"])
    assert bad.exit_code == 2 and "prov.999" in bad.output
    assert runner.invoke(app, ["log", "--since", "yesterday"]).exit_code == 2


_THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม", "กันยายน",
                "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
