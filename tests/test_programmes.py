"""Programmes (field-examples §2): definition, invitation, applications, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import io
from datetime import UTC, datetime

import pytest
import typer
import yaml
import zxingcpp
from docx import Document
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.directory.imports import update_unit
from saraban.kernel.clock import BANGKOK
from saraban.programmes.applications import (
    applicant_ids,
    apply,
    create_programme,
    eligible_units,
    get_programme,
    provisional_level,
    send_invitation,
    window_text,
)
from saraban.programmes.definitions import ProgrammeError, load_programme_file
from saraban.records.models import Application, Delivery, Event, Letter, Programme
from saraban.records.registers import entries
from tests.conftest import EXAMPLES
from tests.dbs import directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.stored import local

FILE = EXAMPLES / "programmes" / "eco-town-2565.yaml"
KEY = "eco-town-2565"
NAME = "โครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ"
AT = datetime(2022, 1, 10, 10, 30, tzinfo=BANGKOK)
NAPHRALAN = "muni.1913.naphralan"  # เทศบาลตำบลหน้าพระลาน, สระบุรี (the case study of §2)
BOEKPHRAI = "muni.7005.boekphrai"  # เทศบาลตำบลเบิกไพร, ราชบุรี
CONTACT = {"name": "นางสาวสมใจ รักษ์เมือง", "position": "นักวิชาการสิ่งแวดล้อม", "email": "somjai@example.org"}


def definition(**changes) -> dict:
    data = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    data.update(changes)
    return data


def all_scores(value) -> dict[str, float]:
    d = load_programme_file(FILE)
    return {i["key"]: value for c in d["structure"]["components"] for i in c["indicators"]}


@pytest.fixture
def programme(db):
    """The example programme, its owner (deqp) given a letter code: the built-in directory has none."""
    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903", letter_code_certain=False,
                    address="ถนนพระรามที่ 6 เขตพญาไท กรุงเทพฯ 10400")
    return create_programme(db, FILE)


def docx_text(path: str) -> str:
    doc = Document(path)
    parts = [p.text for p in doc.paragraphs]
    parts += [p.text for t in doc.tables for row in t.rows for cell in row.cells for p in cell.paragraphs]
    return "\n".join(parts)


def counts(db) -> tuple[int, int, int]:
    with db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(Application)),
                s.scalar(select(func.count()).select_from(Letter)),
                s.scalar(select(func.count()).select_from(Event).where(Event.kind.like("application.%"))))


# ------------------------------------------------------------------------------------------- definition


def test_the_example_definition(db, programme):
    d = load_programme_file(FILE)
    components = d["structure"]["components"]
    assert [c["name"] for c in components] == ["เมืองอยู่ดี", "คนมีสุข", "สิ่งแวดล้อมยั่งยืน",
                                               "เมืองแห่งการเรียนรู้และการบริหารจัดการที่ดี"]
    assert sum(len(c["indicators"]) for c in components) == 35
    assert [c["weight"] for c in components] == [25, 25, 25, 25]
    assert [lv["name"] for lv in d["structure"]["levels"]] == [
        "ระดับส่งเสริม", "ระดับทองแดง", "ระดับเงิน", "ระดับทอง", "ระดับแพลทินัม"]
    assert (programme.key, programme.name, programme.year, programme.fiscal_year) == (KEY, NAME, 2565, 2565)
    assert programme.opens_at == datetime(2021, 12, 1, 0, 0, tzinfo=BANGKOK)
    assert programme.closes_at == datetime(2022, 2, 28, 23, 59, tzinfo=BANGKOK)  # a date alone: the end of that day
    assert window_text(programme) == "ตั้งแต่วันที่ ๑ ธันวาคม ๒๕๖๔ ถึงวันที่ ๒๘ กุมภาพันธ์ ๒๕๖๕ เวลา ๒๓.๕๙ น."


def test_create_is_idempotent_by_key(db, programme):
    again = create_programme(db, FILE)
    assert again.id == programme.id
    changed = definition(name="โครงการอื่น")
    with pytest.raises(ProgrammeError, match="already recorded with a different definition"):
        create_programme(db, changed)
    updated = create_programme(db, changed, update=True)
    assert updated.id == programme.id and updated.name == "โครงการอื่น"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Programme)) == 1
        assert get_programme(s, KEY).name == "โครงการอื่น"
        event = s.scalar(select(Event).where(Event.kind == "programme.updated"))
        assert event.data["previous"]["name"] == NAME
        with pytest.raises(ProgrammeError, match="did you mean eco-town-2565"):
            get_programme(s, "eco-town-2566")


def test_every_problem_of_a_definition_is_listed():
    data = definition(year=2022, ownr="deqp")
    del data["owner"]
    data["eligible"]["levels"] = ["เมือง"]
    data["window"] = {"opens": "2022-03-01", "closes": "2022-02-28 23:59:30"}
    data["structure"]["components"][0]["weight"] = 30
    data["structure"]["components"][1]["indicators"][0]["key"] = "1.1"
    data["structure"]["levels"].reverse()
    data["invitation"]["kind"] = "stamped"  # a stamped letter has no signer or closing
    with pytest.raises(ProgrammeError) as caught:
        create_programme(None, data)  # checked before the database is touched
    problems = caught.value.problems
    expected = ["ownr: ไม่รู้จักคีย์นี้ (หมายถึง 'owner' หรือไม่?) / unknown key (did you mean 'owner'?)",
                "year: expected the B.E. year",
                "eligible.levels[0]: unknown level 'เมือง'", "window.closes: give the last minute",
                "structure.components: the weights must add up to 100",
                "structure.components[1].indicators[0].key: '1.1' is used twice",
                "structure.levels: list the award levels from the lowest", "invitation.signer:",
                "invitation.closing:"]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    data["window"] = {"opens": "2022-03-01", "closes": "2022-02-28"}
    with pytest.raises(ProgrammeError, match="closes must come after opens"):
        create_programme(None, data)


def test_a_definition_file_that_is_not_there_or_not_yaml(tmp_path):
    with pytest.raises(ProgrammeError, match="cannot read the file"):
        load_programme_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProgrammeError, match="not valid YAML"):
        load_programme_file(bad)


# ------------------------------------------------------------------------------------------------ window


def test_window_edges_in_bangkok_time(db, settings, programme):
    last_moment = datetime(2022, 2, 28, 23, 59, 59, 999000, tzinfo=BANGKOK)
    ok = apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, at=last_moment)
    assert ok.new and ok.ack_ref == "ทส 0903/1"
    before = counts(db)
    with pytest.raises(ProgrammeError) as late:
        apply(db, settings, KEY, BOEKPHRAI, contact=CONTACT, at=datetime(2022, 3, 1, 0, 0, tzinfo=BANGKOK))
    message = str(late.value)
    assert "รับสมัครตั้งแต่วันที่ ๑ ธันวาคม ๒๕๖๔ ถึงวันที่ ๒๘ กุมภาพันธ์ ๒๕๖๕ เวลา ๒๓.๕๙ น." in message
    assert "outside the application window" in message
    with pytest.raises(ProgrammeError, match="ไม่อยู่ในช่วงรับสมัคร"):
        apply(db, settings, KEY, BOEKPHRAI, contact=CONTACT, at=datetime(2021, 11, 30, 23, 59, 59, tzinfo=BANGKOK))
    # an aware time is converted: 17:00 UTC on 28 Feb is 00:00 on 1 March in Bangkok
    with pytest.raises(ProgrammeError, match="ไม่อยู่ในช่วงรับสมัคร"):
        apply(db, settings, KEY, BOEKPHRAI, contact=CONTACT, at=datetime(2022, 2, 28, 17, 0, tzinfo=UTC))
    assert counts(db) == before  # refusals change nothing
    in_time = apply(db, settings, KEY, BOEKPHRAI, contact=CONTACT, at=datetime(2022, 2, 28, 16, 59, tzinfo=UTC))
    assert in_time.new
    first = apply(db, settings, KEY, "muni.7005.krapyai", contact=CONTACT,
                  at=datetime(2021, 11, 30, 17, 0, tzinfo=UTC))  # 00:00 on 1 December in Bangkok
    assert first.new
    with db.transaction() as s:
        a = s.get(Application, in_time.application_id)
        assert a.submitted_at == datetime(2022, 2, 28, 23, 59, tzinfo=BANGKOK)


# -------------------------------------------------------------------------------------- re-application


def test_a_second_application_is_an_update(db, settings, programme, monkeypatch):
    sent = []
    monkeypatch.setattr("saraban.notify.mail.send_mail", fake_send(sent))
    settings = dataclasses.replace(settings, smtp_host="127.0.0.1")  # a server (the fake): the PDF is made to go
    first = apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, scores={"1.1": 3}, at=AT)
    changed = CONTACT | {"phone": "0 3634 1234"}
    second = apply(db, settings, KEY, NAPHRALAN, contact=changed, at=datetime(2022, 1, 20, 9, 0, tzinfo=BANGKOK))
    assert (second.application_id, second.revision, second.new) == (first.application_id, 2, False)
    assert (second.ack_letter_id, second.ack_ref) == (first.ack_letter_id, first.ack_ref)
    with db.transaction() as s:
        (a,) = s.scalars(select(Application)).all()
        assert (a.revision, a.contact["phone"], a.scores) == (2, "0 3634 1234", {"1.1": 3})
        assert a.submitted_at == AT and a.updated_at == datetime(2022, 1, 20, 9, 0, tzinfo=BANGKOK)
        event = s.scalar(select(Event).where(Event.kind == "application.updated"))
        assert event.data["previous"]["contact"] == CONTACT and event.data["previous"]["revision"] == 1
        assert s.scalar(select(func.count()).select_from(Letter)) == 1  # no second acknowledgement
        owner_id = s.get(Letter, a.ack_letter_id).unit_id
        assert len(entries(s, owner_id, 2565, "send")) == 1
    assert len(sent) == 2
    assert sent[0].attachments and not sent[1].attachments  # the update: a short confirmation only
    assert "ปรับปรุงใบสมัคร" in sent[1].subject


# ------------------------------------------------------------------------------------------ eligibility


def test_eligibility(db, settings, programme):
    with db.transaction() as s:
        levels = {u.level for u in eligible_units(s, programme)}
    assert levels <= {"city_municipality", "town_municipality", "subdistrict_municipality", "sao"}
    assert "subdistrict_municipality" in levels
    with pytest.raises(ProgrammeError, match="ไม่มีสิทธิ์สมัคร.*level 'pao' is not one of"):
        apply(db, settings, KEY, "pao.19", contact=CONTACT, at=AT)
    with pytest.raises(ProgrammeError, match="unknown unit 'muni.1913.naphralam'; did you mean muni.1913.naphralan"):
        apply(db, settings, KEY, "muni.1913.naphralam", contact=CONTACT, at=AT)
    with pytest.raises(ProgrammeError, match="unknown programme"):
        apply(db, settings, "eco-town-2564", NAPHRALAN, contact=CONTACT, at=AT)
    with pytest.raises(ProgrammeError, match="contact.name: required"):
        apply(db, settings, KEY, NAPHRALAN, contact={"email": "a@example.org"}, at=AT)
    saraburi = create_programme(db, definition(key="eco-town-saraburi",
                                               eligible={"levels": ["เทศบาล"], "areas": ["สระบุรี", "amphoe.8101"]}))
    with db.transaction() as s:
        assert [u.key for u in eligible_units(s, saraburi)] == ["muni.1913.naphralan", "muni.8101.krabi"]
    with pytest.raises(ProgrammeError, match="อยู่นอกพื้นที่ของโครงการ.*outside the programme's areas"):
        apply(db, settings, "eco-town-saraburi", BOEKPHRAI, contact=CONTACT, at=AT)
    assert counts(db) == (0, 0, 0)
    apply(db, settings, "eco-town-saraburi", "muni.8101.krabi", contact=CONTACT, at=AT)
    with db.transaction() as s:
        assert len(applicant_ids(s, saraburi)) == 1
        assert applicant_ids(s, get_programme(s, KEY)) == set()
    with pytest.raises(ProgrammeError, match="neither a province nor a unit key"):
        create_programme(db, definition(key="x", eligible={"levels": ["sao"], "areas": ["no.such.unit"]}))


# ----------------------------------------------------------------------------------- acknowledgement


def test_the_acknowledgement_letter(db, settings, programme):
    a = apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, at=AT)
    b = apply(db, settings, KEY, BOEKPHRAI, contact=CONTACT, at=datetime(2022, 1, 11, 14, 5, tzinfo=BANGKOK))
    assert (a.ack_ref, b.ack_ref) == ("ทส 0903/1", "ทส 0903/2")  # the owner's send series, consecutive
    with db.transaction() as s:
        letter = s.get(Letter, a.ack_letter_id)
        assert (letter.kind, letter.circular, letter.letter_date) == ("stamped", False, AT.date())
        lines = entries(s, letter.unit_id, 2565, "send")
        assert [(x.number, x.to_text) for x in lines] == [(1, "เทศบาลตำบลหน้าพระลาน"), (2, "เทศบาลตำบลเบิกไพร")]
        copy_path = s.scalar(select(Delivery.docx_key).where(Delivery.letter_id == letter.id))
    text = docx_text(local(settings, letter.docx_key))
    assert "ที่ ทส ๐๙๐๓/๑" in text
    assert f"ตามที่ เทศบาลตำบลหน้าพระลาน ได้สมัครเข้าร่วม{NAME} ประจำปี ๒๕๖๕" in text
    assert ("กรมส่งเสริมคุณภาพสิ่งแวดล้อม ได้รับใบสมัครของท่านแล้ว เมื่อวันที่ ๑๐ มกราคม ๒๕๖๕ เวลา ๑๐.๓๐ น."
            in text)
    assert "ขอแสดงความนับถือ" not in text  # a stamped letter: no closing, no signature
    assert local(settings, copy_path).exists()


def test_the_acknowledgement_is_mailed_and_recorded(db, settings, programme, monkeypatch):
    result = apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, at=AT)  # no SMTP host in the tests
    assert result.mail is not None and not result.mail.ok
    assert result.mail.error.startswith("e-mail is not configured")
    with db.transaction() as s:
        failed = s.scalar(select(Event).where(Event.kind == "mail.failed"))
        assert failed.letter_id == result.ack_letter_id and failed.data["to"] == [CONTACT["email"]]
        update_unit(s, BOEKPHRAI, email="saraban@boekphrai.go.th")
    sent = []
    monkeypatch.setattr("saraban.notify.mail.send_mail", fake_send(sent))
    other = apply(db, dataclasses.replace(settings, smtp_host="127.0.0.1"), KEY, BOEKPHRAI, contact=CONTACT, at=AT)
    assert other.mail.ok
    (mail,) = sent
    assert mail.to == [CONTACT["email"], "saraban@boekphrai.go.th"]
    # the unit's copy as PDF (never the editable .docx), named by the acknowledgement's number
    # the copy's bytes, read from the file store
    assert [(data[:5], name) for data, name in mail.attachments] == [(b"%PDF-", "ทส 0903-2.pdf")]
    assert "ทส ๐๙๐๓/๒" in mail.body
    with db.transaction() as s:
        assert s.scalar(select(Event).where(Event.kind == "mail.sent")).letter_id == other.ack_letter_id
    with db.transaction() as s:
        update_unit(s, "muni.7005.krapyai", email=None)
    no_mail = apply(db, settings, KEY, "muni.7005.krapyai", contact={"name": "นายหนึ่ง"}, at=AT)
    assert no_mail.mail is None


def fake_send(sent: list):
    from saraban.notify.mail import MailResult

    def send(settings, mail, **_):
        sent.append(mail)
        return MailResult(True, list(mail.to), {}, 1, None, "<test@example.org>")

    return send


# ---------------------------------------------------------------------------------------------- scores


def test_scores_are_checked_and_give_a_provisional_level(db, settings, programme):
    d = load_programme_file(FILE)
    assert provisional_level(d, all_scores(5)) == "ระดับแพลทินัม"
    assert provisional_level(d, all_scores(4)) == "ระดับทอง"  # 80 %
    assert provisional_level(d, all_scores(2.5)) == "ระดับส่งเสริม"  # 50 %
    assert provisional_level(d, all_scores(2)) is None  # 40 %: below every level
    assert provisional_level(d, {"1.1": 5}) is None  # indicators left out count as 0
    assert provisional_level(d, None) is None
    with pytest.raises(ProgrammeError) as caught:
        apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, scores={"9.9": 1, "1.1": 7, "1.2": "มาก", 1.3: 4},
              at=AT)
    problems = caught.value.problems
    assert any(p.startswith("scores.9.9: unknown indicator") for p in problems)
    assert any(p.startswith("scores.1.1: 7 is out of range: expected 0 to 5") for p in problems)
    assert any(p.startswith("scores.1.2: expected a number") for p in problems)
    assert len(problems) == 3  # 1.3 (a YAML number) is a known indicator
    assert counts(db) == (0, 0, 0)
    result = apply(db, settings, KEY, NAPHRALAN, contact=CONTACT, scores=all_scores(4) | {"1.1": "5"}, at=AT)
    assert result.provisional_level == "ระดับทอง"
    with db.transaction() as s:
        a = s.get(Application, result.application_id)
        assert (a.scores["1.1"], a.scores["4.8"], a.provisional_level) == (5, 4, "ระดับทอง")
        letter = s.get(Letter, result.ack_letter_id)
    assert "ผลการประเมินตนเองเบื้องต้นของท่านอยู่ในระดับทอง" in docx_text(local(settings, letter.docx_key))


# ------------------------------------------------------------------------------------------- invitation


def decoded_qr(path: str) -> set[str]:
    found = set()
    for rel in Document(path).part.rels.values():
        if "image" in rel.reltype:
            found |= {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(rel.target_part.blob)))}
    return found


def test_the_invitation_goes_out_as_a_circular_with_its_qr_codes(db, settings, programme):
    invited_at = datetime(2021, 12, 1, 9, 0, tzinfo=BANGKOK)
    issued = send_invitation(db, settings, KEY, to="all:subdistrict_municipality", at=invited_at)
    assert (issued.ref, issued.new) == ("ทส 0903/ว 1", True)
    again = send_invitation(db, settings, KEY, to="all:subdistrict_municipality", at=invited_at)
    assert (again.letter_id, again.new) == (issued.letter_id, False)
    with db.transaction() as s:
        assert get_programme(s, KEY).invitation_letter_id == issued.letter_id
        letter = s.get(Letter, issued.letter_id)
        deliveries = s.scalars(select(Delivery).where(Delivery.letter_id == letter.id)).all()
    assert (letter.kind, letter.circular) == ("external", True)
    assert len(deliveries) == issued.recipients >= 4
    text = docx_text(local(settings, letter.docx_key))
    assert "สแกน QR ลงรับเพื่อสมัคร" in text and "ที่ ทส ๐๙๐๓/ว ๑" in text
    d = deliveries[0]
    assert decoded_qr(local(settings, d.docx_key)) >= {
        f"{settings.base_url}/t/{d.token}", f"{settings.base_url}/apply/{KEY}", "https://meet.example.org/eco-town-2565"}


# ------------------------------------------------------------------------------------------------- CLI


def test_cli(tmp_path, monkeypatch):
    from saraban.faces.cli.programmes import app as programme_app
    from saraban.faces.cli.programmes import apply_command
    from saraban.records.db import open_database

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SARABAN_DATABASE_URL", url)
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SARABAN_SMTP_HOST", raising=False)
    cli = typer.Typer()
    cli.add_typer(programme_app, name="programme")
    cli.command("apply")(apply_command)
    runner = CliRunner()

    created = runner.invoke(cli, ["programme", "create", str(FILE)])
    assert created.exit_code == 0, created.output
    assert "programme eco-town-2565" in created.output
    assert runner.invoke(cli, ["programme", "create", str(FILE)]).exit_code == 0  # the same file again
    shown = runner.invoke(cli, ["programme", "show", KEY])
    assert shown.exit_code == 0, shown.output
    assert "ตั้งแต่วันที่ ๑ ธันวาคม ๒๕๖๔" in shown.output and "35 indicators" in shown.output
    assert "no letter code" in shown.output

    bad = tmp_path / "bad.yaml"
    broken = definition(year=2022)
    broken["structure"]["components"][0]["weight"] = 10
    bad.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    refused = runner.invoke(cli, ["programme", "create", str(bad)])
    assert refused.exit_code == 2
    assert "year: expected the B.E. year" in refused.output and "weights must add up to 100" in refused.output

    # The submission time is the server's (no --at): the clock reads 10:30 on 10 January 2022 in Bangkok.
    from saraban.kernel import clock

    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 1, 10, 3, 30, tzinfo=UTC))
    args = ["apply", KEY, "--unit", NAPHRALAN, "--contact", "นางสาวสมใจ รักษ์เมือง", "--email", "somjai@example.org",
            "--score", "1.1=5"]
    no_code = runner.invoke(cli, args)
    assert no_code.exit_code == 2 and "has no letter code" in no_code.output
    db = open_database(url=url)
    with db.transaction() as s:
        update_unit(s, "deqp", letter_code="ทส 0903")
    db.engine.dispose()
    applied = runner.invoke(cli, args)
    assert applied.exit_code == 0, applied.output
    assert "ที่ ทส 0903/1" in applied.output and "e-mail not sent: e-mail is not configured" in applied.output
    updated = runner.invoke(cli, args)
    assert "updated (revision 2)" in updated.output
    assert runner.invoke(cli, args + ["--at", "2022-01-10 10:30"]).exit_code == 2  # a caller's time: no such option
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 2, 28, 17, 0, tzinfo=UTC))  # 1 March, 00:00
    late = runner.invoke(cli, args)
    assert late.exit_code == 2 and "รับสมัครตั้งแต่วันที่" in late.output
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2022, 1, 10, 3, 30, tzinfo=UTC))
    bad_score = runner.invoke(cli, args + ["--score", "1.2=9"])
    assert bad_score.exit_code == 2 and "scores.1.2" in bad_score.output


def test_checking_leaves_the_given_mapping_as_it_was():
    data = definition()
    before = copy.deepcopy(data)
    load_programme_file(FILE)
    from saraban.programmes.definitions import check_programme

    check_programme(data)
    assert data == before
