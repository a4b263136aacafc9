"""What saraban writes on an office's behalf comes from editable wording templates (templates/wording/):
each renders, an office's own copy wins, values print as typed, a broken one says which file; the
forwarding letter reads like field-examples §1.4; reminders say how the letter reached the unit."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document
from jinja2 import Environment
from sqlalchemy import select

from saraban.chain.circulars import forward, issue_circular, receive
from saraban.chain.distribution import restated_matter
from saraban.directory.imports import import_units, update_unit
from saraban.directory.skeleton import add_synthetic_local_layer
from saraban.kernel.clock import BANGKOK
from saraban.kernel.settings import TEMPLATES_DIR
from saraban.kernel.wording import WordingError, mail_wording, wording, wording_paragraphs, wording_parts
from saraban.programmes.reminders import describe
from saraban.records.models import Delivery, Letter, Mailing, Unit
from saraban.reports.programmes import step_text
from tests.conftest import EXAMPLES
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.stored import local

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)
FORWARDED_AT = datetime(2024, 4, 9, 10, 0, tzinfo=BANGKOK)
WORDING = TEMPLATES_DIR / "wording"

# Every template of this part with the values its callers give (the comment at each file's top lists them).
SAMPLES: dict[str, dict] = {
    "forward/letter": {"me": "จังหวัดกระบี่", "upstream_sender": "กรมส่งเสริมการปกครองท้องถิ่น",
                       "upstream_ref": "มท 0820.2/ว 1144", "upstream_date": "29 มีนาคม 2567",
                       "upstream_subject": "ส่งมอบคู่มือ", "matter": "ได้รับแจ้งจากโครงการ ก ว่า ...",
                       "tells_locals": True, "pass_on": "อำเภอ", "has_qr": True},
    "reminders/receipt": {"sender": "จังหวัดกระบี่", "ref": "กบ 0023.6/ว 1", "letter_date": "9 เมษายน 2567",
                          "letter_subject": "ส่งมอบคู่มือ", "unit": "ที่ว่าการอำเภอเมืองกระบี่",
                          "addressee": "ที่ว่าการอำเภอเมืองกระบี่", "to_unit": True, "sent_on": "9 เมษายน 2567",
                          "emailed_to": "", "days": 7, "reply_by": "19 เมษายน 2567"},
    "reminders/deadline": {"sender": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม", "programme": "โครงการเมืองน่าอยู่", "year": 2565,
                           "invitation_ref": "ทส 0903/ว 1", "invitation_date": "1 ธันวาคม 2564", "reached": True,
                           "emailed_to": "", "window": "ตั้งแต่วันที่ 1 ธันวาคม 2564 ถึงวันที่ 28 กุมภาพันธ์ 2565",
                           "unit": "เทศบาลตำบลเบิกไพร", "addressee": "ที่ว่าการอำเภอบ้านโป่ง", "to_unit": False,
                           "days": 3, "until": "ภายในวันที่ 28 กุมภาพันธ์ 2565 เวลา 23.59 น."},
    "programmes/acknowledgement": {"owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม", "unit": "เทศบาลตำบลเบิกไพร",
                                   "programme": "โครงการเมืองน่าอยู่", "year": 2565, "received_on": "20 มกราคม 2565",
                                   "received_at": "10.15", "level": "ระดับทอง"},
    "programmes/result": {"owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม", "unit": "เทศบาลตำบลเบิกไพร",
                          "programme": "โครงการเมืองน่าอยู่", "year": 2565, "subject": "ผลการประเมินโครงการ",
                          "notice": "ประกาศกรม เรื่อง ผลการประเมิน", "percent": "62.50", "level": "ระดับเงิน",
                          "award": "โล่รางวัล", "lowest_level": "ระดับส่งเสริม", "lowest_percent": "50"},
    "programmes/announcement": {"owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม", "programme": "โครงการเมืองน่าอยู่",
                                "year": 2565, "window": "ตั้งแต่วันที่ 1 ธันวาคม 2564", "applicants": 3,
                                "awarded": 2},
    "programmes/announcement_closing": {"owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม", "programme": "โครงการ", "year": 2565},
    "email/acknowledgement": {"contact": "นางสาวผู้ประสานงาน", "owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม",
                              "unit": "เทศบาลตำบลเบิกไพร", "title": "โครงการเมืองน่าอยู่ ประจำปี ๒๕๖๕",
                              "ref": "ทส ๐๙๐๓/๒", "level": "", "apply_link": "http://x.org/apply/a?t=1",
                              "copy_link": "http://x.org/c/2", "verify_url": "http://x.org/verify"},
    "email/application_update": {"contact": "นางสาวผู้ประสานงาน", "owner": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม",
                                 "unit": "เทศบาลตำบลเบิกไพร", "title": "โครงการเมืองน่าอยู่ ประจำปี ๒๕๖๕",
                                 "ref": "", "level": "ระดับทอง", "apply_link": "http://x.org/apply/a",
                                 "revision": 2, "updated_on": "๒๑ มกราคม ๒๕๖๕", "updated_at": "๑๐.๑๕"},
    "email/reminder": {"addressee": "เทศบาลตำบลเบิกไพร", "sender": "กรมส่งเสริมคุณภาพสิ่งแวดล้อม",
                       "ref": "ทส ๐๙๐๓/๑๕", "letter_date": "๒๕ กุมภาพันธ์ ๒๕๖๕", "subject": "ทวงถามการสมัคร",
                       "body": ["ตามที่ ...", "บัดนี้ ..."], "links": ["สมัครได้ที่ http://x.org/apply/a"]},
}


def office_copy(tmp_path: Path, name: str, text: str) -> Path:
    """An office's templates folder holding its own copy of one wording template."""
    file = tmp_path / "office" / "wording" / f"{name}.txt.j2"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return tmp_path / "office"


def text_lines(settings, letter: Letter) -> list[str]:
    """The letter's text: its paragraphs from the first, "ด้วย...", on."""
    lines = [p.text for p in Document(local(settings, letter.docx_key)).paragraphs if p.text.strip()]
    return lines[next(i for i, line in enumerate(lines) if line.startswith("ด้วย")):]


def owner_cell(settings, letter: Letter) -> str:
    """The owner block as printed (the foot table's first cell)."""
    return next(c.text for t in Document(local(settings, letter.docx_key)).tables for r in t.rows for c in r.cells
                if c.text.startswith("สำนักงาน") or c.text.startswith("ที่ว่าการ"))


# --- the module -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_wording_template_renders(settings, name):
    paragraphs = wording_paragraphs(settings, name, **SAMPLES[name])
    untitled = name.startswith("programmes/announcement")  # the ประกาศ's text: its เรื่อง is not worded
    assert len(paragraphs) >= (1 if untitled else 2)
    assert all(p.strip() == p and "  " not in p and "{" not in p and "\n" not in p for p in paragraphs)


def test_every_shipped_wording_template_parses():
    files = sorted(WORDING.rglob("*.txt.j2"))
    assert {f.relative_to(WORDING).as_posix().removesuffix(".txt.j2") for f in files} >= set(SAMPLES)
    for file in files:
        Environment().parse(file.read_text(encoding="utf-8"))


def test_the_texts_read_as_before_where_nothing_was_wrong(settings):
    title, body = wording_parts(settings, "programmes/acknowledgement", **SAMPLES["programmes/acknowledgement"])
    assert title == "ตอบรับการสมัครเข้าร่วมโครงการเมืองน่าอยู่ ประจำปี 2565"
    assert body == ["ตามที่ เทศบาลตำบลเบิกไพร ได้สมัครเข้าร่วมโครงการเมืองน่าอยู่ ประจำปี 2565 นั้น",
                    "กรมส่งเสริมคุณภาพสิ่งแวดล้อม ได้รับใบสมัครของท่านแล้ว เมื่อวันที่ 20 มกราคม 2565 เวลา 10.15 น. "
                    "และจะแจ้งขั้นตอนการประเมินให้ทราบต่อไป",
                    "ผลการประเมินตนเองเบื้องต้นของท่านอยู่ในระดับทอง ซึ่งเป็นผลเบื้องต้น "
                    "ผลการประเมินจะเป็นไปตามการตรวจประเมินของคณะกรรมการ",
                    "จึงแจ้งมาเพื่อทราบ"]
    subject, text = mail_wording(settings, "email/application_update", **SAMPLES["email/application_update"])
    assert subject == "ปรับปรุงใบสมัคร โครงการเมืองน่าอยู่ ประจำปี ๒๕๖๕ — เทศบาลตำบลเบิกไพร (ครั้งที่ 2)"
    assert text.startswith("เรียน นางสาวผู้ประสานงาน\n\nกรมส่งเสริมคุณภาพสิ่งแวดล้อม ได้รับการปรับปรุงใบสมัคร")
    assert "หนังสือตอบรับเดิม" not in text and text.endswith("\n\nกรมส่งเสริมคุณภาพสิ่งแวดล้อม\n")
    assert wording(settings, "programmes/announcement_closing", owner="", programme="", year=1) == \
        "จึงประกาศมาให้ทราบโดยทั่วกัน"


def test_an_office_copy_wins_over_the_shipped_one(settings, tmp_path):
    own = dataclasses.replace(settings, templates_dir=office_copy(
        tmp_path, "programmes/announcement_closing", "{# ours #}\nประกาศ ณ {{ owner }}\nให้ทราบ\n"))
    assert wording_paragraphs(own, "programmes/announcement_closing", owner="กรม", programme="", year=1) == \
        ["ประกาศ ณ กรม ให้ทราบ"]
    # the others still come from saraban's folder
    assert wording_parts(own, "programmes/result", **SAMPLES["programmes/result"])[0] == "แจ้งผลการประเมินโครงการ"


def test_an_office_copy_put_in_place_while_running_wins_at_once(settings, tmp_path):
    own = dataclasses.replace(settings, templates_dir=tmp_path / "office")
    values = dict(owner="กรม", programme="", year=1)
    before = wording_paragraphs(own, "programmes/announcement_closing", **values)
    office_copy(tmp_path, "programmes/announcement_closing", "ประกาศ ณ {{ owner }} ฉบับของสำนักงาน\n")
    after = wording_paragraphs(own, "programmes/announcement_closing", **values)
    assert after == ["ประกาศ ณ กรม ฉบับของสำนักงาน"] and before != after
    # compiled once, kept while the file stays as it is; edited, it is read again
    office_copy(tmp_path, "programmes/announcement_closing", "ประกาศ ณ {{ owner }} ฉบับแก้ไข\n")
    assert wording_paragraphs(own, "programmes/announcement_closing", **values) == ["ประกาศ ณ กรม ฉบับแก้ไข"]


@pytest.mark.parametrize("value", ["{{ 7 * 7 }} {% if x %}", "<b>A & B</b> &amp;", "ราคา 10% {#"])
def test_a_value_prints_as_typed(settings, value):
    facts = SAMPLES["forward/letter"] | {"upstream_subject": value, "matter": ""}
    title, body = wording_parts(settings, "forward/letter", **facts)
    assert title == value
    assert body[0].endswith(f"เรื่อง {value}")


def test_a_missing_value_or_a_broken_template_names_the_file(settings, tmp_path):
    facts = dict(SAMPLES["forward/letter"])
    del facts["matter"]
    with pytest.raises(WordingError, match=r"forward/letter\.txt\.j2.*'matter' is undefined"):
        wording_parts(settings, "forward/letter", **facts)
    broken = office_copy(tmp_path, "forward/letter", "เรื่อง\n\nด้วย{{ me }\n")
    own = dataclasses.replace(settings, templates_dir=broken)
    with pytest.raises(WordingError) as e:
        wording_parts(own, "forward/letter", **SAMPLES["forward/letter"])
    assert str(broken / "wording" / "forward" / "letter.txt.j2") in str(e.value) and "line 3" in str(e.value)
    with pytest.raises(WordingError, match="not found"):
        wording(settings, "forward/nothing")
    empty = dataclasses.replace(settings, templates_dir=office_copy(tmp_path, "forward/letter", "{# nothing #}\n"))
    with pytest.raises(WordingError, match="gave no text"):
        wording_parts(empty, "forward/letter", **SAMPLES["forward/letter"])


# --- the forwarding letter (field-examples §1.4) ----------------------------------------------------------------


def test_the_matter_is_restated_without_its_own_opening():
    paragraph = circular_spec().body[0]
    assert restated_matter(paragraph, "กรมส่งเสริมการปกครองท้องถิ่น").startswith(
        "ได้รับแจ้งจากโครงการท้องถิ่นนำร่องลดมลพิษ")
    assert restated_matter("ตามที่กรมได้แจ้ง ...", "กรม") == ""


def _forwarded(db, settings) -> tuple[int, int]:
    """The department's circular (§1.3), received and forwarded by Krabi (§1.4): (its id, Krabi's letter id).
    Krabi's working group is in the directory (as the demo imports it), with a phone."""
    with db.transaction() as s:
        import_units(s, EXAMPLES / "krabi-working-group.csv")
        update_unit(s, "prov.81.6", phone="0 7561 1234")
    a = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="all:province_office", at=AT)
    receive(db, settings, a.letter_id, "prov.81", at=AT)
    return a.letter_id, forward(db, settings, a.letter_id, "prov.81", at=FORWARDED_AT).letter_id


def test_the_forwarding_letter_reads_like_the_field_example(db, settings):
    _, krabi = _forwarded(db, settings)
    with db.reading() as s:
        letter = s.get(Letter, krabi)
    first, second = text_lines(settings, letter)[:2]
    assert first.startswith("ด้วยจังหวัดกระบี่ได้รับแจ้งจากกรมส่งเสริมการปกครองท้องถิ่น ตามหนังสือที่ มท ๐๘๒๐.๒/ว ๑ "
                            "ลงวันที่ ๒๙ มีนาคม ๒๕๖๗ ว่า ได้รับแจ้งจากโครงการท้องถิ่นนำร่องลดมลพิษ")
    assert first.count("กรมส่งเสริมการปกครองท้องถิ่น") == 1  # the department named once, its letter cited once
    assert "ระยะเวลา ๑๘ เดือน" in first  # the matter restated
    assert second.startswith("จังหวัดกระบี่พิจารณาแล้ว จึงขอให้องค์กรปกครองส่วนท้องถิ่นทราบ และประชาสัมพันธ์ให้ทราบ"
                             "โดยทั่วกัน สำหรับอำเภอให้แจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบต่อไป รายละเอียดปรากฏตาม")
    assert second.endswith("QR Code ท้ายหนังสือฉบับนี้")
    assert owner_cell(settings, letter).split("\n") == ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่",
                                             "กลุ่มงานบริการสาธารณะท้องถิ่นและประสานงานท้องถิ่นอำเภอ",
                                             "โทร. ๐ ๗๕๖๑ ๑๒๓๔"]


def test_a_district_forwarding_to_its_local_administrations_asks_no_one_to_pass_it_on(db, settings):
    _, krabi = _forwarded(db, settings)
    with db.transaction() as s:
        add_synthetic_local_layer(s, district="amphoe.8101")
        update_unit(s, "amphoe.8101", letter_code="กบ 0018", letter_code_certain=True, phone="0 7561 1000")
    receive(db, settings, krabi, "amphoe.8101", at=FORWARDED_AT)
    district = forward(db, settings, krabi, "amphoe.8101", at=FORWARDED_AT)
    with db.reading() as s:
        letter = s.get(Letter, district.letter_id)
    lines = text_lines(settings, letter)
    assert lines[0].startswith("ด้วยอำเภอเมืองกระบี่ได้รับแจ้งจากจังหวัดกระบี่ ตามหนังสือที่ กบ ๐๐๒๓.๖/ว ๑ "
                               "ลงวันที่ ๙ เมษายน ๒๕๖๗ ว่า ได้รับแจ้งจากกรมส่งเสริมการปกครองท้องถิ่น")
    assert lines[1].startswith("อำเภอเมืองกระบี่พิจารณาแล้ว จึงขอให้องค์กรปกครองส่วนท้องถิ่นทราบ")
    assert "สำหรับอำเภอ" not in lines[1]
    assert owner_cell(settings, letter).split("\n") == ["ที่ว่าการอำเภอเมืองกระบี่", "โทร. ๐ ๗๕๖๑ ๑๐๐๐"]


def test_without_a_working_group_the_owner_block_is_the_office(db, settings):
    with db.transaction() as s:
        update_unit(s, "prov.81", phone="0 7562 0000")
    a = issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="all:province_office", at=AT)
    receive(db, settings, a.letter_id, "prov.81", at=AT)
    krabi = forward(db, settings, a.letter_id, "prov.81", at=FORWARDED_AT)
    with db.reading() as s:
        letter = s.get(Letter, krabi.letter_id)
    assert owner_cell(settings, letter).split("\n") == ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่", "โทร. ๐ ๗๕๖๒ ๐๐๐๐"]


def test_an_office_copy_changes_the_forwarding_letter(db, settings, tmp_path):
    shipped = (WORDING / "forward" / "letter.txt.j2").read_text(encoding="utf-8")
    ours = shipped.replace("{{ me }}พิจารณาแล้ว จึงขอให้องค์กรปกครองส่วนท้องถิ่นทราบ",
                           "{{ me }}จึงขอให้องค์กรปกครองส่วนท้องถิ่นทราบและถือปฏิบัติ")
    assert ours != shipped
    own = dataclasses.replace(settings, templates_dir=office_copy(tmp_path, "forward/letter", ours))
    _, krabi = _forwarded(db, own)
    with db.reading() as s:
        lines = text_lines(settings, s.get(Letter, krabi))
    assert lines[1].startswith("จังหวัดกระบี่จึงขอให้องค์กรปกครองส่วนท้องถิ่นทราบและถือปฏิบัติ และประชาสัมพันธ์")


# --- reminders ---------------------------------------------------------------------------------------------------


def test_step_names_say_what_they_count_from():
    assert step_text("after-7d") == "๗ วันหลังส่งหนังสือ"
    assert step_text("before-3d") == "๓ วันก่อนปิดรับสมัคร"
    assert step_text("after-0d") == "วันที่ส่งหนังสือ"


def test_a_receipt_reminder_says_how_the_letter_reached_the_unit(db, settings):
    department, _ = _forwarded(db, settings)
    with db.transaction() as s:
        unit = s.scalar(select(Unit).where(Unit.key == "prov.70"))
        copy = s.scalar(select(Delivery).where(Delivery.letter_id == department, Delivery.unit_id == unit.id))
        due = describe(s, "receipt", f"delivery:{copy.id}", unit, unit, "after-7d", date(2024, 4, 5))
    subject, body = due.text(settings)
    assert subject == "ทวงถามการลงรับหนังสือ ที่ มท 0820.2/ว 1"
    assert "ทางระบบงานสารบรรณ (saraban) เมื่อวันที่ ๒๙ มีนาคม ๒๕๖๗ นั้น" in body[0]
    assert "อิเล็กทรอนิกส์" not in body[0]  # it was not e-mailed: the reminder does not say it was
    assert body[1].startswith("บัดนี้ล่วงเลยมาแล้วไม่น้อยกว่า 7 วัน ยังไม่ได้รับการลงรับหนังสือดังกล่าวจาก")
    with db.transaction() as s:
        s.add(Mailing(delivery_id=copy.id, letter_id=department, unit_id=unit.id, status="sent",
                      address="saraban@ratchaburi.example.org", attempts=1))
    with db.transaction() as s:
        due = describe(s, "receipt", f"delivery:{copy.id}", unit, unit, "after-7d", date(2024, 4, 5))
    assert "และส่งสำเนาทางไปรษณีย์อิเล็กทรอนิกส์ saraban@ratchaburi.example.org เมื่อวันที่" in due.text(settings)[1][0]
