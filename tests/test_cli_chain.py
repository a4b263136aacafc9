"""The chain from the command line, as a clerk types it (SQLite)."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from saraban.faces.cli.app import app
from saraban.kernel.clock import today
from tests.conftest import example_dict


def test_issue_receive_forward_status_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = today().isoformat()  # a letter is dated the day it is numbered (or says why not)
    (tmp_path / "circular.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()

    issued = runner.invoke(app, ["circular", "issue", str(tmp_path / "circular.yaml"), "--from", "dla.env.2",
                                 "--to", "all:province_office"])
    assert issued.exit_code == 0, issued.output
    assert "issued: letter 1, ที่ มท 0820.2/ว 1, 76 recipients" in issued.output

    early = runner.invoke(app, ["circular", "forward", "1", "--unit", "prov.81"])
    assert early.exit_code == 2 and "receive it first" in early.output

    got = runner.invoke(app, ["receive", "มท ๐๘๒๐.๒/ว ๑", "--unit", "prov.81"])
    assert got.exit_code == 0 and "received: เลขรับ ๑/" in got.output
    again = runner.invoke(app, ["receive", "1", "--unit", "prov.81"])
    assert "already received: เลขรับ ๑/" in again.output
    wrong = runner.invoke(app, ["receive", "1", "--unit", "amphoe.8101"])
    assert wrong.exit_code == 2 and "not sent to" in wrong.output

    fwd = runner.invoke(app, ["circular", "forward", "1", "--unit", "prov.81"])
    assert fwd.exit_code == 0 and "ที่ กบ 0023.6/ว 1, 10 recipients" in fwd.output

    status = runner.invoke(app, ["status", "1", "--json"])
    tree = json.loads(status.output)
    assert tree["levels"]["province_office"] == {"sent": 76, "received": 1, "forwarded": 1, "missing": 75}
    assert tree["levels"]["district_office"] == {"sent": 8, "received": 0, "forwarded": 0, "missing": 8}
    unknown = runner.invoke(app, ["circular", "issue", str(tmp_path / "circular.yaml"), "--from", "dla.env",
                                  "--to", "all:province_offise"])
    assert unknown.exit_code == 2 and "province_offise" in unknown.output


def test_a_refused_email_shows_in_the_status(tmp_path, monkeypatch):
    from datetime import datetime

    from saraban.directory.units import get_unit
    from saraban.kernel.clock import BANGKOK
    from saraban.kernel.settings import load_settings
    from saraban.notify.mail import MailResult, record_mail
    from saraban.records.db import open_database

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = today().isoformat()  # a letter is dated the day it is numbered (or says why not)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2",
                               "--to", "all:province_office"]).exit_code == 0
    db = open_database(load_settings())
    bounced = MailResult(ok=False, to=["krabi@example.org"], refused={"krabi@example.org": "550 5.1.1 no such user"},
                         attempts=1, error=None, message_id="<x@saraban>")
    with db.transaction() as s:
        record_mail(s, bounced, actor="saraban", at=datetime(2024, 3, 30, 9, 0, tzinfo=BANGKOK),
                    unit_id=get_unit(s, "prov.81").id, subject="ทวงถาม")
    text = runner.invoke(app, ["status", "1"]).output
    assert "e-mail problems: 1" in text and "[prov.81] mail.refused" in text and "550 5.1.1 no such user" in text
    data = json.loads(runner.invoke(app, ["status", "1", "--json"]).output)
    assert [p["unit"] for p in data["mail_problems"]] == ["prov.81"]


def test_a_failure_that_a_later_send_delivered_is_shown_as_resolved(tmp_path, monkeypatch):
    from datetime import datetime

    from saraban.directory.units import get_unit
    from saraban.kernel.clock import BANGKOK, today
    from saraban.kernel.settings import load_settings
    from saraban.notify.mail import MailResult, record_mail
    from saraban.records.db import open_database

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = today().isoformat()
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2",
                               "--to", "prov.81,prov.82"]).exit_code == 0
    db = open_database(load_settings())
    down = MailResult(ok=False, to=["k@example.org"], refused={}, attempts=3, error="ConnectionRefusedError",
                      message_id="<r1@saraban>")
    with db.transaction() as s:
        krabi, phangnga = get_unit(s, "prov.81").id, get_unit(s, "prov.82").id
        for unit_id in (krabi, phangnga):
            record_mail(s, down, actor="saraban", at=datetime(2024, 4, 9, 8, 0, tzinfo=BANGKOK), unit_id=unit_id,
                        kind="reminder.mailed", letter_id=1, about=f"reminder:{unit_id}", subject="ทวงถาม")
        record_mail(s, MailResult(True, ["k@example.org"], {}, 1, None, "<r1@saraban>"), actor="saraban",
                    at=datetime(2024, 4, 10, 8, 0, tzinfo=BANGKOK), unit_id=krabi, kind="reminder.mailed",
                    letter_id=1, about=f"reminder:{krabi}", subject="ทวงถาม")
    text = runner.invoke(app, ["status", "1"]).output
    assert "e-mail problems: 1" in text and "[prov.82] mail.failed" in text
    assert "[prov.81] mail.failed" not in text and "resolved by a later send: 1" in text
    data = json.loads(runner.invoke(app, ["status", "1", "--json"]).output)
    assert {(p["unit"], p["resolved"]) for p in data["mail_problems"]} == {("prov.81", True), ("prov.82", False)}


def test_messages_are_thai_first_and_units_may_be_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")
    del spec["ref"]
    spec["date"] = today().isoformat()  # a letter is dated the day it is numbered (or says why not)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    issued = runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "กลุ่มงานสิ่งแวดล้อม",
                                 "--to", "สถจ.กระบี่,สถจ.พังงา"])
    assert issued.exit_code == 0, issued.output
    assert issued.output.startswith("ออกหนังสือแล้ว / issued: letter 1, ที่ มท 0820.2/ว 1, 2 recipients")
    wrong = runner.invoke(app, ["receive", "1", "--unit", "อำเภอเกาะลันตา"])
    assert wrong.exit_code == 2
    assert wrong.output.startswith("หนังสือ ที่ มท 0820.2/ว 1 ไม่ได้ส่งถึงที่ว่าการอำเภอเกาะลันตา")
    assert "not sent to" in wrong.output
    early = runner.invoke(app, ["circular", "forward", "1", "--unit", "จังหวัดกระบี่"])
    assert early.exit_code == 2 and "ต้องลงรับก่อนส่งต่อ / " in early.output and "receive it first" in early.output
    unknown = runner.invoke(app, ["receive", "1", "--unit", "prov.811"])
    assert unknown.exit_code == 2 and unknown.output.startswith("ไม่พบหน่วยงาน 'prov.811'")
    cancelled = runner.invoke(app, ["circular", "cancel", "1", "--reason", "ออกซ้ำ"])
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.output.startswith("ยกเลิกแล้ว บรรทัดยกเลิกคือเลขที่ ๒ ของทะเบียนหนังสือส่ง / cancelled: the "
                                       "cancellation is line 2 of the send register")
