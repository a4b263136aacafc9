"""One rule of the chain (saraban.chain.expectations): who passes a circular on and to whom, and when a
unit's part is done; the status (text, --json, the report), carry_down and the reminders all agree on it.
On SQLite and PostgreSQL (``SARABAN_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.chain.circulars import carry_down, forward, issue_circular, receive, receive_many, recipients_of
from saraban.chain.distribution import owner_block, owner_of
from saraban.chain.expectations import chain_recipients, expected_to_forward, expects_to_forward, next_hop
from saraban.chain.status import LetterStatus, as_dict, as_text, letter_status
from saraban.directory.units import get_unit
from saraban.kernel.clock import BANGKOK
from saraban.programmes.reminders import due_reminders
from saraban.records.models import Delivery, Letter, Unit
from saraban.reports.status import WHY_NOT_FORWARDED, WHY_NOT_RECEIVED, status_report
from tests.dbs import add_unit, circular_spec, directory_db, own_output_settings  # noqa: F401  (db, settings)

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
FORWARDED = datetime(2024, 3, 30, 9, 0, tzinfo=BANGKOK)
LATER = datetime(2024, 4, 10, 9, 0, tzinfo=BANGKOK)  # past every receipt reminder step of both letters
LEAF = "amphoe.7001"  # อำเภอเมืองราชบุรี: nothing below it in the directory
NOT_RECEIVED = "amphoe.7002"  # อำเภอจอมบึง, nothing below it either
BANPONG = "amphoe.7005"  # อำเภอบ้านโป่ง: two subdistrict municipalities below it


def keys(session, unit_key: str) -> list[str]:
    return [u.key for u in chain_recipients(session, get_unit(session, unit_key))]


def test_who_is_expected_to_forward_is_who_has_a_next_hop(db):
    with db.transaction() as s:
        assert keys(s, "prov.81") == [*(f"amphoe.81{i:02d}" for i in range(1, 9)), "muni.8101.krabi", "pao.81"]
        assert keys(s, BANPONG) == ["muni.7005.boekphrai", "muni.7005.krapyai"]  # not the town: the province's
        assert keys(s, "amphoe.8101") == []  # only a town municipality below it, which the province writes to
        assert keys(s, LEAF) == [] and keys(s, "pao.70") == [] and keys(s, "muni.7005.krapyai") == []
        bulk = dict(s.execute(select(Unit.key, expected_to_forward(Unit))).all())
        units = s.scalars(select(Unit).order_by(Unit.key)).all()
        assert len(bulk) == len(units) > 1000
        for unit in units:  # the next hop, the one-unit question and the bulk one never disagree
            assert expects_to_forward(s, unit) == bool(chain_recipients(s, unit)) == bool(bulk[unit.key]), unit.key
        sample = [u for i, u in enumerate(units) if i % 10 == 0 or u.level not in ("district_office", "sao")]
        for unit in sample:  # nor does the hop's query, which reads the owner block's units with them
            hop = next_hop(s, unit)
            assert hop.recipients == chain_recipients(s, unit), unit.key
            assert hop.forwarding == {u.id for u in hop.recipients if bulk[u.key]}, unit.key
            assert owner_of(unit, hop.parent, hop.groups) == owner_block(s, unit), unit.key
        assert {k for k, v in bulk.items() if v} >= {"prov.81", BANPONG, "dla"}
        assert not bulk[LEAF] and not bulk["amphoe.8101"] and not bulk["pao.81"]


def test_the_level_does_not_decide_units_below_do(db):
    """A local administration with a unit below it is expected to forward; a district office without is not."""
    with db.transaction() as s:
        krapyai = get_unit(s, "muni.7005.krapyai")
        assert not expects_to_forward(s, krapyai)
    add_unit(db, "muni.7005.krapyai.school", "โรงเรียนเทศบาลกระเป๋าใหญ่", level="other", parent_id=krapyai.id)
    with db.transaction() as s:
        assert expects_to_forward(s, get_unit(s, "muni.7005.krapyai"))
        assert keys(s, "muni.7005.krapyai") == ["muni.7005.krapyai.school"]


@pytest.fixture
def ratchaburi(db, settings) -> tuple[int, int]:
    """The department's circular to Ratchaburi, which receives it and forwards it to its 10 districts, its
    PAO and เทศบาลเมืองบ้านโป่ง; all of them receive it except อำเภอจอมบึง. Nobody forwards further yet.
    Returns the department's letter and Ratchaburi's."""
    with db.transaction() as s:
        to = [get_unit(s, "prov.70")]
    issued = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to=to, at=AT)
    receive(db, settings, issued.letter_id, "prov.70", at=AT)
    # Ratchaburi's letter code is the built-in directory's guess: accepted here as a flow would
    fwd = forward(db, settings, issued.letter_id, "prov.70", at=FORWARDED, uncertain_code_ok=True)
    got = [k for k in recipients_of(db, fwd.letter_id) if k != NOT_RECEIVED]
    receive_many(db, settings, fwd.letter_id, got, at=FORWARDED)
    return issued.letter_id, fwd.letter_id


def owed(status: LetterStatus) -> dict[str, str]:
    return {n.unit_key: n.owes for n in status.missing()}


def cli(db, settings, *args: str):
    from saraban.faces.cli.app import app

    env = {"SARABAN_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
           "SARABAN_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_unit_with_nothing_below_it_is_done_when_it_has_received(db, settings, ratchaburi):
    letter, _ = ratchaburi
    status = letter_status(db, letter)
    leaf = next(n for n in status.nodes() if n.unit_key == LEAF)
    assert (leaf.state, leaf.expected_to_forward, leaf.owes) == ("received", False, None)
    # Ban Pong has units below it: received and not forwarded, it is still missing.
    assert owed(status) == {NOT_RECEIVED: "receipt", BANPONG: "forward"}
    assert status.by_level()["district_office"] == {"sent": 10, "received": 9, "forwarded": 0, "missing": 1}

    text = as_text(status)
    assert "ยังไม่ครบ / still missing: 2" in text
    missing_lines = text.split("ยังไม่ครบ / still missing: 2")[1]
    assert f"[{BANPONG}]: ลงรับแล้ว ยังไม่ส่งต่อ / received, not forwarded" in missing_lines
    assert f"[{NOT_RECEIVED}]: ยังไม่ลงรับ / not received" in missing_lines
    assert f"[{LEAF}]" not in missing_lines and "[pao.70]" not in missing_lines
    assert text == cli(db, settings, "status", str(letter)).rstrip("\n")

    data = json.loads(cli(db, settings, "status", str(letter), "--json"))
    assert data["missing"] == as_dict(status)["missing"] == [NOT_RECEIVED, BANPONG]
    (ratchaburi_node,) = data["recipients"]
    children = {c["unit"]: c for c in ratchaburi_node["children"]}
    assert (children[LEAF]["state"], children[LEAF]["owes"]) == ("received", None)
    assert children[BANPONG]["owes"] == "forward" and children[NOT_RECEIVED]["owes"] == "receipt"

    report = status_report(status, at=LATER)
    with db.transaction() as s:
        names = {k: get_unit(s, k).name for k in (LEAF, NOT_RECEIVED, BANPONG)}
    assert [(r.name, r.why) for r in report.missing] == [(names[NOT_RECEIVED], WHY_NOT_RECEIVED),
                                                          (names[BANPONG], WHY_NOT_FORWARDED)]


def test_status_carry_down_and_reminders_agree(db, settings, ratchaburi):
    letter, ratchaburi_letter = ratchaburi
    before = owed(letter_status(db, letter))
    with db.transaction() as s:
        reminded = {(d.unit.key, d.kind) for d in due_reminders(s, LATER)}
    # The reminders chase exactly the receipts the status says are owed, and nothing about forwarding.
    assert reminded == {(k, "receipt") for k, why in before.items() if why == "receipt"} == {(NOT_RECEIVED, "receipt")}

    # A unit with nothing below it is not carried further.
    assert carry_down(db, settings, ratchaburi_letter, LEAF, at=LATER) == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 2
    # From Ratchaburi down, without receiving for anyone: only the units the status says owe a forwarding do.
    made = carry_down(db, settings, letter, "prov.70", auto_receive=False, at=LATER)
    assert made[0] == ratchaburi_letter and len(made) == 2
    with db.transaction() as s:
        senders = s.scalars(select(Unit.key).join(Letter, Letter.unit_id == Unit.id).where(Letter.id.in_(made[1:])))
        assert set(senders) == {k for k, why in before.items() if why == "forward"} == {BANPONG}
        unforwarded = s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id).where(
            Delivery.letter_id == ratchaburi_letter, Delivery.forwarded_letter_id.is_(None))).all()
        assert len(unforwarded) == 11 and BANPONG not in unforwarded and LEAF in unforwarded

    after = owed(letter_status(db, letter))
    assert after == {NOT_RECEIVED: "receipt", "muni.7005.boekphrai": "receipt", "muni.7005.krapyai": "receipt"}
    with db.transaction() as s:
        reminded = {(d.unit.key, d.kind) for d in due_reminders(s, LATER + (LATER - AT))}
    assert reminded == {(k, "receipt") for k in after}
