"""The programme owner's dashboard on the web (issue 11, point 2): the owner's people see applications by
province and level, the 76 provinces covered or not, who has not applied with their contact, the reminders
and their e-mails' outcome; every figure is that of the report's .xlsx; filters; nobody else sees anything.

Applications are made with the core's apply() (what the apply page calls), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import openpyxl
from sqlalchemy import select

from saraban.directory.levels import LEVEL_NAMES, provinces
from saraban.kernel.clock import now
from saraban.records.models import Application, Programme, Reminder, Unit
from saraban.reports.programmes import LEVEL_HEADERS, MAIL_TH, PROVINCE_HEADERS
from tests.sheets import shown
from tests.web import PROGRAMME_KEY, web_world  # noqa: F401  (the web fixture)
from thai_text import to_thai_digits

DASHBOARD = f"/programmes/{PROGRAMME_KEY}"
NAMES = {p.code: p.name for p in provinces()}
CONTACT = {"name": "นางสาวสมศรี รักเมือง", "position": "นักวิชาการสิ่งแวดล้อม", "phone": "075-611-000",
           "email": "somsri@krabi-town.example.org"}


def apply_for(web, unit_key: str, **contact) -> None:
    from saraban.programmes.applications import apply

    apply(web.db, web.settings, PROGRAMME_KEY, unit_key, contact={**CONTACT, **contact}, actor="town.clerk")


def cells(page: str, row: str) -> list[list[str]]:
    """The text of the cells of the page's rows ``data-row="<row>"``."""
    found = []
    for tr in re.findall(rf'<tr data-row="{row}"[^>]*>(.*?)</tr>', page, re.S):
        found.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                      for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)])
    return found


def figure(page: str, name: str) -> str:
    return html.unescape(re.search(rf'data-figure="{name}">([^<]*)<', page)[1])


def tile(page: str, code: str) -> str:
    """The class of a province's tile on the map."""
    return re.search(rf'<li class="tile ([^"]*)" data-province="{code}">', page)[1]


def sheet_rows(wb, name: str, headers: tuple[str, ...]) -> list[tuple]:
    """The rows under ``headers`` as shown: number cells (counts, shares) in Thai digits by their format."""
    rows = [tuple(shown(c) for c in r) for r in wb[name].iter_rows()]
    return rows[rows.index(headers) + 1:]


def test_the_owners_clerk_sees_the_province_covered_after_an_application(web) -> None:
    web.programme()
    clerk = web.client("deqp.clerk")
    before = clerk.get(DASHBOARD)
    assert before.status_code == 200, before.text
    assert tile(before.text, "81") == "missing" and figure(before.text, "provinces_covered") == "๐"
    assert "ยังไม่มีผู้สมัคร" in before.text

    apply_for(web, "muni.8101.krabi")
    page = clerk.get(DASHBOARD)  # at once: what the dashboard read before is not shown again
    assert page.status_code == 200
    assert tile(page.text, "81") == "covered" and tile(page.text, "83") == "missing"
    assert figure(page.text, "provinces_covered") == "๑" and figure(page.text, "province_count") == "๗๖"
    assert figure(page.text, "provinces_missing") == "๗๕"
    assert "ยังไม่มีผู้สมัคร ๑ จาก" not in page.text  # the tile says it in words too
    assert re.search(r'data-province="81">\s*<a [^>]*>\s*<span class="name">กระบี่</span>\s*'
                     r'<span class="count">๑/[๐-๙]+</span>\s*<span class="state">มีผู้สมัคร ๑ จาก', page.text)
    with web.db.reading() as s:
        application = s.scalar(select(Application))
        town = s.scalar(select(Unit).where(Unit.key == "muni.8101.krabi"))
    # The application row, linking to the assessment page, with its contact.
    assert f'href="/programmes/{PROGRAMME_KEY}/applications/{application.id}">{town.name}</a>' in page.text
    assert CONTACT["name"] in page.text and CONTACT["email"] in page.text and to_thai_digits(CONTACT["phone"]) \
        in page.text
    # Patong has not applied: listed with its e-mail.
    waiting = re.search(r'<tr data-unit="muni.8301.patong">(.*?)</tr>', page.text, re.S)[1]
    assert "เทศบาลเมืองป่าตอง" in waiting and "mailto:patong@example.org" in waiting and "ภูเก็ต" in waiting
    assert 'data-unit="muni.8101.krabi"' not in page.text
    # The list of the office's programmes, with its counts.
    listing = clerk.get("/programmes")
    assert listing.status_code == 200 and f'href="{DASHBOARD}"' in listing.text
    line = re.search(rf'<tr data-programme="{PROGRAMME_KEY}">(.*?)</tr>', listing.text, re.S)[1]
    assert re.findall(r'<td class="num">([^<]*)</td>', line)[1:] == ["๑", "๑ / ๗๖"]
    # A second applicant: its province covered at once too.
    apply_for(web, "muni.8301.patong", email="patong-contact@example.org")
    page = clerk.get(DASHBOARD)
    assert tile(page.text, "83") == "covered" and figure(page.text, "provinces_covered") == "๒"
    assert 'data-unit="muni.8301.patong"' not in page.text


def test_every_figure_of_the_page_is_that_of_the_xlsx(web) -> None:
    web.programme()
    apply_for(web, "muni.8101.krabi")
    apply_for(web, "muni.8301.patong")
    head = web.client("deqp.head")
    page = head.get(DASHBOARD).text
    report = head.get(f"{DASHBOARD}/report.xlsx")
    assert report.status_code == 200 and report.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f"programme-{PROGRAMME_KEY}.xlsx" in report.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(report.content))

    by_province = sheet_rows(wb, "สรุปรายจังหวัด", PROVINCE_HEADERS)
    page_provinces = cells(page, "province") + [["", *cells(page, "province-total")[0][1:]]]
    assert [list(r) for r in by_province] == page_provinces
    assert len(page_provinces) == 77 and page_provinces[-1][1] == "รวม"
    by_level = sheet_rows(wb, "รายระดับ", LEVEL_HEADERS)
    assert [list(r) for r in by_level] == cells(page, "level") + cells(page, "level-total")
    missing = sheet_rows(wb, "จังหวัดที่ยังไม่มีผู้สมัคร", ("ลำดับ", "รหัสจังหวัด", "จังหวัด", "หน่วยงานที่มีสิทธิ์สมัคร"))
    assert len(missing) == 74 and to_thai_digits(str(len(missing))) == figure(page, "provinces_missing")
    assert f"จังหวัดที่ยังไม่มีผู้สมัคร ๗๔ จังหวัด: {', '.join(r[2] for r in missing)}" in html.unescape(page)
    totals = [r[0] for r in wb["สรุปรายจังหวัด"].iter_rows(values_only=True) if r[0]]
    eligible, applied, share = (figure(page, k) for k in ("eligible_total", "eligible_applicants", "share"))
    assert f"หน่วยงานที่มีสิทธิ์สมัคร {eligible} แห่ง สมัครแล้ว {applied} แห่ง (ร้อยละ {share})" in totals
    assert (f"จังหวัดที่มีผู้สมัคร {figure(page, 'provinces_covered')} จังหวัด จาก {figure(page, 'province_count')} "
            f"จังหวัด ยังไม่มีผู้สมัคร {figure(page, 'provinces_missing')} จังหวัด") in totals
    applicants = list(wb["ผู้สมัคร"].iter_rows(values_only=True))
    assert figure(page, "applicants_total") == "๒" and len(applicants) - applicants.index(
        next(r for r in applicants if r[0] == "ลำดับ")) - 1 == 2
    # The other downloads of the report that exist today.
    docx = head.get(f"{DASHBOARD}/report.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    png = head.get(f"{DASHBOARD}/report.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert head.get(f"{DASHBOARD}/report.pdf").status_code == 404


def test_filters_by_province_and_level(web) -> None:
    web.programme()
    apply_for(web, "muni.8101.krabi")
    apply_for(web, "muni.8301.patong")
    clerk = web.client("deqp.clerk")
    whole = clerk.get(DASHBOARD).text
    krabi = clerk.get(DASHBOARD, params={"province": "กระบี่"})
    assert krabi.status_code == 200
    assert figure(krabi.text, "applicants_total") == "๑" and "เทศบาลเมืองกระบี่</a>" in krabi.text
    assert "เทศบาลเมืองป่าตอง</a>" not in krabi.text and 'data-unit="muni.8301.patong"' not in krabi.text
    assert 'class="tile covered current" data-province="81"' in krabi.text  # the map keeps every province
    assert cells(krabi.text, "province") == cells(whole, "province")
    assert clerk.get(DASHBOARD, params={"province": "81"}).text.count("เทศบาลเมืองกระบี่</a>") == 1
    # By level: อบต. has no applicant; the town municipalities have both.
    sao = clerk.get(DASHBOARD, params={"level": "อบต."})
    assert sao.status_code == 200 and figure(sao.text, "applicants_total") == "๐"
    assert figure(sao.text, "provinces_covered") == "๐" and tile(sao.text, "81") == "missing"
    assert [r[0] for r in cells(sao.text, "level")] == [LEVEL_NAMES["sao"]] or cells(sao.text, "level") == []
    towns = clerk.get(DASHBOARD, params={"level": "town_municipality", "province": "Phuket"})
    assert towns.status_code == 200 and figure(towns.text, "applicants_total") == "๑"
    assert "เทศบาลเมืองป่าตอง</a>" in towns.text and [r[0] for r in cells(towns.text, "level")] == [
        LEVEL_NAMES["town_municipality"]]
    # Unknown: a clear message, the whole programme shown, nothing filtered.
    for params, said in (({"province": "แอตแลนติส"}, "ไม่พบจังหวัด"), ({"level": "หมู่บ้าน"}, "ไม่รู้จักระดับหน่วยงาน"),
                         ({"province": "<script>x</script>"}, "ไม่พบจังหวัด")):
        bad = clerk.get(DASHBOARD, params=params)
        assert bad.status_code == 400 and said in bad.text and 'role="alert"' in bad.text
        assert figure(bad.text, "applicants_total") == "๒" and "<script>x" not in bad.text
    assert clerk.get(DASHBOARD, params={"page": "99999999999"}).status_code == 422  # beyond any list


def test_nobody_else_sees_the_programme(web) -> None:
    world = web.programme()
    apply_for(web, "muni.8101.krabi")
    paths = [DASHBOARD, f"{DASHBOARD}/report.xlsx", f"{DASHBOARD}/report.docx", f"{DASHBOARD}?province=81"]
    for who in ("phuket.clerk", "phuket.head", "patong.clerk", "town.clerk", "town.head", "krabi.clerk",
                "deqp.assessor2"):
        client = web.client(who)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 404, (who, path, response.status_code)
            assert CONTACT["name"] not in response.text
        listing = client.get("/programmes")
        assert listing.status_code in (200, 403) and f'href="{DASHBOARD}"' not in listing.text
    assert web.client("deqp.assessor2").get("/programmes").status_code == 200
    for who in ("krabi.staff", "krabi.admin"):  # roles that watch nothing
        assert web.client(who).get("/programmes").status_code == 403
    # The appointed assessor sees it; an unknown programme is a 404 like another office's.
    assessor = web.client("deqp.assessor")
    assert f'href="{DASHBOARD}"' in assessor.get("/programmes").text
    assert assessor.get(DASHBOARD).status_code == 200
    assert assessor.get("/programmes/no-such-programme").status_code == 404
    assert world.key == PROGRAMME_KEY


def test_reminders_and_their_refused_and_failed_emails_are_shown_first(web) -> None:
    web.programme(closes=now() + timedelta(days=2))
    with web.db.transaction() as s:
        programme = s.scalar(select(Programme).where(Programme.key == PROGRAMME_KEY))
        units = {u.key: u for u in s.scalars(select(Unit).where(Unit.key.in_(
            ["muni.8101.krabi", "muni.8301.patong", "muni.7005.banpong"])))}
        at = now()
        for i, (key, status) in enumerate((("muni.7005.banpong", "sent"), ("muni.8301.patong", "refused"),
                                           ("muni.8101.krabi", "failed"))):
            s.add(Reminder(kind="deadline", about=f"programme:{programme.id}", unit_id=units[key].id,
                           addressee_id=units[key].id, step="before-3d", mail_status=status,
                           created_at=at + timedelta(minutes=i), mailed_at=None if status == "failed" else at))
        s.add(Reminder(kind="deadline", about="programme:999999", unit_id=units["muni.8101.krabi"].id,
                       addressee_id=units["muni.8101.krabi"].id, step="before-3d", mail_status="refused",
                       created_at=at))  # another programme's
    page = web.client("deqp.clerk").get(DASHBOARD).text
    rows = re.findall(r'<tr data-reminder="\d+"( class="problem")?>(.*?)</tr>', page, re.S)
    assert len(rows) == 3
    statuses = [re.search(r'data-mail="([^"]+)">([^<]*)<', r)[2] for _, r in rows]
    assert statuses == [MAIL_TH["failed"], MAIL_TH["refused"], MAIL_TH["sent"]]  # problems first, newest first
    assert [bool(c) for c, _ in rows] == [True, True, False]
    assert "อีเมลทวงถามส่งไม่ถึง ๒ ครั้ง" in page and "๓ วันก่อนปิดรับสมัคร" in page
    assert f'data-mail="refused">{MAIL_TH["refused"]} ๑<' in page
    # The xlsx's history says the same.
    wb = openpyxl.load_workbook(io.BytesIO(web.client("deqp.clerk").get(f"{DASHBOARD}/report.xlsx").content))
    lines = [r[0] for r in wb["ประวัติการทวงถาม"].iter_rows(values_only=True) if r[0]]
    assert "ทวงถามแล้ว ๓ ครั้ง" in lines and any("ถูกปฏิเสธ ๑" in line and "ส่งไม่สำเร็จ ๑" in line for line in lines)
    # Filtered to Phuket: its refused reminder only.
    phuket = web.client("deqp.clerk").get(DASHBOARD, params={"province": "83"}).text
    assert len(re.findall(r'<tr data-reminder=', phuket)) == 1 and MAIL_TH["refused"] in phuket


def test_the_invited_units_receive_register_says_it_applied(web) -> None:
    """การปฏิบัติ of a received invitation: the unit's application (what the records know was done)."""
    from saraban.chain.circulars import receive
    from saraban.kernel.clock import as_thai
    from saraban.reports.registers import APPLIED, register_rows
    from thai_text import be_year, format_thai_date

    world = web.programme()
    receive(web.db, web.settings, world.invitation.letter_id, "muni.8101.krabi", actor="town.clerk")
    with web.db.reading() as s:
        krabi = s.scalar(select(Unit.id).where(Unit.key == "muni.8101.krabi"))
        year = be_year(as_thai(now()).date())
        (before,) = register_rows(s, krabi, year, "receive")
    assert before.action == ""
    apply_for(web, "muni.8101.krabi")
    with web.db.reading() as s:
        (line,) = register_rows(s, krabi, year, "receive")
        applied = s.scalar(select(Application.submitted_at).join(Unit, Unit.id == Application.unit_id)
                           .where(Unit.key == "muni.8101.krabi"))
    assert line.action == f"{APPLIED} {format_thai_date(as_thai(applied).date(), abbreviated=True)}"
