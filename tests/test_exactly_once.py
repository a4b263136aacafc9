"""Exactly once (issue 9, item 1): N callers doing the same act at the same moment get one number and one
result, and every one of them is told the same answer; on SQLite and on PostgreSQL.

Each wave starts 8 threads on a barrier, all doing the same act at once. On PostgreSQL the act's rows are
locked first (the sender unit for issue, the delivery for receive and forward, the register line for cancel,
the application for apply) and unique constraints (migration 0004) back the locks; on SQLite BEGIN
IMMEDIATE serialises the writers.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from saraban.chain.circulars import CircularError, cancel_letter, forward, issue_circular, receive
from saraban.directory.imports import update_unit
from saraban.kernel.clock import BANGKOK, now
from saraban.programmes.applications import apply, create_programme
from saraban.records.models import Application, Delivery, Event, Letter, RegisterEntry, Unit
from tests.conftest import EXAMPLES
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)

N = 8
AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
LATER = datetime(2024, 4, 9, 10, 0, tzinfo=BANGKOK)
SENDER = "dla.env.2"


def wave(act) -> list:
    """Run ``act(i)`` in N threads released together; every thread must return (none may raise)."""
    barrier = threading.Barrier(N)
    results: list = [None] * N
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = act(i)
        except BaseException as e:  # collected: the test fails with every error
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert all(r is not None for r in results)
    return results


def count(db, model, *where) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def unit_id(db, key: str) -> int:
    with db.transaction() as s:
        return s.scalar(select(Unit.id).where(Unit.key == key))


def issue(db, settings, to="all:province_office", **changes):
    return issue_circular(db, settings, circular_spec(**changes), sender_key=SENDER, to=to, at=AT)


def test_issuing_the_same_spec_at_once_gives_one_number(db, settings):
    results = wave(lambda i: issue(db, settings))
    assert len({(r.letter_id, r.ref, r.recipients) for r in results}) == 1
    assert results[0].ref == "มท 0820.2/ว 1" and results[0].recipients == 76
    assert sorted(r.new for r in results) == [False] * (N - 1) + [True]
    sender = unit_id(db, SENDER)
    assert count(db, Letter, Letter.unit_id == sender) == 1
    assert count(db, RegisterEntry, RegisterEntry.unit_id == sender, RegisterEntry.series == "circular") == 1
    assert count(db, Delivery) == 76
    assert count(db, Event, Event.kind == "letter.issued") == 1
    with db.transaction() as s:  # the files were made once, whole (the late callers waited on the letter's lock)
        assert all(p for (p,) in s.execute(select(Delivery.docx_key)))


def test_receiving_the_same_delivery_at_once_gives_one_receive_number(db, settings):
    issued = issue(db, settings)
    results = wave(lambda i: receive(db, settings, issued.letter_id, "prov.81", at=AT, actor=f"clerk-{i}"))
    assert {(r.year, r.number, r.received_at) for r in results} == {(2567, 1, AT)}
    assert sorted(r.new for r in results) == [False] * (N - 1) + [True]
    krabi = unit_id(db, "prov.81")
    assert count(db, RegisterEntry, RegisterEntry.unit_id == krabi, RegisterEntry.series == "receive") == 1
    assert count(db, Event, Event.kind == "delivery.received") == 1


def test_forwarding_the_same_received_letter_at_once_makes_one_circular(db, settings):
    issued = issue(db, settings)
    receive(db, settings, issued.letter_id, "prov.81", at=AT)
    results = wave(lambda i: forward(db, settings, issued.letter_id, "prov.81", at=LATER))
    assert len({(r.letter_id, r.ref, r.recipients) for r in results}) == 1
    assert results[0].ref == "กบ 0023.6/ว 1"
    assert sorted(r.new for r in results) == [False] * (N - 1) + [True]
    krabi = unit_id(db, "prov.81")
    assert count(db, Letter, Letter.unit_id == krabi) == 1
    assert count(db, RegisterEntry, RegisterEntry.unit_id == krabi, RegisterEntry.series == "circular") == 1
    assert count(db, Event, Event.kind == "delivery.forwarded") == 1
    with db.transaction() as s:
        d = s.scalar(select(Delivery).where(Delivery.letter_id == issued.letter_id, Delivery.unit_id == krabi))
        assert d.forwarded_letter_id == results[0].letter_id
        assert s.get(Letter, results[0].letter_id).forwards_delivery_id == d.id


def test_cancelling_the_same_letter_at_once_writes_one_cancellation_line(db, settings):
    issued = issue(db, settings)
    results = wave(lambda i: cancel_letter(db, issued.letter_id, reason="ออกผิดเรื่อง", at=LATER))
    assert set(results) == {2}  # ว 1 is the letter; its cancellation line is number 2
    assert count(db, RegisterEntry, RegisterEntry.cancels_id.is_not(None)) == 1
    assert count(db, Event, Event.kind == "register.cancelled") == 1


@pytest.fixture
def open_programme(db):
    """The example programme with its window open now (apply takes the server's time)."""
    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903", letter_code_certain=False)
    data = yaml.safe_load((EXAMPLES / "programmes" / "eco-town-2565.yaml").read_text(encoding="utf-8"))
    today = now().date()
    data["window"] |= {"opens": (today - timedelta(days=10)).isoformat(),
                       "closes": (today + timedelta(days=10)).isoformat()}
    return create_programme(db, data)


def test_applying_at_once_makes_one_application_and_one_acknowledgement(db, settings, open_programme, monkeypatch):
    from saraban.notify.mail import MailResult

    monkeypatch.setattr("saraban.notify.mail.send_mail",
                        lambda _settings, mail, **_: MailResult(True, list(mail.to), {}, 1, None, "<t@example.org>"))
    contact = {"name": "นางสาวสมใจ รักษ์เมือง", "position": "นักวิชาการสิ่งแวดล้อม", "email": "somjai@example.org"}
    results = wave(lambda i: apply(db, settings, open_programme.key, "muni.1913.naphralan", contact=contact))
    assert len({(r.application_id, r.ack_letter_id, r.ack_ref) for r in results}) == 1
    assert sorted(r.new for r in results) == [False] * (N - 1) + [True]
    assert sorted(r.revision for r in results) == list(range(1, N + 1))  # each update counted once, none lost
    assert count(db, Application) == 1
    assert count(db, Letter) == 1  # one acknowledgement
    assert count(db, Event, Event.kind == "application.acknowledged") == 1
    assert count(db, Event, Event.kind == "application.submitted") == 1


def test_issuing_an_issued_circular_to_more_units_adds_them_under_the_same_number(db, settings):
    first = issue(db, settings, to="prov.81")
    assert (first.recipients, first.added, first.new) == (1, 1, True)
    more = issue(db, settings, to="prov.81,prov.11,prov.50")
    assert (more.letter_id, more.ref, more.new, more.recipients, more.added) == (first.letter_id, first.ref, False,
                                                                                   3, 2)
    again = issue(db, settings, to="prov.81,prov.11,prov.50")
    assert (again.recipients, again.added) == (3, 0)
    sender = unit_id(db, SENDER)
    assert count(db, RegisterEntry, RegisterEntry.unit_id == sender) == 1
    assert count(db, Event, Event.kind == "letter.recipients_added") == 1
    with db.transaction() as s:  # the added units have their copies too
        assert all(p for (p,) in s.execute(select(Delivery.docx_key)))
    receipt = receive(db, settings, first.letter_id, "prov.50", at=AT)
    assert receipt.number == 1
    cancel_letter(db, first.letter_id, reason="ออกผิดเรื่อง", at=LATER)
    with pytest.raises(CircularError, match="cannot be sent to more units"):
        issue(db, settings, to="prov.81,prov.12")
    assert issue(db, settings, to="prov.81").added == 0  # no one new: the letter as it is, as before


def test_the_constraints_hold_without_the_code(db, settings):
    """Migration 0004 (and the models): the database itself refuses a second letter of one sender and spec,
    a second live receive line for one delivery, a second cancellation of one line, a second forwarding
    letter of one delivery."""
    issued = issue(db, settings)
    receive(db, settings, issued.letter_id, "prov.81", at=AT)
    with db.transaction() as s:
        letter = s.get(Letter, issued.letter_id)
        line = s.scalar(select(RegisterEntry).where(RegisterEntry.series == "receive"))
        letter_row = {c.name: getattr(letter, c.name) for c in Letter.__table__.columns if c.name != "id"}
        line_row = {c.name: getattr(line, c.name) for c in RegisterEntry.__table__.columns if c.name != "id"}
    duplicates = [
        (Letter, letter_row | {"number": 99, "ref_text": "x"}),
        (RegisterEntry, line_row | {"number": 99}),
    ]
    for model, row in duplicates:
        with pytest.raises(IntegrityError), db.transaction() as s:
            s.execute(insert(model).values(**row))
    with db.transaction() as s:  # a cancellation line (no delivery) is not a second receipt
        s.execute(insert(RegisterEntry).values(**line_row | {"number": 98, "delivery_id": None}))
        first = s.scalar(select(RegisterEntry.id).where(RegisterEntry.number == 98))
        s.execute(insert(RegisterEntry).values(**line_row | {"number": 97, "delivery_id": None, "cancels_id": first}))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(insert(RegisterEntry).values(**line_row | {"number": 96, "delivery_id": None, "cancels_id": first}))
    with db.transaction() as s:
        s.execute(insert(Letter).values(**letter_row | {"number": 90, "spec_hash": "a", "forwards_delivery_id": 1}))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(insert(Letter).values(**letter_row | {"number": 91, "spec_hash": "b", "forwards_delivery_id": 1}))
