"""Registers as evidence (issue 9, part 2): a cancelled letter goes no further; a number's year is the
moment it is taken; submission times are the server's; nothing is numbered that cannot be rendered; text
is taken in one form, without control or invisible characters. SQLite and PostgreSQL (tests/dbs.py)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.chain.circulars import (
    CircularError,
    cancel_letter,
    carry_down,
    forward,
    issue_circular,
    receive,
    receive_incoming,
)
from saraban.chain.numbering import MAX_DATE_DRIFT_DAYS
from saraban.chain.status import as_dict, as_text, letter_status
from saraban.directory.imports import DirectoryImportError, import_units, update_unit
from saraban.faces.cli.app import app
from saraban.kernel import clock
from saraban.kernel.clock import BANGKOK, today
from saraban.kernel.text_input import clean_text, normalise_text
from saraban.letters.paper.qr import qr_capacity
from saraban.letters.spec import QRCode, SpecError
from saraban.programmes.applications import apply, create_programme, record_late_application
from saraban.programmes.definitions import ProgrammeError
from saraban.records.models import Application, Delivery, Event, Letter, RegisterEntry, Unit
from saraban.reports.status import status_report
from tests.conftest import EXAMPLES, example_dict
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)  # the example circular's date
LONG_LINK = "https://example.org/" + "a" * (qr_capacity() + 1)


def _count(db, model) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def _issue(db, settings, **kwargs):
    kwargs.setdefault("to", "prov.81,prov.50")
    kwargs.setdefault("at", AT)
    spec = kwargs.pop("spec", None) or circular_spec()
    return issue_circular(db, settings, spec, sender_key="dla.env.2", **kwargs)


# ------------------------------------------------------------------------------------ cancelled letters


def test_a_cancelled_letter_cannot_be_received_or_forwarded_and_status_says_so(db, settings):
    issued = _issue(db, settings)
    receive(db, settings, issued.letter_id, "prov.81", at=datetime(2024, 3, 29, 11, 0, tzinfo=BANGKOK))
    cancel_letter(db, issued.letter_id, reason="ส่งผิดเรื่อง", actor="นายทะเบียน",
                  at=datetime(2024, 3, 29, 14, 0, tzinfo=BANGKOK))

    with pytest.raises(CircularError) as refused:
        receive(db, settings, issued.letter_id, "prov.50")
    assert str(refused.value).startswith("หนังสือฉบับนี้ถูกยกเลิกแล้ว")
    assert "ที่ มท 0820.2/ว 1 was cancelled on ๒๙ มี.ค. ๒๕๖๗ ๑๔.๐๐ น." in str(refused.value)
    assert "ส่งผิดเรื่อง" in str(refused.value) and "cannot be received" in str(refused.value)
    with pytest.raises(CircularError, match="cannot be forwarded"):
        forward(db, settings, issued.letter_id, "prov.81")
    assert carry_down(db, settings, issued.letter_id, "prov.81") == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 1  # nothing forwarded
        assert dict(s.execute(select(Unit.key, Delivery.receipt_number).join(Unit, Unit.id == Delivery.unit_id))
                    .all()) == {"prov.81": 1, "prov.50": None}
        assert s.scalar(select(func.count()).select_from(RegisterEntry).where(
            RegisterEntry.series == "receive")) == 1  # prov.81's receipt from before; prov.50 none

    status = letter_status(db, issued.letter_id)
    assert status.cancelled is not None and status.cancelled.reason == "ส่งผิดเรื่อง"
    assert status.cancelled.at == datetime(2024, 3, 29, 14, 0, tzinfo=BANGKOK)
    assert "ยกเลิกแล้ว เมื่อ ๒๙ มี.ค. ๒๕๖๗ ๑๔.๐๐ น. โดย นายทะเบียน: ส่งผิดเรื่อง" in as_text(status).splitlines()[2]
    assert as_dict(status)["cancelled"] == {"at": "2024-03-29T14:00:00+07:00", "by": "นายทะเบียน",
                                            "reason": "ส่งผิดเรื่อง", "line": 2}
    assert any(t.startswith("ยกเลิกแล้ว") for t in status_report(status, at=AT).title_lines)
    # A letter that stands says so too: no cancellation.
    assert as_dict(letter_status(db, _issue(db, settings, spec=circular_spec(subject="อีกเรื่อง")).letter_id)
                   )["cancelled"] is None


def test_the_cli_refuses_to_receive_a_cancelled_letter(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular") | {"date": today().isoformat()}
    del spec["ref"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2",
                               "--to", "prov.81,prov.50"]).exit_code == 0
    assert runner.invoke(app, ["receive", "1", "--unit", "prov.81"]).exit_code == 0
    assert runner.invoke(app, ["circular", "cancel", "1", "--reason", "ส่งผิด"]).exit_code == 0
    received = runner.invoke(app, ["receive", "1", "--unit", "prov.50"])
    assert received.exit_code == 2 and "หนังสือฉบับนี้ถูกยกเลิกแล้ว" in received.output
    forwarded = runner.invoke(app, ["circular", "forward", "1", "--unit", "prov.81"])
    assert forwarded.exit_code == 2 and "cannot be forwarded" in forwarded.output
    status = runner.invoke(app, ["status", "1"])
    assert "ยกเลิกแล้ว" in status.output and "ส่งผิด" in status.output


# --------------------------------------------------------------------------------------- the year


def test_the_year_is_the_moment_the_number_is_taken(db, settings):
    with pytest.raises(CircularError, match="more than 7: give the reason"):
        _issue(db, settings, spec=circular_spec(date="2019-06-01"))
    with pytest.raises(CircularError, match="days after the day it is numbered"):
        _issue(db, settings, spec=circular_spec(date="2099-01-01"))
    assert (_count(db, Letter), _count(db, RegisterEntry), _count(db, Delivery)) == (0, 0, 0)

    old = _issue(db, settings, spec=circular_spec(date="2019-06-01"), date_reason="ออกแทนฉบับที่สูญหาย")
    future = _issue(db, settings, spec=circular_spec(date="2099-01-01"), date_reason="กำหนดวันล่วงหน้า")
    near = _issue(db, settings, spec=circular_spec(date=f"2024-04-{5 + MAX_DATE_DRIFT_DAYS - 7:02d}"))
    with db.transaction() as s:
        letters = s.scalars(select(Letter).order_by(Letter.id)).all()
        assert [(x.year, x.number, x.letter_date) for x in letters] == [
            (2567, 1, date(2019, 6, 1)), (2567, 2, date(2099, 1, 1)), (2567, 3, date(2024, 4, 5))]
        line = s.scalar(select(RegisterEntry).where(RegisterEntry.letter_id == old.letter_id))
        assert line.year == 2567 and line.note == "ลงวันที่ต่างจากวันออกเลข: ออกแทนฉบับที่สูญหาย"
        event = s.scalar(select(Event).where(Event.kind == "letter.issued", Event.letter_id == future.letter_id))
        assert event.data["date_reason"] == "กำหนดวันล่วงหน้า" and event.data["letter_date"] == "2099-01-01"
        assert s.scalar(select(RegisterEntry.note).where(RegisterEntry.letter_id == near.letter_id)) is None

    # 00:30 on 1 January 2568 in Bangkok (17:30 UTC the day before): the 2568 register, whatever is written.
    new_year = _issue(db, settings, spec=circular_spec(date="2024-12-31"),
                      at=datetime(2024, 12, 31, 17, 30, tzinfo=UTC))
    with db.transaction() as s:
        assert (s.get(Letter, new_year.letter_id).year, s.get(Letter, new_year.letter_id).number) == (2568, 1)


def test_the_cli_asks_for_a_reason_for_a_letter_dated_far_from_today(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular")  # dated 29 March 2024
    del spec["ref"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    args = ["circular", "issue", str(path), "--from", "dla.env.2", "--to", "prov.81"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "--date-reason" in refused.output
    issued = runner.invoke(app, [*args, "--date-reason", "ออกย้อนหลังตามคำสั่ง"])
    assert issued.exit_code == 0, issued.output
    memo = example_dict("02-department-memo")
    memo.pop("ref", None)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(memo, allow_unicode=True), encoding="utf-8")
    assert runner.invoke(app, ["letter", "issue", str(tmp_path / "m.yaml"), "--from", "dla.env.2"]).exit_code == 2
    letter = runner.invoke(app, ["letter", "issue", str(tmp_path / "m.yaml"), "--from", "dla.env.2",
                                 "--date-reason", "ลงวันที่ตามต้นฉบับ"])
    assert letter.exit_code == 0, letter.output
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database

    db = open_database(load_settings())
    with db.transaction() as s:
        years = s.scalars(select(Letter.year).order_by(Letter.id)).all()
        notes = s.scalars(select(RegisterEntry.note).order_by(RegisterEntry.id)).all()
    db.engine.dispose()
    assert years == [today().year + 543] * 2
    assert notes == ["ลงวันที่ต่างจากวันออกเลข: ออกย้อนหลังตามคำสั่ง", "ลงวันที่ต่างจากวันออกเลข: ลงวันที่ตามต้นฉบับ"]


# ---------------------------------------------------------------------------------- submission times


@pytest.fixture
def programme(db):
    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903", letter_code_certain=False)
    return create_programme(db, EXAMPLES / "programmes" / "eco-town-2565.yaml")


def test_the_submission_time_is_the_servers(db, settings, programme, monkeypatch):
    contact = {"name": "นางสาวสมใจ รักษ์เมือง"}
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 3, 1, 2, 0, tzinfo=UTC))  # after the window
    with pytest.raises(ProgrammeError, match="outside the application window"):
        apply(db, settings, programme.key, "muni.7005.boekphrai", contact=contact)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 1, 10, 3, 30, tzinfo=UTC))
    apply(db, settings, programme.key, "muni.7005.boekphrai", contact=contact)
    with db.transaction() as s:
        assert s.scalar(select(Application.submitted_at)) == datetime(2022, 1, 10, 10, 30, tzinfo=BANGKOK)


def test_a_late_paper_application_is_the_owners_act_with_a_reason(db, settings, programme, monkeypatch):
    contact = {"name": "นางสาวสมใจ รักษ์เมือง"}
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 1, 10, 3, 30, tzinfo=UTC))  # window open
    with pytest.raises(ProgrammeError, match="window is open: apply as usual"):
        record_late_application(db, settings, programme.key, "muni.7005.boekphrai", contact=contact,
                                reason="ไปรษณีย์ล่าช้า", received_on=date(2022, 1, 9))
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 3, 2, 2, 0, tzinfo=UTC))  # closed
    with pytest.raises(ProgrammeError, match="give the reason"):
        record_late_application(db, settings, programme.key, "muni.7005.boekphrai", contact=contact,
                                reason="  ", received_on=date(2022, 3, 1))
    assert _count(db, Application) == 0
    result = record_late_application(db, settings, programme.key, "muni.7005.boekphrai", contact=contact,
                                     reason="ไปรษณีย์ล่าช้า ประทับตราวันที่ 28 ก.พ.", received_on=date(2022, 3, 1),
                                     actor="เจ้าหน้าที่ทส")
    assert result.new and result.ack_ref == "ทส 0903/1"
    with db.transaction() as s:
        a = s.scalar(select(Application))
        assert a.submitted_at == datetime(2022, 3, 2, 9, 0, tzinfo=BANGKOK)  # when it was recorded
        event = s.scalar(select(Event).where(Event.kind == "application.submitted"))
        assert event.actor == "เจ้าหน้าที่ทส" and event.office_id == programme.owner_unit_id  # the owner acts
        assert event.data["late"] == {"reason": "ไปรษณีย์ล่าช้า ประทับตราวันที่ 28 ก.พ.", "received_on": "2022-03-01",
                                      "recorded_by": "เจ้าหน้าที่ทส"}


def test_the_cli_records_a_late_application_and_apply_takes_no_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.delenv("SARABAN_SMTP_HOST", raising=False)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 3, 2, 2, 0, tzinfo=UTC))
    runner = CliRunner()
    assert runner.invoke(app, ["programme", "create", str(EXAMPLES / "programmes" / "eco-town-2565.yaml")]
                         ).exit_code == 0
    assert runner.invoke(app, ["directory", "set", "deqp", "--letter-code", "ทส 0903"]).exit_code == 0
    apply_at = runner.invoke(app, ["apply", "eco-town-2565", "--unit", "muni.7005.boekphrai", "--contact", "สมใจ",
                                   "--at", "2022-01-10 10:00"])
    assert apply_at.exit_code == 2 and "--at" in apply_at.output  # no such option: the time is the server's
    late = runner.invoke(app, ["programme", "late-application", "eco-town-2565", "--unit", "muni.7005.boekphrai",
                               "--contact", "สมใจ", "--reason", "ไปรษณีย์ล่าช้า", "--received-on", "1 มีนาคม 2565"])
    assert late.exit_code == 0, late.output
    assert "late application recorded" in late.output and "ทส 0903/1" in late.output


# ------------------------------------------------------------------------- nothing numbered unrendered


def _nothing_numbered(db) -> None:
    assert (_count(db, Letter), _count(db, RegisterEntry), _count(db, Delivery)) == (0, 0, 0)


def test_a_qr_link_longer_than_a_qr_code_holds_is_refused_by_check(tmp_path):
    spec = example_dict("03-department-circular")
    spec["qr"] = [{"url": LONG_LINK, "caption": "ลิงก์ยาวเกิน"}]
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    checked = CliRunner().invoke(app, ["letter", "check", str(path)])
    assert checked.exit_code == 2 and "qr[0].url" in checked.output and "too long for a QR code" in checked.output
    spec["qr"][0]["url"] = LONG_LINK[:qr_capacity()]  # the most a code holds
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    assert CliRunner().invoke(app, ["letter", "check", str(path)]).exit_code == 0


def test_a_too_long_qr_link_is_refused_by_circular_issue_with_nothing_numbered(tmp_path, monkeypatch):
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    spec = example_dict("03-department-circular") | {"date": today().isoformat()}
    del spec["ref"]
    spec["qr"] = [{"url": LONG_LINK, "caption": "ลิงก์ยาวเกิน"}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    runner = CliRunner()
    issued = runner.invoke(app, ["circular", "issue", str(tmp_path / "c.yaml"), "--from", "dla.env.2",
                                 "--to", "prov.81"])
    assert issued.exit_code == 2 and "too long for a QR code" in issued.output
    assert "Traceback" not in issued.output
    status = runner.invoke(app, ["status", "1"])
    assert status.exit_code == 2 and "no letter with id 1" in status.output
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database

    db = open_database(load_settings())
    _nothing_numbered(db)
    db.engine.dispose()


def test_whatever_would_stop_rendering_is_refused_before_the_number(db, settings, tmp_path):
    long_qr = circular_spec().model_copy(update={"qr": [QRCode.model_construct(url=LONG_LINK, caption="x")]})
    with pytest.raises(CircularError, match=r"qr\[0\]\.url: .*too long for a QR code"):
        _issue(db, settings, spec=long_qr)
    long_base = dataclasses.replace(settings, base_url="https://saraban.example/" + "t" * qr_capacity())
    with pytest.raises(CircularError, match=r"the tracking link \(SARABAN_BASE_URL\)"):
        _issue(db, long_base)
    shutil.rmtree(settings.output_dir, ignore_errors=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.output_dir.write_text("a file where the output folder should be")
    with pytest.raises(CircularError, match="the output folder .* cannot be written"):
        _issue(db, settings)
    settings.output_dir.unlink()
    settings.output_dir.mkdir()
    (settings.output_dir / "letters").write_text("a file where the letters' folder should be")
    with pytest.raises(CircularError, match="the output folder .*letters cannot be written"):
        _issue(db, settings)
    (settings.output_dir / "letters").unlink()
    templates = tmp_path / "templates"
    (templates / "letters").mkdir(parents=True)
    (templates / "letters" / f"{circular_spec().kind}.docx").write_bytes(b"not a docx")
    with pytest.raises(CircularError, match="template .* is damaged"):
        _issue(db, dataclasses.replace(settings, templates_dir=templates))
    with pytest.raises(CircularError, match="emblem .* cannot be read"):
        _issue(db, dataclasses.replace(settings, emblem=tmp_path / "no-emblem.png"))
    _nothing_numbered(db)
    assert _issue(db, settings).new  # and with all in place, ว 1


# -------------------------------------------------------------------------------------------- text


DECOMPOSED = "ขอความร่วมมือจัดทํารายงาน"  # ทํา typed as nikhahit + sara aa
COMPOSED = "ขอความร่วมมือจัดทำรายงาน"


def test_thai_text_has_one_form():
    assert "\u0e4d\u0e32" in DECOMPOSED and normalise_text(DECOMPOSED) == COMPOSED
    assert normalise_text("ก\u0e4d\u0e48\u0e32") == "ก\u0e48\u0e33"  # ก่ำ with the tone typed in between
    assert normalise_text("ก\u0e48\u0e34") == "ก\u0e34\u0e48"  # tone before the upper vowel
    assert normalise_text("\u0e40\u0e40ก") == "\u0e41ก"  # เเ typed for แ
    assert normalise_text("e\u0301") == "\u00e9"  # NFC
    assert clean_text("a\tb\nc", multiline=True) == "a\tb\nc"
    for bad in ("\x00", "\x1b", "\x85", "\u200b", "\u200f", "\u202e", "\u2066", "\ufeff"):
        with pytest.raises(ValueError, match="^subject: "):
            clean_text(f"ก{bad}ข", field="subject")
    with pytest.raises(ValueError, match="U\\+000A"):
        clean_text("one\nline", field="name")


def test_the_same_letter_typed_two_ways_is_one_letter_with_one_number(db, settings):
    typed = [circular_spec(subject=DECOMPOSED), circular_spec(subject=COMPOSED)]
    assert typed[0].subject == COMPOSED and typed[0].hash() == typed[1].hash()
    first, second = (_issue(db, settings, spec=x) for x in typed)
    assert (first.new, second.letter_id, second.new) == (True, first.letter_id, False)
    assert _count(db, Letter) == 1


@pytest.mark.parametrize(("key", "value", "named"), [
    ("subject", "ส่งมอบ\u200bคู่มือ", "subject"),
    ("to", "ผู้ว่าราชการจังหวัด\u202e", "to"),
    ("sender", {"name": "กรม\u2066ส่งเสริม"}, "sender.name"),
])
def test_invisible_characters_in_a_spec_are_refused_with_the_field_named(key, value, named):
    with pytest.raises(SpecError) as e:
        circular_spec(**{key: value})
    assert any(p.startswith(f"{named}: ") and "invisible" in p for p in e.value.problems), e.value.problems


def test_a_unit_name_with_nul_or_esc_is_refused_at_import(db, tmp_path):
    rows = tmp_path / "units.csv"
    rows.write_text("key,name,level,parent\nx.1,เทศบาล\x00ทดสอบ,sao,amphoe.8101\n"
                    "x.2,อบต.\x1bทดสอบ,sao,amphoe.8101\nx.3,อบต.จัดทํา,sao,amphoe.8101\n", encoding="utf-8")
    with db.transaction() as s, pytest.raises(DirectoryImportError) as e:
        import_units(s, rows)
    assert any("line 2" in p and "name" in p and "U+0000" in p for p in e.value.problems), e.value.problems
    assert any("line 3" in p and "name" in p and "U+001B" in p for p in e.value.problems), e.value.problems
    rows.write_text("key,name,level,parent\nx.3,อบต.จัดทํา,sao,amphoe.8101\n", encoding="utf-8")
    with db.transaction() as s:
        import_units(s, rows)
        assert s.scalar(select(Unit.name).where(Unit.key == "x.3")) == "อบต.จัดทำ"
        with pytest.raises(Exception, match="U\\+200B"):
            update_unit(s, "x.3", name="อบต.\u200bจัดทำ")


def test_outside_letters_and_contacts_are_checked_too(db, settings, programme, monkeypatch):
    with pytest.raises(CircularError, match="subject: .*U\\+200B"):
        receive_incoming(db, "dla.registry", ref="ทลส.001/2567", letter_date=date(2024, 3, 5),
                         sender="โครงการท้องถิ่นนำร่อง", subject="ส่งมอบ\u200bคู่มือ")
    assert _count(db, RegisterEntry) == 0
    first = receive_incoming(db, "dla.registry", ref="ทลส.001/2567", letter_date=date(2024, 3, 5),
                             sender="โครงการจัดทํา", subject="คู่มือ")
    again = receive_incoming(db, "dla.registry", ref="ทลส.001/2567", letter_date=date(2024, 3, 5),
                             sender="โครงการจัดทำ", subject="คู่มือ")
    assert (again.number, again.new) == (first.number, False)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 1, 10, 3, 30, tzinfo=UTC))
    with pytest.raises(ProgrammeError) as e:
        apply(db, settings, programme.key, "muni.7005.boekphrai", contact={"name": "สมใจ\x1b[31m"})
    assert any(p.startswith("contact.name: ") for p in e.value.problems), e.value.problems


def test_a_programme_definition_is_taken_in_one_form(db):
    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903", letter_code_certain=False)
    data = yaml.safe_load((EXAMPLES / "programmes" / "eco-town-2565.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ProgrammeError) as e:
        create_programme(db, data | {"name": "โครงการ\u202eเมืองน่าอยู่"})
    assert any(p.startswith("name: ") and "U+202E" in p for p in e.value.problems), e.value.problems
    programme = create_programme(db, data | {"name": "โครงการจัดทําเมืองน่าอยู่"})
    assert programme.name == "โครงการจัดทำเมืองน่าอยู่"


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\x1b"])
def test_reasons_typed_on_the_command_line_are_text_too(db, settings, hidden):
    """A cancellation reason or a date reason with a bidi, zero-width or control character is refused with
    the option named, and nothing is written."""
    issued = _issue(db, settings)
    with pytest.raises(CircularError, match="--reason: .*remove it"):
        cancel_letter(db, issued.letter_id, reason=f"ผิด{hidden}พลาด")
    old = circular_spec().model_copy(update={"date": date(2019, 1, 2), "subject": "ย้อนหลัง"})
    with pytest.raises(CircularError, match="--date-reason: .*remove it"):
        _issue(db, settings, spec=old, at=None, date_reason=f"ย้อน{hidden}หลัง")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegisterEntry)) == 1  # ว 1 only: no cancellation line
    db.engine.dispose()


def test_a_unit_typed_with_a_decomposed_sara_am_is_found(db):
    from saraban.directory.units import resolve_unit

    with db.transaction() as s:
        assert resolve_unit(s, "อ\u0e4d\u0e32เภอล\u0e4d\u0e32ทับ").key == "amphoe.8107"
    db.engine.dispose()
