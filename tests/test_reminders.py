"""Reminders (ทวงถาม): receipt and deadline reminders made exactly once per unit, kind and step, however
often and however brokenly the flow runs; the e-mails reach a real SMTP server on loopback with the
reminder letter attached."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from saraban.chain.circulars import issue_circular, receive
from saraban.directory.imports import update_unit
from saraban.directory.skeleton import ensure_directory
from saraban.directory.units import get_unit
from saraban.kernel.clock import BANGKOK
from saraban.kernel.settings import load_settings
from saraban.programmes.reminders import (
    ReminderPolicy,
    deadline_step,
    due_reminders,
    make_reminders,
    policy_from_env,
    receipt_step,
    reminder_history,
)
from saraban.records.models import Application, Delivery, Event, Letter, Programme, RegisterEntry, Reminder, Unit
from tests.dbs import (  # noqa: F401  (the db and settings fixtures)
    KINDS,
    circular_spec,
    database_param,
    database_url,
    directory_db,
    fresh_database,
    own_output_settings,
)
from tests.stored import local

SENT = datetime(2024, 4, 1, 9, 0, tzinfo=BANGKOK)
LATE = ("prov.50", "prov.81", "prov.90")  # sorted by key: the order the reminders are numbered in
RECIPIENTS = ("prov.70", *LATE)
CLOSES = datetime(2024, 4, 30, 23, 59, tzinfo=BANGKOK)


class Store:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [BytesParser(policy=email_policy.default).parsebytes(e.content) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on loopback that keeps every envelope; the settings point at it."""
    store, port = Store(), free_port()
    controller = Controller(store, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SARABAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SARABAN_SMTP_PORT", str(port))
    try:
        yield store
    finally:
        controller.stop()


@pytest.fixture
def cfg(smtp, settings):
    """The settings with the loopback mail server (read after ``smtp`` set the environment)."""
    return load_settings()


def emails(db, **addresses: str) -> None:
    with db.transaction() as s:
        for key, address in addresses.items():
            update_unit(s, key, email=address)


def circulate(db, settings) -> int:
    """The department's circular to four provinces, received at Ratchaburi only."""
    emails(db, **{k: f"{k.replace('.', '')}@example.go.th" for k in RECIPIENTS})
    with db.transaction() as s:
        to = [get_unit(s, k) for k in RECIPIENTS]
    issued = issue_circular(db, settings, circular_spec(date="2024-04-01"), sender_key="dla.env.2", to=to, at=SENT)
    receive(db, settings, issued.letter_id, "prov.70", at=SENT + timedelta(days=1))
    return issued.letter_id


def count(db, model, *where) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def reminders(db) -> list[tuple[str, str, str, str, str | None]]:
    """(unit key, addressee key, step, mail status, ref) of every reminder."""
    with db.transaction() as s:
        rows = s.execute(select(Reminder, Letter.ref_text).outerjoin(Letter, Letter.id == Reminder.letter_id)
                         .order_by(Reminder.id)).all()
        keys = {u.id: u.key for u in s.scalars(select(Unit).where(Unit.id.in_(
            [r.unit_id for r, _ in rows] + [r.addressee_id for r, _ in rows])))}
        return [(keys[r.unit_id], keys[r.addressee_id], r.step, r.mail_status, ref) for r, ref in rows]


def test_steps_take_the_latest_threshold_reached():
    p = ReminderPolicy()
    assert receipt_step(SENT, SENT + timedelta(days=2, hours=23), p) is None
    assert receipt_step(SENT, SENT + timedelta(days=3), p) == "after-3d"
    assert receipt_step(SENT, SENT + timedelta(days=30), p) == "after-7d"  # no backlog of after-3d
    assert deadline_step(CLOSES, CLOSES - timedelta(days=15), p) is None
    assert deadline_step(CLOSES, CLOSES - timedelta(days=14), p) == "before-14d"
    assert deadline_step(CLOSES, CLOSES - timedelta(days=2), p) == "before-3d"
    assert deadline_step(CLOSES, CLOSES - timedelta(hours=1), p) == "before-1d"
    assert policy_from_env({"SARABAN_REMIND_AFTER_DAYS": "7, 2", "SARABAN_REMIND_TO_PARENT": "yes"}) == \
        ReminderPolicy(receipt_after_days=(2, 7), to_parent=True)


def test_receipt_reminders_are_made_once_for_the_units_that_have_not_received(db, cfg, smtp):
    circular = circulate(db, cfg)
    assert make_reminders(db, cfg, SENT + timedelta(days=2)) == []
    at = SENT + timedelta(days=8)
    for _ in range(3):
        make_reminders(db, cfg, at)
    made = reminders(db)
    assert [(u, a, step, mail) for u, a, step, mail, _ in made] == [(k, k, "after-7d", "sent") for k in LATE]
    # numbered one after the other in the department group's send series (the circular took ว 1)
    assert [ref for *_, ref in made] == ["มท 0820.2/1", "มท 0820.2/2", "มท 0820.2/3"]
    with db.transaction() as s:
        sender = get_unit(s, "dla.env.2")
        numbers = s.scalars(select(RegisterEntry.number).where(
            RegisterEntry.unit_id == sender.id, RegisterEntry.series == "send").order_by(RegisterEntry.number)).all()
        letters = s.scalars(select(Letter).where(Letter.id != circular).order_by(Letter.id)).all()
        assert all(x.kind == "stamped" and not x.circular for x in letters)
        assert "ทวงถาม" in letters[0].subject and "ไม่น้อยกว่า 7 วัน" in letters[0].spec["body"][1]
    assert numbers == [1, 2, 3]
    assert count(db, Letter) == 4
    assert len(smtp.envelopes) == 3
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == sorted(f"{k.replace('.', '')}@example.go.th" for k in LATE)
    assert count(db, Event, Event.kind == "reminder.mailed") == 3
    # a later step comes when it is due; an earlier one never comes after it; the reminders are not reminded of
    assert make_reminders(db, cfg, SENT + timedelta(days=4)) == []
    assert make_reminders(db, cfg, SENT + timedelta(days=40)) == []
    assert count(db, Reminder) == 3 and len(smtp.envelopes) == 3


def test_the_email_carries_the_reminder_letter(db, cfg, smtp):
    circulate(db, cfg)
    (result, *_) = make_reminders(db, cfg, SENT + timedelta(days=3, hours=1))
    assert (result.unit_key, result.step, result.status, result.mail_status) == ("prov.50", "after-3d", "made", "sent")
    with db.transaction() as s:
        copy = s.scalar(select(Delivery).where(Delivery.letter_id == result.letter_id,
                                               Delivery.unit_id == get_unit(s, "prov.50").id))
        letter = s.get(Letter, result.letter_id)
    message = next(m for m in smtp.messages() if "prov50@example.go.th" in m["To"])
    assert "ทวงถามการลงรับหนังสือ" in message["Subject"]
    assert "๐๘๒๐.๒/๑" in message["Subject"]  # the reminder's own number, in Thai digits
    (attachment,) = list(message.iter_attachments())
    # the addressee's copy of the letter as PDF (never the editable .docx), named by the reminder's number
    assert attachment.get_filename() == "มท 0820.2-1.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == local(cfg, copy.pdf_key).read_bytes()
    assert local(cfg, copy.pdf_key).parent.parent == local(cfg, letter.docx_key).parent
    assert "ยังไม่ได้รับการลงรับหนังสือดังกล่าว" in message.get_body(("plain",)).get_content()


def test_a_crash_between_the_letter_and_the_email(db, cfg, smtp, monkeypatch):
    import saraban.programmes.reminders as core

    circulate(db, cfg)
    real = core.send_mail
    calls = []

    def dies_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the power went out")
        return real(*args, **kwargs)

    monkeypatch.setattr(core, "send_mail", dies_once)
    at = SENT + timedelta(days=8)
    with pytest.raises(RuntimeError):
        make_reminders(db, cfg, at)
    # the letters are all made before the e-mails go (their PDFs in one LibreOffice run): letters, no e-mail
    assert [(u, mail, ref) for u, _, _, mail, ref in reminders(db)] == [
        (k, None, f"มท 0820.2/{i}") for i, k in enumerate(LATE, 1)]
    assert {r.status for r in make_reminders(db, cfg, at, dry_run=True)} == {"pending"}
    results = make_reminders(db, cfg, at + timedelta(hours=1))
    assert [r.status for r in results] == ["completed", "completed", "completed"]
    assert make_reminders(db, cfg, at + timedelta(hours=2)) == []
    assert [(u, step, mail, ref) for u, _, step, mail, ref in reminders(db)] == [
        (k, "after-7d", "sent", f"มท 0820.2/{i}") for i, k in enumerate(LATE, 1)]
    assert count(db, Letter) == 4
    assert len(smtp.envelopes) == 3
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == sorted(f"{k.replace('.', '')}@example.go.th" for k in LATE)


def test_a_crash_after_the_letter_before_the_reminder_knows_it_numbers_nothing_twice(db, cfg, smtp, monkeypatch):
    import saraban.programmes.reminders as core

    circulate(db, cfg)
    real = core.issue_circular

    def dies_after_issuing(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("killed")

    monkeypatch.setattr(core, "issue_circular", dies_after_issuing)
    with pytest.raises(RuntimeError):
        make_reminders(db, cfg, SENT + timedelta(days=8))
    assert count(db, Letter) == 2 and reminders(db)[0][4] is None
    monkeypatch.setattr(core, "issue_circular", real)
    make_reminders(db, cfg, SENT + timedelta(days=9))  # the next day: the letter keeps its date and number
    made = reminders(db)
    assert [ref for *_, ref in made] == ["มท 0820.2/1", "มท 0820.2/2", "มท 0820.2/3"]
    assert count(db, Letter) == 4 and len(smtp.envelopes) == 3
    with db.transaction() as s:
        assert {x.letter_date.isoformat() for x in s.scalars(select(Letter).where(Letter.circular.is_(False)))} == \
            {"2024-04-09", "2024-04-10"}


def add_programme(db, *, applicant: str = "amphoe.8101") -> int:
    with db.transaction() as s:
        owner = get_unit(s, "dla.env.2")
        p = Programme(key="green-2567", name="โครงการท้องถิ่นสีเขียว", owner_unit_id=owner.id, year=2567,
                      opens_at=datetime(2024, 3, 1, tzinfo=BANGKOK), closes_at=CLOSES,
                      created_at=datetime(2024, 3, 1, tzinfo=BANGKOK),
                      definition={"eligible": {"levels": ["district_office"], "areas": ["กระบี่"]}})
        s.add(p)
        s.flush()
        s.add(Application(programme_id=p.id, unit_id=get_unit(s, applicant).id, contact={"name": "x"},
                          submitted_at=datetime(2024, 3, 5, tzinfo=BANGKOK),
                          updated_at=datetime(2024, 3, 5, tzinfo=BANGKOK)))
        return p.id


def test_deadline_reminders_go_to_eligible_units_that_have_not_applied(db, cfg, smtp):
    programme = add_programme(db)
    emails(db, **{"prov.81": "krabi@example.go.th", "amphoe.8102": "a8102@example.go.th",
                  "amphoe.8103": "a8103@example.go.th"})
    assert make_reminders(db, cfg, CLOSES - timedelta(days=20)) == []
    at = CLOSES - timedelta(days=3) + timedelta(hours=1)
    with db.transaction() as s:
        planned = due_reminders(s, at)
    assert [d.unit.key for d in planned] == [f"amphoe.810{i}" for i in range(2, 9)]  # not 8101: it applied
    for _ in range(2):
        make_reminders(db, cfg, at)
    made = reminders(db)
    assert [(u, step) for u, _, step, _, _ in made] == [(f"amphoe.810{i}", "before-3d") for i in range(2, 9)]
    # a district with an e-mail gets its own; the others through the province, which has one
    assert {u: a for u, a, *_ in made} == {"amphoe.8102": "amphoe.8102", "amphoe.8103": "amphoe.8103",
                                           **{f"amphoe.810{i}": "prov.81" for i in range(4, 9)}}
    assert {m for *_, m, _ in made} == {"sent"}
    assert len(smtp.envelopes) == 7
    mail = smtp.messages()[0]
    assert "/apply/green-2567" in mail.get_body(("plain",)).get_content()
    with db.transaction() as s:
        letter = s.scalar(select(Letter).where(Letter.ref_text == made[-1][4]))
        assert letter.spec["to"] == "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
        assert "ซึ่งอยู่ในพื้นที่ของสำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่" in letter.spec["body"][1]
        history = reminder_history(s, programme)
    assert len(history) == 7
    # the last day: one more step for each; after the window closes, nothing
    make_reminders(db, cfg, CLOSES - timedelta(hours=5))
    assert count(db, Reminder, Reminder.step == "before-1d") == 7
    assert make_reminders(db, cfg, CLOSES + timedelta(days=1)) == []
    assert count(db, Reminder) == 14 and len(smtp.envelopes) == 14


def test_to_parent_and_no_address(db, cfg, smtp):
    add_programme(db)
    results = make_reminders(db, cfg, CLOSES - timedelta(days=1), ReminderPolicy(to_parent=True))
    assert {r.addressee_key for r in results} == {"prov.81"}
    assert {r.mail_status for r in results} == {"no-address"}  # nobody has an address: letters only
    assert smtp.envelopes == []
    assert make_reminders(db, cfg, CLOSES - timedelta(days=1), ReminderPolicy(to_parent=True)) == []


def test_a_dry_run_writes_nothing(db, cfg, smtp):
    circulate(db, cfg)
    add_programme(db)
    before = (count(db, Letter), count(db, RegisterEntry), count(db, Event), count(db, Delivery))
    results = make_reminders(db, cfg, datetime(2024, 4, 27, 8, 0, tzinfo=BANGKOK), dry_run=True)
    assert {(r.kind, r.step, r.status) for r in results} == {("receipt", "after-7d", "planned"),
                                                               ("deadline", "before-7d", "planned")}
    assert len(results) == 3 + 7
    assert (count(db, Letter), count(db, RegisterEntry), count(db, Event), count(db, Delivery)) == before
    assert count(db, Reminder) == 0 and smtp.envelopes == []


def test_remind_dry_run_command_lists_in_thai(db, cfg, smtp, monkeypatch):
    from typer.testing import CliRunner

    import saraban.faces.cli.reminders as command

    circulate(db, cfg)
    monkeypatch.setattr(command, "open_data", lambda: (cfg, db))
    import typer

    app = typer.Typer()
    app.command("remind")(command.remind_command)
    app.command("serve")(command.serve_command)
    out = CliRunner().invoke(app, ["remind", "--dry-run", "--at", "2024-04-09T08:00"])
    assert out.exit_code == 0, out.output
    assert "ยังไม่ลงรับ" in out.output and "๗ วันหลังส่งหนังสือ" in out.output and "prov.81" in out.output
    assert count(db, Reminder) == 0
    assert CliRunner().invoke(app, ["remind"]).exit_code == 2


@pytest.fixture(params=[database_param(k) for k in KINDS])
def flow_db(request, tmp_path, monkeypatch, prefect_server):
    """A fresh database that the flow's tasks find through the environment, as in production."""
    database = fresh_database(request.param, tmp_path)
    ensure_directory(database)
    monkeypatch.setenv("SARABAN_DATABASE_URL", database_url(request.param, tmp_path))
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    yield database
    database.engine.dispose()


@pytest.mark.prefect
def test_the_flow_twice_makes_each_reminder_once(flow_db, smtp):
    from workflows.reminders import reminders_flow

    db = flow_db
    circulate(db, load_settings())
    at = (SENT + timedelta(days=8)).isoformat()
    first = reminders_flow(at_iso=at, return_state=True)
    assert first.is_completed(), first.message
    assert [r["status"] for r in first.result()] == ["made"] * 3
    second = reminders_flow(at_iso=at, return_state=True)
    assert second.is_completed() and second.result() == []
    assert count(db, Reminder) == 3 and count(db, Letter) == 4 and len(smtp.envelopes) == 3


# ------------------------------------------------------------------- mail: neither lost nor doubled


def test_a_reminder_sent_again_after_a_crash_is_the_same_message(db, cfg, smtp):
    from saraban.notify.mail import message_id_for

    circulate(db, cfg)
    at = SENT + timedelta(days=8)
    make_reminders(db, cfg, at)
    first = {m["To"]: m["Message-ID"] for m in smtp.messages()}
    with db.transaction() as s:
        reminder = s.scalar(select(Reminder).order_by(Reminder.id).limit(1))
        addressee = s.get(Unit, reminder.addressee_id)
        assert first[addressee.email] == message_id_for(cfg, "letter", reminder.letter_id, addressee.email)
        reminder.mailed_at, reminder.mail_status = None, None  # the process died before it wrote that it was sent
    (again,) = make_reminders(db, cfg, at + timedelta(hours=1))
    assert again.status == "completed" and again.mail_status == "sent"
    resent = smtp.messages()[-1]
    assert len(smtp.envelopes) == 4 and resent["Message-ID"] == first[addressee.email]


def test_remind_exits_1_and_says_how_many_e_mails_failed(db, cfg, monkeypatch):
    import dataclasses

    import typer
    from typer.testing import CliRunner

    import saraban.faces.cli.reminders as command
    import workflows.reminders as flow
    from saraban.programmes.reminders import resend_acknowledgements

    circulate(db, cfg)
    down = dataclasses.replace(cfg, smtp_host=None)  # every send fails: not configured

    def run(at_iso=None, to_parent=None, actor="saraban"):  # the flow's two tasks, without Prefect
        at = datetime.fromisoformat(at_iso)
        return [r.as_dict() for r in [*make_reminders(db, down, at, actor=actor),
                                      *resend_acknowledgements(db, down, at, actor=actor)]]

    monkeypatch.setattr(flow, "reminders_flow", run)
    app = typer.Typer()
    app.command("remind")(command.remind_command)
    app.command("serve")(command.serve_command)
    out = CliRunner().invoke(app, ["remind", "--now", "--at", "2024-04-09T08:00"])
    assert out.exit_code == 1, out.output
    assert "3 e-mail(s) failed" in out.output and "ส่งอีเมลไม่สำเร็จ 3" in out.output
    assert "exit code: 0" in CliRunner().invoke(app, ["remind", "--help"]).output
    with db.transaction() as s:  # left for the next run
        assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.mailed_at.is_(None))) == 3


def test_a_failed_acknowledgement_is_sent_again_by_the_daily_run_once(db, cfg, smtp):
    import dataclasses

    from saraban.notify.mail import message_id_for, resolutions
    from saraban.programmes.applications import apply, create_programme, failed_acknowledgements
    from saraban.programmes.reminders import resend_acknowledgements
    from tests.conftest import EXAMPLES

    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903")
    create_programme(db, EXAMPLES / "programmes" / "eco-town-2565.yaml")
    down = dataclasses.replace(cfg, smtp_host=None)
    applied_at = datetime(2022, 1, 10, 10, 30, tzinfo=BANGKOK)
    contact = {"name": "นางสาวสมใจ รักษ์เมือง", "email": "somjai@example.org"}
    result = apply(db, down, "eco-town-2565", "muni.1913.naphralan", contact=contact, at=applied_at)
    assert not result.mail.ok and smtp.envelopes == []
    with db.transaction() as s:
        assert len(failed_acknowledgements(s)) == 1
    assert resend_acknowledgements(db, down, applied_at + timedelta(days=1))[0].mail_status == "failed"
    (resent,) = resend_acknowledgements(db, cfg, applied_at + timedelta(days=2), actor="night")
    assert (resent.kind, resent.mail_status, resent.letter_id) == ("acknowledgement", "sent", result.ack_letter_id)
    (message,) = smtp.messages()
    assert message["Message-ID"] == message_id_for(cfg, "letter", result.ack_letter_id, "somjai@example.org")
    assert resend_acknowledgements(db, cfg, applied_at + timedelta(days=3)) == []  # sent: not again
    assert len(smtp.envelopes) == 1
    with db.transaction() as s:
        problems = s.scalars(select(Event).where(Event.kind == "mail.failed").order_by(Event.id)).all()
        assert len(problems) == 2 and set(resolutions(s, problems)) == {p.id for p in problems}
        sent = s.scalar(select(Event).where(Event.kind == "mail.sent"))
        assert sent.actor == "night" and sent.office_id == get_unit(s, "deqp").id
