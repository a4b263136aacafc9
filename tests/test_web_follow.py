"""ติดตาม on the web: the department follows its circular down the chain (counts by level from the database,
drill-down, who is missing and how to reach them, ทวงถาม now exactly once, the status report), and the
aggregation agrees with saraban.chain.status.letter_status on the same tree."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from saraban.chain import follow
from saraban.chain.circulars import forward, receive, receive_many
from saraban.chain.status import letter_status
from saraban.directory.imports import update_unit
from saraban.directory.skeleton import add_synthetic_local_layer
from saraban.kernel.clock import now, today
from saraban.programmes.reminders import make_reminders, remind_now
from saraban.records.models import Letter, Reminder, Unit
from tests.sheets import shown
from tests.web import web_world  # noqa: F401  (the web fixture)

DEPARTMENT = "กรมส่งเสริมการปกครองท้องถิ่น"
KRABI = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
PHUKET = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดภูเก็ต"
PHUKET_PHONE, PHUKET_EMAIL = "0 7621 1234", "phuket@dla.example"


def chain(web):
    """The department's circular to Krabi and Phuket; Krabi receives and forwards to two districts, Mueang
    receives. Phuket's office (which received nothing) has a telephone number and an e-mail address."""
    issued = web.circular(date=today())
    receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    onward = forward(web.db, web.settings, issued.letter_id, "prov.81", "amphoe.8101,amphoe.8102", actor="krabi.clerk",
                     files=False)
    receive(web.db, web.settings, onward.letter_id, "amphoe.8101", actor="mueang.clerk")
    with web.db.transaction() as s:
        update_unit(s, "prov.83", phone=PHUKET_PHONE, email=PHUKET_EMAIL, actor="test")
    return issued, onward


def level_row(html: str, level: str) -> list[str]:
    """The cells of one row of the page's table by level."""
    row = re.search(rf'<tr data-level="{level}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {level}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row[1], re.S)]


def unit_row(html: str, key: str) -> str:
    """One row of the missing list."""
    found = re.search(rf'<tr data-unit="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert found, f"{key} is not listed"
    return found[1]


def section(html: str, marker: str) -> str:
    """The table that follows ``marker`` (e.g. the missing list)."""
    start = html.index(marker)
    return html[start:html.index("</table>", start)]


def test_the_department_follows_its_circular_by_level_and_drills_down(web) -> None:
    issued, onward = chain(web)
    client = web.client("dept.clerk")
    listing = client.get("/follow")
    assert listing.status_code == 200
    assert f'href="/follow/{issued.letter_id}"' in listing.text and "มท ๐๘๒๐.๒/ว ๑" in listing.text

    page = client.get(f"/follow/{issued.letter_id}")
    assert page.status_code == 200, page.text
    # ระดับ · ส่งแล้ว · ลงรับแล้ว · ส่งต่อแล้ว · ยังไม่ลงรับ · ยังไม่ส่งต่อ · ยังไม่ครบ
    assert level_row(page.text, "province_office")[1:] == ["๒", "๑", "๑", "๑", "๐", "๑"]
    assert level_row(page.text, "district_office")[1:] == ["๒", "๑", "๐", "๑", "๐", "๑"]
    assert level_row(page.text, "total")[1:] == ["๔", "๒", "๑", "๒", "๐", "๒"]
    missing = section(page.text, 'id="missing"')
    assert "ยังไม่ครบ ๒ หน่วยงาน" in missing
    assert PHUKET in missing and "โทร. ๐ ๗๖๒๑ ๑๒๓๔" in missing and f'href="mailto:{PHUKET_EMAIL}"' in missing
    assert DEPARTMENT in unit_row(missing, "prov.83")  # its parent office, whom to call too
    assert "ที่ว่าการอำเภอเขาพนม" in missing and "กบ ๐๐๒๓.๖/ว ๑" in missing  # the district, and by which letter
    assert f'href="/follow/{issued.letter_id}?unit=prov.81"' in page.text  # Krabi forwarded: drill down

    krabi = client.get(f"/follow/{issued.letter_id}?unit=prov.81")
    assert krabi.status_code == 200
    assert f"<strong>{KRABI}</strong>" in krabi.text and "ส่งต่อโดยหนังสือที่</th><td>กบ ๐๐๒๓.๖/ว ๑" in krabi.text
    assert level_row(krabi.text, "district_office")[1:] == ["๒", "๑", "๐", "๑", "๐", "๑"]
    assert "province_office" not in krabi.text.split("<h2>", 2)[-1]  # only its own branch is counted
    below = section(krabi.text, 'id="missing"')
    assert "ยังไม่ครบ ๑ หน่วยงาน" in below and "ที่ว่าการอำเภอเขาพนม" in below and PHUKET not in below
    assert "ที่ว่าการอำเภอเมืองกระบี่" in krabi.text and "๑/๒๕" in krabi.text  # Mueang's receipt number

    mueang = client.get(f"/follow/{issued.letter_id}?unit=amphoe.8101")
    assert mueang.status_code == 200 and KRABI in mueang.text  # the path from the top: who carried it
    assert "ไม่มีหน่วยงานในสังกัดที่ต้องส่งต่อ" in mueang.text
    assert client.get(f"/follow/{issued.letter_id}?unit=prov.82").status_code == 404  # not in this tree
    assert client.get("/follow/999999").status_code == 404
    assert client.get("/follow?page=2").status_code == 200 and client.get("/follow?page=0").status_code == 200

    # Krabi's clerk follows Krabi's own letter, never the department's.
    krabi_clerk = web.client("krabi.clerk")
    assert krabi_clerk.get(f"/follow/{issued.letter_id}").status_code == 404
    assert krabi_clerk.get(f"/follow/{issued.letter_id}/report.xlsx").status_code == 404
    assert krabi_clerk.post(f"/follow/{issued.letter_id}/remind").status_code == 404
    own = krabi_clerk.get(f"/follow/{onward.letter_id}")
    assert own.status_code == 200 and level_row(own.text, "district_office")[1] == "๒"
    assert 'data-level="province_office"' not in own.text and PHUKET not in own.text
    assert f'href="/follow/{onward.letter_id}"' in krabi_clerk.get("/follow").text
    assert web.client("phuket.clerk").get(f"/follow/{issued.letter_id}").status_code == 404
    for who in ("krabi.staff", "krabi.admin"):
        assert web.client(who).get("/follow").status_code == 403
        assert web.client(who).get(f"/follow/{onward.letter_id}").status_code == 403


def test_remind_now_makes_one_reminder_letter_however_often_it_is_pressed(web) -> None:
    issued, _ = chain(web)
    client = web.client("dept.clerk")
    page = client.get(f"/follow/{issued.letter_id}")
    assert "ทวงถามเดี๋ยวนี้" in page.text and "ยังไม่ลงรับ ๑ หน่วยงาน" in page.text

    def letters_of_department() -> int:
        with web.db.reading() as s:
            dept = s.scalar(select(Unit.id).where(Unit.key == "dla.env.2"))
            return s.scalar(select(func.count()).select_from(Letter).where(Letter.unit_id == dept))

    before = letters_of_department()
    first = client.post(f"/follow/{issued.letter_id}/remind")
    assert first.status_code == 200, first.text
    assert "ทำหนังสือทวงถามแล้ว ๑ หน่วยงาน" in first.text and PHUKET in first.text
    assert "มท ๐๘๒๐.๒/" in first.text  # the reminder's own number
    second = client.post(f"/follow/{issued.letter_id}/remind")
    assert second.status_code == 200 and "ทำหนังสือทวงถามแล้ว" not in second.text
    assert letters_of_department() == before + 1
    with web.db.reading() as s:
        reminders = s.scalars(select(Reminder)).all()
    assert [(r.kind, r.step) for r in reminders] == [("receipt", "after-0d")]
    assert reminders[0].letter_id is not None
    # The missing list says when Phuket was reminded; Krabi (received) was not.
    missing = section(client.get(f"/follow/{issued.letter_id}").text, 'id="missing"')
    assert "น.</td>" in unit_row(missing, "prov.83")
    # Reminding is the clerk's and the head's, of their own office's letters.
    assert web.client("phuket.clerk").post(f"/follow/{issued.letter_id}/remind").status_code == 404
    with web.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 1
    # The same claim as the daily run: three days on, the run makes the after-3d step, and the button that
    # day makes nothing more for Phuket.
    later = now() + timedelta(days=3, minutes=1)
    made = {(r.unit_key, r.step, r.status) for r in make_reminders(web.db, web.settings, at=later)}
    assert ("prov.83", "after-3d", "made") in made
    again = remind_now(web.db, web.settings, issued.letter_id, actor="dept.clerk", at=later)
    assert [(r.unit_key, r.step) for r in again] == [("prov.83", "after-3d")] and again[0].status != "made"
    with web.db.reading() as s:
        steps = s.scalars(select(Reminder.step).join(Unit, Unit.id == Reminder.unit_id)
                          .where(Unit.key == "prov.83").order_by(Reminder.id)).all()
    assert steps == ["after-0d", "after-3d"]


def test_the_status_report_downloads_hold_the_counts(web) -> None:
    issued, _ = chain(web)
    client = web.client("dept.head")
    xlsx = client.get(f"/follow/{issued.letter_id}/report.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    assert ".xlsx" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    # As shown: the counts are number cells in Thai digits.
    summary = [tuple(shown(c) for c in row if c.value not in (None, "")) for row in book["สรุป"].iter_rows()]
    assert book["สรุป"]["B7"].value == 2 and book["สรุป"]["B7"].data_type == "n"
    assert ("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "๒", "๑", "๑", "๑") in summary
    assert ("ที่ว่าการอำเภอ", "๒", "๑", "๐", "๑") in summary
    missing = [" ".join(str(c) for c in row if c) for row in book["ยังไม่ครบ"].iter_rows(values_only=True)]
    assert any(PHUKET in line for line in missing)

    docx = client.get(f"/follow/{issued.letter_id}/report.docx")
    assert docx.status_code == 200 and "wordprocessingml" in docx.headers["content-type"]
    document = Document(io.BytesIO(docx.content))
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    assert ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "๒", "๑", "๑", "๑"] in rows
    assert any(PHUKET in " ".join(r) for r in rows)
    assert client.get(f"/follow/{issued.letter_id}/report.pdf").status_code == 404
    assert web.client("krabi.staff").get(f"/follow/{issued.letter_id}/report.docx").status_code == 404


def test_the_aggregation_agrees_with_letter_status(web) -> None:
    """A deeper tree (local administrations under Mueang Krabi, so Mueang is expected to forward): the
    counts of the database agree with letter_status, level by level and branch by branch, and the
    missing list is letter_status's."""
    with web.db.transaction() as s:
        assert add_synthetic_local_layer(s, district="amphoe.8101") > 0
    issued = web.circular(to="prov.81,prov.83,prov.84", date=today())
    db, settings = web.db, web.settings
    receive_many(db, settings, issued.letter_id, ["prov.81", "prov.83"])  # Phuket receives, does not forward
    onward = forward(db, settings, issued.letter_id, "prov.81", files=False)  # the chain's next hop
    receive_many(db, settings, onward.letter_id, ["amphoe.8101", "amphoe.8102", "pao.81"])
    local = forward(db, settings, onward.letter_id, "amphoe.8101", files=False, uncertain_code_ok=True)  # code: a guess
    with db.reading() as s:
        keys = sorted(s.scalars(select(Unit.key).where(Unit.key.like("syn.8101%"))))
    receive_many(db, settings, local.letter_id, keys[:2])

    status = letter_status(db, issued.letter_id)
    with db.reading() as s:
        summary = follow.tree_summary(s, issued.letter_id)
        expected = follow.as_counts(status.by_level(), [n.level for n in status.missing()])
        assert {x.level: x.counts for x in summary.levels} == expected
        assert summary.total.missing == len(status.missing()) and summary.total.sent == len(status.nodes())
        assert [x.level for x in summary.levels] == ["province_office", "district_office", "pao",
                                                     "town_municipality", "sao"]
        # Each recipient's branch below it, as letter_status's subtree.
        page = follow.recipients(s, issued.letter_id, summary=summary)
        for r, node in zip(page.items, status.recipients, strict=True):
            assert r.unit_key == node.unit_key and r.owes == node.owes
            below = [n for child in node.children for n in _subtree(child)]
            assert r.below.sent == len(below)
            assert r.below.missing == sum(n.owes is not None for n in below)
        # The missing list: letter_status's, top level first, in pages.
        everyone = follow.missing_units(s, issued.letter_id, per_page=1000)
        assert Counter(m.unit_key for m in everyone.items) == Counter(n.unit_key for n in status.missing())
        assert [m.depth for m in everyone.items] == sorted(m.depth for m in everyone.items)
        assert {m.unit_key: m.owes for m in everyone.items}["prov.83"] == "forward"
        second = follow.missing_units(s, issued.letter_id, page=2, per_page=3)
        assert [m.unit_key for m in second.items] == [m.unit_key for m in everyone.items][3:6]
        assert second.total == everyone.total == len(status.missing())
        # Drill-down: a local administration three levels down, and the path to it.
        node = follow.find_in_tree(s, issued.letter_id, keys[0])
        assert node is not None and node.letter_id == local.letter_id and node.received_at is not None
        assert [p.unit_key for p in follow.path_to(s, node, issued.letter_id)] == ["prov.81", "amphoe.8101"]
        assert follow.find_in_tree(s, issued.letter_id, "prov.82") is None
        assert follow.find_in_tree(s, onward.letter_id, "prov.81") is None  # above that letter, not in its tree
        mueang = follow.tree_summary(s, local.letter_id)
        assert mueang.total.sent == len(keys) and mueang.total.received == 2
        # The office's list counts every letter's whole tree.
        dept = s.scalar(select(Unit.id).where(Unit.key == "dla.env.2"))
        (sent,) = follow.sent_letters(s, dept).items
        assert sent.counts == summary.total


def _subtree(node):
    yield node
    for child in node.children:
        yield from _subtree(child)


def test_the_page_read_by_many_at_once_is_read_again_as_soon_as_anything_is_received(web) -> None:
    """The follow page's figures are shared between requests (saraban.faces.web.cache) only until a register
    line is written: a receipt shows at once."""
    issued, _ = chain(web)
    client = web.client("dept.clerk")
    first = client.get(f"/follow/{issued.letter_id}")
    assert client.get(f"/follow/{issued.letter_id}").text == first.text  # the same figures, read once
    assert level_row(first.text, "province_office")[1:3] == ["๒", "๑"]
    receive(web.db, web.settings, issued.letter_id, "prov.83", actor="phuket.clerk")
    after = client.get(f"/follow/{issued.letter_id}")
    assert level_row(after.text, "province_office")[1:3] == ["๒", "๒"]
