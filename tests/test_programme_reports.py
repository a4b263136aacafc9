"""The report of a programme's applications (.xlsx, .docx, chart), on SQLite and PostgreSQL: the figures,
and those read back from the files, are exactly those of the data.

PostgreSQL cases need ``SARABAN_TEST_POSTGRES_URL``; without it they are skipped.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from types import SimpleNamespace

import openpyxl
import pytest
from docx import Document
from PIL import Image
from sqlalchemy import select

from saraban.directory.levels import BANGKOK, LEVEL_NAMES, provinces
from saraban.directory.skeleton import add_synthetic_local_layer
from saraban.kernel.clock import BANGKOK as THAI_TZ
from saraban.records.models import Application, Delivery, Letter, Programme, Reminder, Unit
from saraban.reports.programmes import (
    APPLICANT_HEADERS,
    KIND_TH,
    MAIL_TH,
    NO_PROVINCE,
    NOT_ASSESSED,
    PROVINCE_HEADERS,
    REMINDER_HEADERS,
    SHEETS,
    coverage_chart_png,
    programme_figures,
    step_text,
    write_programme_report,
)
from tests.dbs import add_unit, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.sheets import shown
from thai_text import to_thai_digits

AT = datetime(2022, 2, 20, 9, 30, tzinfo=THAI_TZ)
NAMES = {p.code: p.name for p in provinces()}
SHIPPED = ("muni.7005.banpong", "muni.7005.boekphrai", "muni.7005.krapyai", "muni.9011.phatong",
           "muni.1913.naphralan", "muni.8101.krabi")


def _letter(session, unit_id: int, ref: str, number: int) -> Letter:
    letter = Letter(unit_id=unit_id, kind="external", ref_text=ref, year=2565, number=number,
                    letter_date=AT.date(), subject="โครงการเมืองน่าอยู่", spec={},
                    spec_hash=hashlib.sha256(f"{ref}/{number}".encode()).hexdigest(),  # one letter per spec
                    created_at=AT)
    session.add(letter)
    session.flush()
    return letter


def _data(db):
    """The programme of field-examples §2: eligible = the shipped municipalities, the synthetic layer of
    อำเภอเมืองกระบี่ and a city of Chiang Mai; seven applications (one of a unit not eligible); reminders."""
    cm = add_unit(db, "test.cm.city", "เทศบาลนครเชียงใหม่", level="city_municipality", province_code="50")
    with db.transaction() as session:
        added = add_synthetic_local_layer(session, district="amphoe.8101")
        owner = session.scalar(select(Unit).where(Unit.key == "ts"))
        keys = [*SHIPPED]
        eligible = list(session.scalars(select(Unit).where(Unit.key.in_(keys))))
        synthetic = list(session.scalars(select(Unit).where(Unit.key.like("syn.8101%")).order_by(Unit.key)))
        eligible += synthetic + [session.get(Unit, cm)]
        invitation = _letter(session, owner.id, "ทส 0307/ว 100", 100)
        programme = Programme(key="eco-town-2565", name="โครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ",
                              owner_unit_id=owner.id, year=2565, fiscal_year=2565,
                              opens_at=datetime(2022, 1, 10, tzinfo=THAI_TZ),
                              closes_at=datetime(2022, 2, 28, 16, 30, tzinfo=THAI_TZ),
                              definition={"structure": {"levels": [
                                  {"name": n} for n in ("ระดับส่งเสริม", "ทองแดง", "เงิน", "ทอง", "แพลทินัม")]}},
                              invitation_letter_id=invitation.id, created_at=datetime(2022, 1, 5, tzinfo=THAI_TZ))
        other = Programme(key="other", name="อื่น", owner_unit_id=owner.id, year=2565, opens_at=AT, closes_at=AT,
                          definition={}, created_at=AT)
        session.add_all([programme, other])
        session.flush()
        by_key = {u.key: u for u in session.scalars(select(Unit))}
        apply = [("muni.7005.banpong", "ทอง", 2, {"name": "นายสมชาย ใจดี", "position": "ปลัดเทศบาล",
                                                             "email": "a@banpong.go.th"}),
                 ("muni.7005.krapyai", None, 1, {"name": "นางสาวสมศรี", "email": "k@krapyai.go.th"}),
                 ("muni.9011.phatong", "เงิน", 1, {"name": "นายพะตง", "phone": "074-000000"}),
                 (synthetic[0].key, "ทอง", 1, {"name": "ก"}),
                 (synthetic[1].key, "ระดับส่งเสริม", 1, {}),
                 ("test.cm.city", "แพลทินัม", 3, {"email": "cm@cm.go.th"}),
                 ("pao.30", None, 1, {"name": "อบจ."})]  # not eligible
        for i, (key, level, revision, contact) in enumerate(apply):
            session.add(Application(programme_id=programme.id, unit_id=by_key[key].id, contact=contact,
                                    provisional_level=level, revision=revision,
                                    submitted_at=datetime(2022, 2, 1 + i, 10, 15, tzinfo=THAI_TZ), updated_at=AT))
        session.add(Application(programme_id=other.id, unit_id=by_key["muni.7005.boekphrai"].id, contact={},
                                submitted_at=AT, updated_at=AT))
        delivery = Delivery(letter_id=invitation.id, unit_id=by_key["muni.1913.naphralan"].id, token="t1", sent_at=AT)
        session.add(delivery)
        session.flush()
        reminder_letter = _letter(session, owner.id, "ทส 0307/ว 150", 150)
        reminders = [
            Reminder(kind="receipt", about=f"delivery:{delivery.id}", unit_id=by_key["muni.1913.naphralan"].id,
                     addressee_id=by_key["muni.1913.naphralan"].id, step="after-7d", mail_status="sent",
                     created_at=datetime(2022, 1, 20, 9, 0, tzinfo=THAI_TZ),
                     mailed_at=datetime(2022, 1, 20, 9, 1, tzinfo=THAI_TZ)),
            Reminder(kind="deadline", about=f"programme:{programme.id}", unit_id=by_key["muni.7005.boekphrai"].id,
                     addressee_id=by_key["amphoe.7005"].id, step="before-3d", letter_id=reminder_letter.id,
                     mail_status="failed", created_at=datetime(2022, 2, 25, 8, 0, tzinfo=THAI_TZ)),
            Reminder(kind="deadline", about=f"programme:{programme.id}", unit_id=by_key["muni.8101.krabi"].id,
                     addressee_id=by_key["muni.8101.krabi"].id, step="before-3d", letter_id=reminder_letter.id,
                     mail_status=None, created_at=datetime(2022, 2, 25, 8, 0, tzinfo=THAI_TZ)),
            Reminder(kind="deadline", about=f"programme:{other.id}", unit_id=by_key["muni.8101.krabi"].id,
                     addressee_id=by_key["muni.8101.krabi"].id, step="after-1d", created_at=AT),
        ]
        session.add_all(reminders)
    return SimpleNamespace(programme_key=programme.key, eligible_keys=[u.key for u in eligible], applied=apply,
                           synthetic=len(synthetic), added=added)


def _load(session, data):
    programme = session.scalar(select(Programme).where(Programme.key == data.programme_key))
    eligible = list(session.scalars(select(Unit).where(Unit.key.in_(data.eligible_keys))))
    return programme, eligible


def test_figures_are_those_of_the_data(db, settings):
    data = _data(db)
    with db.transaction() as session:
        programme, eligible = _load(session, data)
        f = programme_figures(session, programme, eligible, at=AT)
        units = {u.key: u for u in session.scalars(select(Unit))}
    assert data.synthetic == data.added > 2
    assert f.at == AT and f.year == 2565 and f.owner_name == "กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม"
    # Per province: 76 provinces (no Bangkok), code order, counted by hand.
    codes = [p.code for p in f.provinces]
    assert len(codes) == 76 and BANGKOK not in codes and codes == sorted(codes)
    expected_eligible = {"70": 3, "90": 1, "19": 1, "81": 1 + data.synthetic, "50": 1}
    expected_applicants = {"70": 2, "90": 1, "81": 2, "50": 1, "30": 1}
    for p in f.provinces:
        assert p.name == NAMES[p.code]
        assert p.eligible == expected_eligible.get(p.code, 0), p.code
        assert p.applicants == expected_applicants.get(p.code, 0), p.code
        assert p.eligible_applicants == expected_applicants.get(p.code, 0) * (p.code != "30")
    by_code = {p.code: p for p in f.provinces}
    assert by_code["70"].share == pytest.approx(200 / 3)
    assert by_code["81"].share == pytest.approx(200 / (1 + data.synthetic))
    assert by_code["30"].share is None and by_code["19"].share == 0
    # Provinces without applicant: all the others, by code.
    assert f.missing_provinces == [NAMES[c] for c in sorted(NAMES) if c != BANGKOK and c not in expected_applicants]
    assert len(f.missing_provinces) == 71 and f.provinces_covered == 5 and f.province_count == 76
    # Per level.
    levels = {lv.level: (lv.name, lv.eligible, lv.applicants, lv.eligible_applicants) for lv in f.levels}
    assert levels == {
        "pao": (LEVEL_NAMES["pao"], 0, 1, 0),
        "city_municipality": (LEVEL_NAMES["city_municipality"], 1, 1, 1),
        "town_municipality": (LEVEL_NAMES["town_municipality"], 2, 1, 1),
        "subdistrict_municipality": (LEVEL_NAMES["subdistrict_municipality"], 4, 2, 2),
        "sao": (LEVEL_NAMES["sao"], data.synthetic, 2, 2),
    }
    assert [lv.level for lv in f.levels] == ["pao", "city_municipality", "town_municipality",
                                             "subdistrict_municipality", "sao"]
    assert (f.eligible_total, f.applicants_total, f.eligible_applicants) == (7 + data.synthetic, 7, 6)
    assert sum(p.eligible for p in f.provinces) == f.eligible_total
    assert sum(p.applicants for p in f.provinces) == f.applicants_total
    # Provisional levels in the definition's order, the unassessed last.
    assert f.provisional_levels == {"ระดับส่งเสริม": 1, "เงิน": 1, "ทอง": 2, "แพลทินัม": 1, NOT_ASSESSED: 2}
    assert list(f.provisional_levels) == ["ระดับส่งเสริม", "เงิน", "ทอง", "แพลทินัม", NOT_ASSESSED]
    # Applications: one each, with unit, province and contact.
    assert sorted(a.unit_key for a in f.applications) == sorted(k for k, *_ in data.applied)
    banpong = next(a for a in f.applications if a.unit_key == "muni.7005.banpong")
    assert (banpong.province_name, banpong.revision, banpong.contact_name, banpong.contact_email,
            banpong.provisional_level, banpong.eligible) == ("ราชบุรี", 2, "นายสมชาย ใจดี", "a@banpong.go.th",
                                                              "ทอง", True)
    assert banpong.submitted_at == datetime(2022, 2, 1, 10, 15, tzinfo=THAI_TZ)
    assert not next(a for a in f.applications if a.unit_key == "pao.30").eligible
    # Reminders: this programme's and its invitation's, not the other programme's.
    assert [(r.kind, r.step, r.unit_id) for r in f.reminders] == [
        ("receipt", "after-7d", units["muni.1913.naphralan"].id),
        ("deadline", "before-3d", units["muni.7005.boekphrai"].id),
        ("deadline", "before-3d", units["muni.8101.krabi"].id)]
    assert f.reminders[1].letter_ref == "ทส 0307/ว 150" and f.reminders[1].addressee_name == "ที่ว่าการอำเภอบ้านโป่ง"
    assert f.reminders_by_kind == {"receipt": 1, "deadline": 2}
    assert f.reminders_by_step == {"after-7d": 1, "before-3d": 2}
    assert f.reminders_by_status == {"sent": 1, "failed": 1, None: 1}


def test_bangkok_and_units_without_a_province_get_rows(db, settings):
    data = _data(db)
    bkk = add_unit(db, "test.bkk", "สำนักงานเขตพระนคร", level="other", province_code=BANGKOK)
    nowhere = add_unit(db, "test.nowhere", "หน่วยงานกลาง", level="other")
    with db.transaction() as session:
        programme, eligible = _load(session, data)
        f = programme_figures(session, programme, [*eligible, session.get(Unit, bkk), session.get(Unit, nowhere)],
                              at=AT)
    assert len(f.provinces) == 78
    assert f.provinces[-1].name == NO_PROVINCE and f.provinces[-1].eligible == 1
    assert any(p.code == BANGKOK and p.eligible == 1 for p in f.provinces)
    assert f.province_count == 77 and len(f.missing_provinces) == 72
    assert NAMES[BANGKOK] in f.missing_provinces and NO_PROVINCE not in f.missing_provinces


def test_eligible_units_come_from_programmes_when_not_given(db, settings):
    pytest.importorskip("saraban.programmes.applications")
    data = _data(db)
    with db.transaction() as session:
        programme, _ = _load(session, data)
        programme.definition = {**programme.definition,
                                "eligible": {"levels": ["municipality"], "areas": ["ราชบุรี", "สงขลา"]}}
        session.flush()
        f = programme_figures(session, programme, at=AT)
    assert f.eligible_total == 4 and f.eligible_applicants == 3 and f.applicants_total == 7
    assert {p.code: p.eligible for p in f.provinces if p.eligible} == {"70": 3, "90": 1}
    assert f.window.startswith("ตั้งแต่วันที่ ")


def test_chart_png(db, settings, tmp_path):
    data = _data(db)
    with db.transaction() as session:
        programme, eligible = _load(session, data)
        f = programme_figures(session, programme, eligible, at=AT)
    path = coverage_chart_png(f, tmp_path / "chart.png", settings)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1600, 2400)
        rgb = image.convert("RGB")
        colours = {c for _, c in rgb.getcolors(maxcolors=1 << 20)}
    assert (0xd6, 0x27, 0x28) in colours and (0x1f, 0x5f, 0xa8) in colours  # zero provinces red, others blue
    assert (settings.data_dir / "fonts" / "SarabanTH-Regular.ttf").exists()


def _t(n) -> str:
    return to_thai_digits(str(n))


def test_xlsx_and_docx_read_back(db, settings, tmp_path):
    data = _data(db)
    with db.transaction() as session:
        programme, eligible = _load(session, data)
        f = programme_figures(session, programme, eligible, at=AT)
        paths = write_programme_report(session, programme, tmp_path / "out", settings, eligible=eligible, at=AT)
    xlsx, docx, png = paths
    assert [p.name for p in paths] == ["programme-eco-town-2565.xlsx", "programme-eco-town-2565.docx",
                                       "programme-eco-town-2565.png"]
    title = "รายงานผลการรับสมัครโครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ ประจำปี ๒๕๖๕"
    at_line = "ข้อมูล ณ วันที่ ๒๐ ก.พ. ๒๕๖๕ ๐๙.๓๐ น."

    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == list(SHEETS)
    ws = wb["สรุปรายจังหวัด"]
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == title and at_line in [r[0] for r in values]
    head = [r for r in values if r[0] == "ลำดับ"][0]
    assert tuple(head) == PROVINCE_HEADERS
    body = values[values.index(head) + 1:]
    assert len(body) == 77 and body[-1][1] == "รวม"
    # Counts and shares are numbers (SUM works), shown in Thai digits by their number format.
    assert body[-1][2:4] == (f.eligible_total, 7)
    assert [sum(r[c] for r in body[:-1]) for c in (2, 3)] == [f.eligible_total, 7]
    for row, p in zip(body, f.provinces, strict=False):
        assert row[1] == p.name and row[2] == p.eligible and row[3] == p.applicants
    ratchaburi = next(r for r in body if r[1] == "ราชบุรี")
    assert ratchaburi[2:] == (3, 2, 66.7)
    assert next(r for r in body if r[1] == "นครราชสีมา")[2:] == (0, 1, "-")
    at = values.index(head) + 2 + next(i for i, r in enumerate(body) if r[1] == "ราชบุรี")
    cells = [ws.cell(row=at, column=c) for c in range(1, 6)]
    assert [c.data_type for c in cells] == ["n", "s", "n", "n", "n"]
    assert [c.number_format for c in cells[2:]] == ["[$-D00041E]#,##0", "[$-D00041E]#,##0", "[$-D00041E]0.0"]
    assert [shown(c) for c in cells[2:]] == ["๓", "๒", "๖๖.๗"]
    assert ws.print_title_rows and ws.page_setup.orientation == "landscape"
    assert ws.cell(row=values.index(head) + 1, column=1).font.name == "TH SarabunIT๙"

    ws = wb["รายระดับ"]
    rows = list(ws.iter_rows(values_only=True))
    assert (LEVEL_NAMES["sao"], data.synthetic, 2, round(200 / data.synthetic, 1)) in rows

    ws = wb["จังหวัดที่ยังไม่มีผู้สมัคร"]
    rows = list(ws.iter_rows(values_only=True))
    head = rows.index(("ลำดับ", "รหัสจังหวัด", "จังหวัด", "หน่วยงานที่มีสิทธิ์สมัคร"))
    assert [r[2] for r in rows[head + 1:]] == f.missing_provinces
    assert next(r for r in rows if r[2] == "สระบุรี")[1:] == ("๑๙", "สระบุรี", 1)  # the code is text

    ws = wb["ผู้สมัคร"]
    rows = list(ws.iter_rows(values_only=True))
    head = rows.index(APPLICANT_HEADERS)
    applicants = rows[head + 1:]
    assert len(applicants) == 7
    banpong = next(r for r in applicants if r[1] == "เทศบาลเมืองบ้านโป่ง")
    assert [r[0] for r in applicants] == list(range(1, 8))
    assert banpong[2:] == (LEVEL_NAMES["town_municipality"], "ราชบุรี", "๑ ก.พ. ๒๕๖๕ ๑๐.๑๕ น.", 2, "นายสมชาย ใจดี",
                           "ปลัดเทศบาล", "a@banpong.go.th", None, "ทอง")  # an empty cell reads back as None
    assert next(r for r in applicants if r[1] == "เทศบาลตำบลพะตง")[9] == "๐๗๔-๐๐๐๐๐๐"

    ws = wb["ประวัติการทวงถาม"]
    rows = list(ws.iter_rows(values_only=True))
    assert "ทวงถามแล้ว ๓ ครั้ง" in [r[0] for r in rows]
    head = next(i for i, r in enumerate(rows) if r[0] == "ลำดับ")
    history = rows[head + 1:]
    assert [r[1] for r in history] == ["เทศบาลตำบลหน้าพระลาน", "เทศบาลตำบลเบิกไพร", "เทศบาลเมืองกระบี่"]
    assert history[1][2:] == ("ที่ว่าการอำเภอบ้านโป่ง", KIND_TH["deadline"], "๓ วันก่อนปิดรับสมัคร", "ทส ๐๓๐๗/ว ๑๕๐",
                              MAIL_TH["failed"], "๒๕ ก.พ. ๒๕๖๕ ๐๘.๐๐ น.", None)
    assert history[0][6:] == (MAIL_TH["sent"], "๒๐ ม.ค. ๒๕๖๕ ๐๙.๐๐ น.", "๒๐ ม.ค. ๒๕๖๕ ๐๙.๐๑ น.")
    assert history[2][6] == MAIL_TH[None]

    doc = Document(docx)
    text = [p.text for p in doc.paragraphs]
    assert text[0] == title and at_line in text
    assert text[1] == "กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม" and text[2].startswith("ระยะเวลารับสมัคร ")
    assert "๒๘" in text[2] and "๑๖.๓๐ น." in text[2]
    assert f"หน่วยงานที่มีสิทธิ์สมัคร {_t(f.eligible_total)} แห่ง สมัครแล้ว ๖ แห่ง (ร้อยละ " \
           f"{to_thai_digits(f'{600 / f.eligible_total:.1f}')})" in text
    assert "จังหวัดที่มีผู้สมัคร ๕ จังหวัด จาก ๗๖ จังหวัด ยังไม่มีผู้สมัคร ๗๑ จังหวัด" in text
    assert "จังหวัดที่ยังไม่มีผู้สมัคร ๗๑ จังหวัด: " + ", ".join(f.missing_provinces) in text
    assert not any("{{" in t or "{%" in t for t in text)
    provinces_table, levels_table, provisional_table, reminders_table = doc.tables

    def cells(table):
        return [[c.text for c in row.cells] for row in table.rows]

    rows = cells(provinces_table)
    assert tuple(rows[0]) == PROVINCE_HEADERS and len(rows) == 1 + 76 + 1
    assert rows[1:-1] == [[_t(i), p.name, _t(p.eligible), _t(p.applicants),
                           "-" if p.share is None else to_thai_digits(f"{p.share:.1f}")]
                          for i, p in enumerate(f.provinces, 1)]
    assert rows[-1][1:4] == ["รวม", _t(f.eligible_total), "๗"]
    rows = cells(levels_table)
    assert [r[0] for r in rows[1:-1]] == [lv.name for lv in f.levels]
    assert rows[-1][:3] == ["รวม", _t(f.eligible_total), "๗"]
    assert cells(provisional_table)[1:] == [["ระดับส่งเสริม", "๑"], ["เงิน", "๑"], ["ทอง", "๒"], ["แพลทินัม", "๑"],
                                            [NOT_ASSESSED, "๒"]]
    rows = cells(reminders_table)
    assert tuple(rows[0]) == REMINDER_HEADERS
    assert rows[2] == ["๒", "เทศบาลตำบลเบิกไพร", KIND_TH["deadline"], step_text("before-3d"), "ทส ๐๓๐๗/ว ๑๕๐",
                       MAIL_TH["failed"], "๒๕ ก.พ. ๒๕๖๕ ๐๘.๐๐ น."]
    assert len(rows) == 4
    # The chart: one PNG in the package, 15 cm wide, the size it was drawn.
    shapes = doc.inline_shapes
    assert len(shapes) == 1 and abs(shapes[0].width.cm - 15) < 0.01
    assert abs(shapes[0].height.cm - 22.5) < 0.01
    with zipfile.ZipFile(docx) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
        assert len(media) == 1 and media[0].endswith(".png")
        embedded = z.read(media[0])
    assert embedded == png.read_bytes()
    with Image.open(io.BytesIO(embedded)) as image:
        assert image.size == (1600, 2400)


def test_no_reminders_and_arabic_digits(db, settings, tmp_path):
    data = _data(db)
    with db.transaction() as session:
        programme, eligible = _load(session, data)
        for r in session.scalars(select(Reminder)):
            session.delete(r)
        session.flush()
        _, docx, _ = write_programme_report(session, programme, tmp_path, settings, eligible=eligible, at=AT,
                                            digits="arabic")
    doc = Document(docx)
    text = [p.text for p in doc.paragraphs]
    assert "ยังไม่มีการทวงถาม" in text
    assert "จังหวัดที่มีผู้สมัคร 5 จังหวัด จาก 76 จังหวัด ยังไม่มีผู้สมัคร 71 จังหวัด" in text
    assert len(doc.tables) == 3  # no reminder table
