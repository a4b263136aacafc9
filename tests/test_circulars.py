"""The circular chain of field-examples §1: issue → receive → forward, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import yaml
import zxingcpp
from docx import Document
from PIL import Image
from sqlalchemy import func, select

from saraban.chain.circulars import (
    CircularError,
    carry_down,
    forward,
    issue_circular,
    receive,
    receive_incoming,
    receive_many,
)
from saraban.chain.status import as_dict, letter_status
from saraban.chain.tracking import secret_key, token_is_genuine
from saraban.directory.levels import DirectoryError
from saraban.kernel.clock import BANGKOK
from saraban.letters.spec import SpecError, parse_spec
from saraban.records.models import Delivery, Letter, RegisterEntry
from saraban.records.registers import entries
from tests.conftest import EXAMPLES
from tests.dbs import circular_spec, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.stored import local

AT = datetime(2024, 3, 29, 10, 30, tzinfo=BANGKOK)


def first_line(path: str) -> str:
    return Document(path).paragraphs[0].text


def issue(db, settings, **changes):
    return issue_circular(db, settings, circular_spec(**changes), sender_key="dla.env.2",
                          to="all:province_office", at=AT)


def test_issue_numbers_in_the_circular_series_and_sends_a_copy_to_every_province(db, settings):
    issued = issue(db, settings)
    assert (issued.ref, issued.recipients, issued.new) == ("มท 0820.2/ว 1", 76, True)
    with db.transaction() as s:
        letter = s.get(Letter, issued.letter_id)
        (line,) = entries(s, letter.unit_id, 2567, "circular")
        assert (line.number, line.ref_text, line.subject) == (1, "มท 0820.2/ว 1", letter.subject)
        assert line.to_text == "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด ทุกจังหวัด"
        deliveries = s.scalars(select(Delivery).where(Delivery.letter_id == letter.id)).all()
    assert first_line(local(settings, letter.docx_key)) == "ที่ มท ๐๘๒๐.๒/ว ๑"
    assert len({d.token for d in deliveries}) == 76
    assert all(token_is_genuine(d.token, secret_key(settings)) for d in deliveries)
    assert all(local(settings, d.docx_key).exists() for d in deliveries)


def test_each_copy_carries_its_own_tracking_qr(db, settings):
    issued = issue(db, settings)
    with db.transaction() as s:
        some = s.scalars(select(Delivery).where(Delivery.letter_id == issued.letter_id).limit(2)).all()
    for d in some:
        doc = Document(local(settings, d.docx_key))
        decoded = set()
        for rel in doc.part.rels.values():
            if "image" in rel.reltype:
                image = Image.open(io.BytesIO(rel.target_part.blob))
                decoded |= {b.text for b in zxingcpp.read_barcodes(image)}
        assert f"{settings.base_url}/t/{d.token}" in decoded
        assert "https://example.org/greenlocal/handbook.pdf" in decoded


def test_issuing_the_same_spec_again_numbers_nothing(db, settings):
    first = issue(db, settings)
    again = issue(db, settings)
    other = issue(db, settings, subject="เรื่องอื่น")
    assert (again.letter_id, again.ref, again.new) == (first.letter_id, first.ref, False)
    assert other.ref == "มท 0820.2/ว 2"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 152


def test_bad_requests_change_nothing(db, settings):
    with pytest.raises(DirectoryError, match="no-such-unit"):
        issue_circular(db, settings, circular_spec(), sender_key="no-such-unit", to="all:province_office")
    with pytest.raises(DirectoryError):
        issue_circular(db, settings, circular_spec(), sender_key="dla.env.2", to="all:no_such_level")
    fixed = yaml.safe_load((EXAMPLES / "03-department-circular.yaml").read_text(encoding="utf-8"))
    with pytest.raises(SpecError, match="the send register gives the number"):
        issue_circular(db, settings, parse_spec(fixed), sender_key="dla.env.2", to="all:province_office")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 0
        assert s.scalar(select(func.count()).select_from(RegisterEntry)) == 0


def test_receive_gives_the_next_receive_number_once(db, settings):
    a = issue(db, settings)
    b = issue(db, settings, subject="เรื่องที่สอง")
    first = receive(db, settings, a.letter_id, "prov.81", at=datetime(2024, 3, 30, 9, 15, tzinfo=BANGKOK))
    twice = receive(db, settings, a.letter_id, "prov.81", at=datetime(2024, 3, 30, 11, 0, tzinfo=BANGKOK))
    second = receive(db, settings, "มท 0820.2/ว 2", "prov.81", at=datetime(2024, 3, 30, 9, 20, tzinfo=BANGKOK))
    assert (first.number, first.year, first.new) == (1, 2567, True)
    assert (twice.number, twice.received_at, twice.new) == (1, datetime(2024, 3, 30, 9, 15, tzinfo=BANGKOK), False)
    assert second.number == 2 and b.ref == "มท 0820.2/ว 2"
    with db.transaction() as s:
        unit_id = s.scalar(select(Delivery.unit_id).where(Delivery.letter_id == a.letter_id,
                                                           Delivery.receipt_number == 1))
        lines = entries(s, unit_id, 2567, "receive")
    assert [(x.number, x.ref_text, x.from_text) for x in lines] == [
        (1, "มท 0820.2/ว 1", "กรมส่งเสริมการปกครองท้องถิ่น"), (2, "มท 0820.2/ว 2", "กรมส่งเสริมการปกครองท้องถิ่น")]


def test_receiving_a_letter_not_addressed_to_the_unit_is_refused(db, settings):
    a = issue(db, settings)
    with pytest.raises(CircularError, match="not sent to"):
        receive(db, settings, a.letter_id, "amphoe.8101")
    with pytest.raises(CircularError, match="no letter"):
        receive(db, settings, "มท 0820.2/ว 99", "prov.81")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegisterEntry).where(
            RegisterEntry.series == "receive")) == 0


def test_forward_makes_the_province_own_circular_citing_the_department(db, settings):
    a = issue(db, settings)
    with pytest.raises(CircularError, match="receive it first"):
        forward(db, settings, a.letter_id, "prov.81", at=AT)
    receive(db, settings, a.letter_id, "prov.81", at=AT)
    fwd = forward(db, settings, a.letter_id, "prov.81", at=datetime(2024, 4, 9, 10, 0, tzinfo=BANGKOK))
    assert fwd.ref == "กบ 0023.6/ว 1" and fwd.new
    with db.transaction() as s:
        letter = s.get(Letter, fwd.letter_id)
    doc = Document(local(settings, letter.docx_key))
    lines = [p.text for p in doc.paragraphs if p.text.strip()]
    assert lines[0] == "ที่ กบ ๐๐๒๓.๖/ว ๑"
    assert lines[1] == ("ถึง\tที่ว่าการอำเภอ ทุกอำเภอ ที่ทำการองค์การบริหารส่วนจังหวัดกระบี่ "
                        "และสำนักงานเทศบาลเมืองกระบี่")
    assert next(x for x in lines if x.startswith("ด้วย")).startswith(
        "ด้วยจังหวัดกระบี่ได้รับแจ้งจากกรมส่งเสริมการปกครองท้องถิ่น ตามหนังสือที่ "
        "มท ๐๘๒๐.๒/ว ๑ ลงวันที่ ๒๙ มีนาคม ๒๕๖๗ ว่า ได้รับแจ้งจากโครงการ")  # §1.4
    assert "๙ เมษายน ๒๕๖๗" in lines
    assert letter.spec["qr"] == circular_spec().model_dump(mode="json")["qr"]
    assert fwd.recipients == 8 + 1 + 1  # Krabi's 8 districts, its PAO, the town municipality
    again = forward(db, settings, a.letter_id, "prov.81")
    assert (again.letter_id, again.new) == (fwd.letter_id, False)


def test_only_a_recipient_can_forward(db, settings):
    a = issue(db, settings)
    with pytest.raises(CircularError, match="only what a unit has received"):
        forward(db, settings, a.letter_id, "amphoe.8101")


def test_carry_down_reaches_the_local_administrations_of_a_district(db, settings):
    """Ratchaburi: province → 10 districts, PAO, เทศบาลเมืองบ้านโป่ง; อำเภอบ้านโป่ง → its two
    subdistrict municipalities."""
    a = issue(db, settings)
    receive_many(db, settings, a.letter_id, ["prov.70"], at=AT)
    made = carry_down(db, settings, a.letter_id, "prov.70", at=AT)
    assert len(made) == 2  # the province's letter and Ban Pong district's
    again = carry_down(db, settings, a.letter_id, "prov.70", at=AT)
    assert again == made
    status = letter_status(db, a.letter_id)
    levels = status.by_level()
    assert levels["province_office"] == {"sent": 76, "received": 1, "forwarded": 1, "missing": 75}
    assert levels["district_office"] == {"sent": 10, "received": 10, "forwarded": 1, "missing": 0}
    assert levels["subdistrict_municipality"] == {"sent": 2, "received": 2, "forwarded": 0, "missing": 0}
    assert levels["town_municipality"]["received"] == 1 and levels["pao"]["received"] == 1
    tree = as_dict(status)
    ratchaburi = next(n for n in tree["recipients"] if n["unit"] == "prov.70")
    banpong = next(n for n in ratchaburi["children"] if n["unit"] == "amphoe.7005")
    assert sorted(c["unit"] for c in banpong["children"]) == ["muni.7005.boekphrai", "muni.7005.krapyai"]
    assert banpong["forwarded_by"].startswith("รบ ")


def test_a_crash_after_numbering_loses_nothing_and_numbers_nothing_twice(db, settings, monkeypatch):
    import saraban.chain.circulars as circulars

    real = circulars._make_docx
    calls = {"n": 0}

    def dies_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(circulars, "_make_docx", dies_once)
    with pytest.raises(RuntimeError, match="power cut"):
        issue(db, settings)
    rerun = issue(db, settings)
    assert (rerun.ref, rerun.new) == ("มท 0820.2/ว 1", False)
    with db.transaction() as s:
        deliveries = s.scalars(select(Delivery)).all()
        assert len(deliveries) == 76 and all(local(settings, d.docx_key).exists() for d in deliveries)
        assert s.scalar(select(func.count()).select_from(RegisterEntry)) == 1


def test_an_outside_letter_is_received_into_the_register(db, settings):
    """field-examples §1.2: the project's letter ทลส.001/2567 received by the department's registry."""
    r = receive_incoming(db, "dla.registry", ref="ทลส.001/2567", letter_date=date(2024, 3, 5),
                         sender="โครงการท้องถิ่นนำร่องลดมลพิษและสร้างสุขภาวะที่ดีในพื้นที่อุตสาหกรรม",
                         subject="ส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียวและเศรษฐกิจหมุนเวียน",
                         at=datetime(2024, 3, 26, 14, 5, tzinfo=BANGKOK))
    assert (r.number, r.year) == (1, 2567)
    with db.transaction() as s:
        (line,) = entries(s, r.unit_id, 2567, "receive")
        assert (line.ref_text, line.letter_date) == ("ทลส.001/2567", date(2024, 3, 5))


def test_the_receipt_stamp_is_printed_on_the_recipient_pdf_copy(db, settings):
    """field-examples §1.2: the receiving unit's name, เลขรับ, the date with the abbreviated month, the time —
    read back from the stamped PDF."""
    import subprocess

    from saraban.chain.circulars import make_files

    a = issue(db, settings)
    make_files(db, settings, [a.letter_id], pdf=True)
    receive(db, settings, a.letter_id, "prov.11", at=datetime(2024, 3, 30, 9, 5, tzinfo=BANGKOK))
    r = receive(db, settings, a.letter_id, "prov.81", at=datetime(2024, 3, 30, 10, 30, tzinfo=BANGKOK))
    assert r.stamped_pdf_key is not None and local(settings, r.stamped_pdf_key).exists()
    text = subprocess.run(["pdftotext", "-layout", str(local(settings, r.stamped_pdf_key)), "-"],
                          capture_output=True, text=True, check=True).stdout
    compact = "".join(text.split())  # a long unit name wraps onto two lines of the stamp
    for expected in ("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่", "เลขรับ๑", "วันที่๓๐มี.ค.๒๕๖๗", "เวลา๑๐.๓๐น."):
        assert expected in compact, expected
    assert "เลขรับ๒" not in compact  # Krabi's first receipt; Samut Prakan's number is its own
    assert "ที่ มท ๐๘๒๐.๒/ว ๑" in text  # the letter itself is still there


def test_a_cancelled_letter_keeps_its_number(db, settings):
    from saraban.chain.circulars import cancel_letter
    from saraban.records.models import Event

    a = issue(db, settings)
    with pytest.raises(CircularError, match="reason"):
        cancel_letter(db, a.letter_id, reason=" ")
    line = cancel_letter(db, a.letter_id, reason="ส่งผิดเรื่อง", actor="สมศรี", at=AT)
    assert line == 2 and cancel_letter(db, a.letter_id, reason="ซ้ำ", at=AT) == 2
    b = issue(db, settings, subject="เรื่องใหม่")
    assert b.ref == "มท 0820.2/ว 3"
    with db.transaction() as s:
        lines = entries(s, s.get(Letter, a.letter_id).unit_id, 2567, "circular")
        assert [(x.number, x.action) for x in lines][:2] == [(1, "ส่ง 76 หน่วยงาน"), (2, "ยกเลิก")]
        assert lines[1].note == "ยกเลิกเลขที่ 1: ส่งผิดเรื่อง" and lines[1].cancels_id == lines[0].id
        kinds = s.scalars(select(Event.kind).where(Event.kind == "register.cancelled")).all()
        assert kinds == ["register.cancelled"]


def test_whether_a_letter_was_cancelled_is_found_by_index(tmp_path):
    """Asked at every hop of a cascade, inside its write transaction: the register is not read whole (a national
    circular's 9,000 lines made that ~3 ms a hop; migration 0011)."""
    from saraban.chain.cancellations import is_cancelled
    from tests.dbs import fresh_database

    db = fresh_database("sqlite", tmp_path)
    query = select(Letter.id, is_cancelled(Letter.id)).where(Letter.id == 1)
    with db.reading() as s:
        compiled = query.compile(dialect=s.get_bind().dialect, compile_kwargs={"literal_binds": True})
        plan = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    steps = [row[-1] for row in plan]
    assert any("register_entries USING INDEX ix_register_cancelled_letter" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps
    db.engine.dispose()
