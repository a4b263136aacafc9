"""ส่งต่อ on the web (issue 10, point 6): Krabi's clerk forwards the department's circular to the units
below Krabi's office: the checklist, the preview before numbering, the edited text, the issue (exactly
once) and its files made in the background; selectors and their messages; another office and a role
that may not forward. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import html
import re

import pytest
from sqlalchemy import func, select

from saraban.chain.circulars import RecipientsError, forward, receive
from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.faces.web.jobs import wait_for_files
from saraban.kernel.clock import today
from saraban.records.models import Delivery, Letter, RegisterEntry, Unit
from tests.stored import local
from tests.web import web_world  # noqa: F401

KRABI_NEXT_HOP = {"amphoe.8101", "amphoe.8102", "amphoe.8103", "amphoe.8104", "amphoe.8105", "amphoe.8106",
                  "amphoe.8107", "amphoe.8108", "pao.81", "muni.8101.krabi"}
SAOS = {"sao.8103.1", "sao.8103.2", "sao.8103.3"}
EDITED = "ขอให้อำเภอแจ้ง <อปท.> ในพื้นที่ทราบ ภายในวันที่ ๓๐ เมษายน และรายงานผล {{ ด่วน }}"


def text_of(response) -> str:
    """What the person reads: the page without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


def ticked(response) -> set[str]:
    return set(re.findall(r'name="unit" value="([^"]+)"\s+checked', response.text))


def form_of(response) -> dict:
    """The form as the browser would send it: ticked units, levels, selector, subject, paragraphs."""
    page = response.text
    return {"unit": sorted(ticked(response)),
            "level": re.findall(r'name="level" value="([^"]+)"\s+checked', page),
            "selector": html.unescape(re.search(r'name="selector" value="([^"]*)"', page)[1]),
            "subject": html.unescape(re.search(r'name="subject" value="([^"]*)"', page)[1]),
            "body": [html.unescape(p) for p in re.findall(r'<textarea name="body" rows="4">(.*?)</textarea>', page,
                                                         re.S)]}


def krabi_delivery(web, received: bool = True) -> tuple[int, int]:
    """The department's circular sent to Krabi (and Phuket): (letter id, Krabi's delivery id)."""
    issued = web.circular(date=today())  # today: a letter dated long ago needs a reason
    if received:
        receive(web.db, web.settings, issued.letter_id, "prov.81", actor="krabi.clerk")
    with web.db.reading() as s:
        delivery_id = s.scalar(select(Delivery.id).join(Unit, Unit.id == Delivery.unit_id)
                               .where(Delivery.letter_id == issued.letter_id, Unit.key == "prov.81"))
    return issued.letter_id, delivery_id


def circular_lines(web) -> int:
    with web.db.reading() as s:
        return s.scalar(select(func.count(RegisterEntry.id)).join(Unit, Unit.id == RegisterEntry.unit_id)
                        .where(Unit.key == "prov.81", RegisterEntry.series == "circular"))


def recipients(web, letter_id: int) -> set[str]:
    with web.db.reading() as s:
        return set(s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                             .where(Delivery.letter_id == letter_id)))


def docx_text(path: str) -> str:
    import docx

    document = docx.Document(path)
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def add_saos(web) -> None:
    """Three อบต. of อำเภอเกาะลันตา (the directory of the tests has none)."""
    from saraban.directory.imports import insert_missing, unit_row

    with web.db.transaction() as s:
        insert_missing(s, [unit_row(key, f"องค์การบริหารส่วนตำบลทดสอบ{i}", "sao", "amphoe.8103", province_code="81",
                                    area_code="8103") for i, key in enumerate(sorted(SAOS), 1)])


def test_krabi_previews_edits_and_forwards_to_its_districts(web):
    upstream, delivery_id = krabi_delivery(web)
    clerk = web.client("krabi.clerk")

    page = clerk.get(f"/deliveries/{delivery_id}/forward")
    assert page.status_code == 200, page.text
    assert ticked(page) == KRABI_NEXT_HOP  # the next hop of the chain, checked by default
    shown = text_of(page)
    for label in ("ที่ว่าการอำเภอ", "องค์การบริหารส่วนจังหวัด (อบจ.)", "เทศบาลเมือง (ทม.)", "ที่ว่าการอำเภอเมืองกระบี่",
                  "องค์การบริหารส่วนจังหวัดกระบี่", "เทศบาลเมืองกระบี่", "เลือกทั้งระดับนี้", "มท ๐๘๒๐.๒/ว"):
        assert label in shown
    form = form_of(page)
    assert form["body"][0].startswith("ด้วยจังหวัดกระบี่ได้รับแจ้งจาก")  # forward_spec's text, to edit
    assert form["body"][-1] == ""  # room for one more paragraph

    before = circular_lines(web)
    form["body"][1] = EDITED
    preview = clerk.post(f"/deliveries/{delivery_id}/forward/preview", form)
    assert preview.status_code == 200, text_of(preview)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', preview.text)
    assert images and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert circular_lines(web) == before  # nothing numbered
    with web.db.reading() as s:
        assert s.scalar(select(Letter.id).where(Letter.forwards_delivery_id == delivery_id)) is None
    assert form_of(preview)["body"] == form["body"] and ticked(preview) == KRABI_NEXT_HOP  # the form kept

    issued = clerk.post(f"/deliveries/{delivery_id}/forward", form)
    assert issued.status_code == 303, text_of(issued)
    letter_id = int(re.fullmatch(r"/letters/(\d+)/progress", issued.headers["location"])[1])
    wait_for_files(letter_id)
    with web.db.reading() as s:
        letter = s.get(Letter, letter_id)
        assert letter.forwards_delivery_id == delivery_id and letter.ref_text == "กบ 0023.6/ว 1"
        assert s.get(Delivery, delivery_id).forwarded_letter_id == letter_id
    assert circular_lines(web) == before + 1
    assert recipients(web, letter_id) == KRABI_NEXT_HOP
    text = docx_text(local(web.settings, letter.docx_key))
    assert EDITED in text and "กบ ๐๐๒๓.๖/ว ๑" in text
    assert "ทำไฟล์ครบแล้ว" in text_of(clerk.get(f"/letters/{letter_id}/progress"))

    again = clerk.post(f"/deliveries/{delivery_id}/forward", form)  # the second tab, or the second clerk
    assert again.status_code == 303 and again.headers["location"] == f"/letters/{letter_id}/progress"
    with web.db.reading() as s:
        assert s.scalar(select(func.count(Letter.id)).where(Letter.forwards_delivery_id == delivery_id)) == 1
    assert circular_lines(web) == before + 1
    done = clerk.get(f"/deliveries/{delivery_id}/forward")  # the form now names the letter that forwarded it
    assert f'href="/letters/{letter_id}"' in done.text and "กบ ๐๐๒๓.๖/ว ๑" in text_of(done)
    assert upstream != letter_id


def test_selectors_add_units_and_refusals_show_beside_their_fields(web):
    add_saos(web)
    _, delivery_id = krabi_delivery(web)
    clerk = web.client("krabi.clerk")
    form = form_of(clerk.get(f"/deliveries/{delivery_id}/forward"))
    before = circular_lines(web)

    bad = clerk.post(f"/deliveries/{delivery_id}/forward/preview", form | {"selector": "under:nosuch.9999"})
    with web.db.reading() as s, pytest.raises(DirectoryError) as cli:
        select_units(s, "under:nosuch.9999")
    assert bad.status_code == 422 and str(cli.value) in text_of(bad)
    assert 'id="selector-error"' in bad.text

    none = clerk.post(f"/deliveries/{delivery_id}/forward", form | {"unit": []})
    assert none.status_code == 422 and "ไม่ได้เลือกผู้รับ" in text_of(none)
    outside = clerk.post(f"/deliveries/{delivery_id}/forward", form | {"unit": [], "selector": "prov.83"})
    assert outside.status_code == 422 and "ส่งต่อได้เฉพาะหน่วยงานในสังกัด" in text_of(outside)
    hidden = clerk.post(f"/deliveries/{delivery_id}/forward", form | {"subject": "เรื่อง\u200bซ่อน"})
    assert hidden.status_code == 422 and "U+200B" in text_of(hidden)
    empty = clerk.post(f"/deliveries/{delivery_id}/forward", form | {"body": ["", ""]})
    assert empty.status_code == 422 and "ต้องมีอย่างน้อยหนึ่งย่อหน้า" in text_of(empty)
    assert circular_lines(web) == before  # nothing numbered by any of them

    # A whole level ticked (the อบต. of a district, not the province's next hop) and a selector add units.
    page = clerk.get(f"/deliveries/{delivery_id}/forward")
    assert "องค์การบริหารส่วนตำบล (อบต.)" in text_of(page) and "(อ.เกาะลันตา)" in text_of(page)
    assert not ticked(page) & SAOS
    chosen = clerk.post(f"/deliveries/{delivery_id}/forward", form | {
        "unit": ["pao.81"], "level": ["sao"], "selector": "province:กระบี่:district_office"})
    assert chosen.status_code == 303, text_of(chosen)
    letter_id = int(chosen.headers["location"].split("/")[2])
    wait_for_files(letter_id)
    assert recipients(web, letter_id) == (KRABI_NEXT_HOP - {"muni.8101.krabi"}) | SAOS


def test_refused_before_receipt_to_another_office_and_to_staff_and_the_core_choices(web):
    letter_id, delivery_id = krabi_delivery(web, received=False)
    clerk = web.client("krabi.clerk")
    early = clerk.get(f"/deliveries/{delivery_id}/forward")
    assert early.status_code == 409 and "ลงรับก่อน" in text_of(early)
    assert clerk.post(f"/deliveries/{delivery_id}/forward", {"unit": ["pao.81"]}).status_code == 409
    receive(web.db, web.settings, letter_id, "prov.81", actor="krabi.clerk")

    phuket = web.client("phuket.clerk")
    assert phuket.get(f"/deliveries/{delivery_id}/forward").status_code == 404
    assert phuket.post(f"/deliveries/{delivery_id}/forward", {"unit": ["pao.81"]}).status_code == 404
    assert phuket.post(f"/deliveries/{delivery_id}/forward/preview", {"unit": ["pao.81"]}).status_code == 404
    staff = web.client("krabi.staff")
    assert staff.get(f"/deliveries/{delivery_id}/forward").status_code == 403
    assert staff.post(f"/deliveries/{delivery_id}/forward", {"unit": ["pao.81"]}).status_code == 403
    assert circular_lines(web) == 0

    # The core (also the command line's): chosen units only below the office, the edited text, once.
    with pytest.raises(RecipientsError, match="ส่งต่อได้เฉพาะหน่วยงานในสังกัด"):
        forward(web.db, web.settings, letter_id, "prov.81", "prov.83,amphoe.8101", files=False)
    with pytest.raises(RecipientsError, match="ไม่ได้เลือกผู้รับ"):
        forward(web.db, web.settings, letter_id, "prov.81", [], files=False)
    with web.db.reading() as s:
        units = select_units(s, "amphoe.8101,pao.81")
    issued = forward(web.db, web.settings, letter_id, "prov.81", units, subject="ส่งต่อ: เรื่องทดสอบ",
                     body=["ย่อหน้าเดียว"], files=False)
    assert recipients(web, issued.letter_id) == {"amphoe.8101", "pao.81"}
    with web.db.reading() as s:
        spec = s.get(Letter, issued.letter_id).spec
    assert spec["subject"] == "ส่งต่อ: เรื่องทดสอบ" and spec["body"] == ["ย่อหน้าเดียว"]
    again = forward(web.db, web.settings, letter_id, "prov.81", files=False)
    assert again.letter_id == issued.letter_id and not again.new
