"""Issue 12: a letter code the directory marks as a guess ('?') is never printed silently in ที่. Issuing or
forwarding by hand stops, naming the unit and how to set its code, with nothing numbered; confirming the
code lets it through. Flows that run unattended (the chain's carry-down) accept it. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.chain.circulars import CircularError, carry_down, forward, forward_draft, issue_circular, receive
from saraban.directory.imports import update_unit
from saraban.directory.units import get_unit
from saraban.faces.cli.app import app
from saraban.kernel.clock import BANGKOK, today
from saraban.records.models import Letter, RegisterEntry
from tests.conftest import example_dict
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)

AT = datetime(2024, 3, 29, 10, 0, tzinfo=BANGKOK)
GUESS = ("รหัสหนังสือขององค์การบริหารส่วนจังหวัดกระบี่ (pao.81) 'กบ 51001' เป็นค่าที่ยังไม่แน่นอน (? ในทำเนียบ) "
         "จึงไม่ออกเลข ตรวจรหัสที่ถูกต้องแล้วตั้งด้วย saraban directory set pao.81 --letter-code '...' --certain")


def numbered(db) -> tuple[int, int]:
    with db.reading() as s:
        return s.scalar(select(func.count(Letter.id))), s.scalar(select(func.count(RegisterEntry.id)))


def test_a_guessed_code_stops_the_numbering_until_it_is_confirmed(db, settings):
    with db.reading() as s:
        assert not get_unit(s, "pao.81").letter_code_certain  # the built-in directory's guess
    with pytest.raises(CircularError) as e:
        issue_circular(db, settings, circular_spec(), sender_key="pao.81", to=None, circular=False, at=AT)
    assert GUESS in str(e.value)
    assert "the letter code of องค์การบริหารส่วนจังหวัดกระบี่ (pao.81), 'กบ 51001', is a best guess" in str(e.value)
    assert numbered(db) == (0, 0)
    with db.transaction() as s:
        update_unit(s, "pao.81", letter_code="กบ 51001", letter_code_certain=True)
    issued = issue_circular(db, settings, circular_spec(), sender_key="pao.81", to=None, circular=False, at=AT,
                            files=False)
    assert issued.ref == "กบ 51001/1"


def test_forwarding_by_hand_stops_but_the_unattended_chain_goes_on(db, settings):
    with db.reading() as s:
        to = [get_unit(s, "prov.70")]  # Ratchaburi: 'รบ 0023' is a guess
    issued = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to=to, at=AT, files=False)
    receive(db, settings, issued.letter_id, "prov.70", at=AT)
    before = numbered(db)
    for attempt in (lambda: forward_draft(db, settings, issued.letter_id, "prov.70", at=AT),
                    lambda: forward(db, settings, issued.letter_id, "prov.70", at=AT, files=False)):
        with pytest.raises(CircularError, match=r"saraban directory set prov.70 --letter-code '...' --certain"):
            attempt()
    assert numbered(db) == before
    made = carry_down(db, settings, issued.letter_id, "prov.70", at=AT)
    with db.reading() as s:
        assert s.get(Letter, made[0]).ref_text == "รบ 0023/ว 1"


def test_the_command_line_refuses_a_guessed_code(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("01-project-letter") | {"date": today().isoformat(), "digits": "thai"}
    del spec["ref"]
    path = tmp_path / "letter.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["letter", "issue", str(path), "--from", "pao.81"])
    assert refused.exit_code == 2
    assert GUESS in refused.output
    set_ = runner.invoke(app, ["directory", "set", "pao.81", "--letter-code", "กบ 51001", "--certain"])
    assert set_.exit_code == 0, set_.output
    issued = runner.invoke(app, ["letter", "issue", str(path), "--from", "pao.81"])
    assert issued.exit_code == 0, issued.output
    assert "ที่ กบ 51001/1" in issued.output
