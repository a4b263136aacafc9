"""ออกหนังสือ on the web: write a circular in the form, see it marked with the CLI's messages, preview it,
have the head approve it, issue it once, and find it in the register, the docx and the provinces' inboxes."""

from __future__ import annotations

import base64
import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from docx import Document
from sqlalchemy import func, select

from saraban.accounts.drafts import draft_version
from saraban.faces.web.jobs import wait_for_files
from saraban.kernel.clock import today
from saraban.letters.spec import SpecError, parse_spec
from saraban.records.models import Delivery, Draft, Event, Letter, RegisterEntry, Unit
from saraban.records.registers import entries
from tests.conftest import example_dict
from tests.stored import local
from tests.web import web_world  # noqa: F401  (the web fixture)
from thai_text import to_thai_digits

HOSTILE = "<script>alert(1)</script> {{ 7*7 }} & ผู้ใหญ่บ้านน้ำปั๊ม"
VERSION = re.compile(r'name="version" value="([0-9a-f]+)"')
DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def circular_form(**changes) -> dict:
    """The department's circular of the field examples as the form sends it, dated today."""
    ex = example_dict("03-department-circular")
    form = {"kind": "stamped", "circular": "1", "date": today().isoformat(), "digits": "thai",
            "sender.name": ex["sender"]["name"], "sender.address": ex["sender"]["address"], "to": ex["to"],
            "recipients": "prov.81,prov.83", "subject": ex["subject"], "body": [*ex["body"], HOSTILE],
            "owner.unit": ex["owner"]["unit"], "owner.phone": ex["owner"]["phone"], "owner.email": ex["owner"]["email"],
            "qr.caption": [ex["qr"][0]["caption"]], "qr.url": [ex["qr"][0]["url"]]}
    form.update(changes)
    return form


def cli_problems(**changes) -> dict[str, str]:
    """What ``parse_spec`` (the CLI's check) says of the example with ``changes``, by key path."""
    ex = example_dict("03-department-circular")
    ex.pop("ref")
    ex.update(date=today().isoformat(), **changes)
    with pytest.raises(SpecError) as e:
        parse_spec(ex)
    return dict(p.split(": ", 1) for p in e.value.problems)


def marked(page: str, field: str, message: str) -> bool:
    """The message is shown next to the field (the template's field-error span for it)."""
    return f'data-field="{field}">{message}</span>' in html.unescape(page)


def counts(db) -> tuple[int, int]:
    with db.reading() as s:
        return (s.scalar(select(func.count()).select_from(Letter)),
                s.scalar(select(func.count()).select_from(RegisterEntry)))


def draft_of(db, draft_id: int) -> Draft:
    with db.reading() as s:
        return s.get(Draft, draft_id)


def new_draft(client, form: dict) -> int:
    response = client.post("/drafts", form)
    assert response.status_code in (303, 422), response.text
    if response.status_code == 303:
        return int(re.search(r"/drafts/(\d+)", response.headers["location"])[1])
    return int(re.search(r'action="/drafts/(\d+)"', response.text)[1])


def approve(web, client, draft_id: int):
    """Press อนุมัติ on the draft's page (a clerk's page has no such button: the draft's version is sent)."""
    found = VERSION.search(client.get(f"/drafts/{draft_id}").text)
    with web.db.reading() as s:
        version = found[1] if found else draft_version(s.get(Draft, draft_id))
    return client.post(f"/drafts/{draft_id}/approve", {"version": version})


def test_a_circular_written_approved_and_issued_once(web) -> None:
    clerk, head = web.client("dept.clerk"), web.client("dept.head")
    page = clerk.get("/drafts/new")
    assert page.status_code == 200
    assert 'value="กรมส่งเสริมการปกครองท้องถิ่น"' in page.text  # the sender, as the directory has it
    assert "prov.81,prov.83" in page.text and "ทุกจังหวัด" in page.text  # the recipients' hint

    # A bad QR link and an empty subject: marked with the CLI's own words; nothing numbered.
    expected = cli_problems(subject="", qr=[{"url": "greenlocal/handbook.pdf", "caption": "คู่มือ"}])
    page = clerk.post("/drafts", circular_form(subject="", **{"qr.url": ["greenlocal/handbook.pdf"]}))
    assert page.status_code == 422
    assert marked(page.text, "subject", expected["subject"])
    assert marked(page.text, "qr[0].url", expected["qr[0].url"])
    assert counts(web.db) == (0, 0)
    draft_id = int(re.search(r'action="/drafts/(\d+)"', page.text)[1])
    assert clerk.post(f"/drafts/{draft_id}/submit").status_code == 422  # not with problems
    assert draft_of(web.db, draft_id).status == "draft"

    # Put right: saved; previewed as it will print (a PNG page, number blank).
    response = clerk.post(f"/drafts/{draft_id}", circular_form())
    assert response.status_code == 303 and response.headers["location"] == f"/drafts/{draft_id}?saved=1"
    page = clerk.post(f"/drafts/{draft_id}/preview")
    assert page.status_code == 200, page.text
    (png, *_) = DATA_PNG.findall(page.text)
    assert base64.b64decode(png).startswith(b"\x89PNG")
    assert counts(web.db) == (0, 0)

    # Submitted; the clerk may not approve, nor issue before the head has approved.
    assert clerk.post(f"/drafts/{draft_id}/submit").status_code == 303
    assert draft_of(web.db, draft_id).status == "submitted"
    waiting = head.get("/drafts")
    assert "รออนุมัติ" in waiting.text and f'href="/drafts/{draft_id}"' in waiting.text
    assert re.search(r'id="waiting">๑<', waiting.text)
    assert approve(web, clerk, draft_id).status_code == 403
    assert clerk.post(f"/drafts/{draft_id}/issue").status_code == 409
    assert counts(web.db) == (0, 0)
    assert approve(web, head, draft_id).status_code == 303
    assert draft_of(web.db, draft_id).status == "approved"

    # Issued once: ที่ มท 0820.2/ว 1, two deliveries; a second press gives the same letter.
    response = clerk.post(f"/drafts/{draft_id}/issue")
    assert response.status_code == 303
    letter_id = int(re.fullmatch(r"/letters/(\d+)/progress", response.headers["location"])[1])
    again = clerk.post(f"/drafts/{draft_id}/issue")
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    wait_for_files(letter_id)
    with web.db.reading() as s:
        letter = s.get(Letter, letter_id)
        (line,) = entries(s, letter.unit_id, letter.year, "circular")
        to = sorted(s.scalars(select(Unit.key).join(Delivery, Delivery.unit_id == Unit.id)
                              .where(Delivery.letter_id == letter_id)))
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.kind.like("draft.%")).order_by(Event.id))]
    assert (letter.ref_text, line.ref_text, line.subject) == ("มท 0820.2/ว 1", "มท 0820.2/ว 1",
                                                              example_dict("03-department-circular")["subject"])
    assert to == ["prov.81", "prov.83"] and counts(web.db) == (1, 1)
    draft = draft_of(web.db, draft_id)
    assert (draft.status, draft.letter_id) == ("issued", letter_id)
    assert kinds == ["draft.saved", "draft.saved", "draft.submitted", "draft.approved", "draft.issued"]
    text = "\n".join(p.text for p in Document(local(web.settings, letter.docx_key)).paragraphs)
    assert text.splitlines()[0] == "ที่ มท ๐๘๒๐.๒/ว ๑"
    assert to_thai_digits(HOSTILE) in text and "๔๙" not in text  # the letter's digits are Thai; nothing evaluated

    # The pages show what was typed, literally.
    page = clerk.get(f"/drafts/{draft_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} &amp; ผู้ใหญ่บ้านน้ำปั๊ม" in page.text
    assert "<script>alert" not in page.text
    assert "ที่ มท ๐๘๒๐.๒/ว ๑" in clerk.get("/drafts").text

    # Another office sees nothing of it.
    phuket = web.client("phuket.clerk")
    assert phuket.get(f"/drafts/{draft_id}").status_code == 404
    assert phuket.post(f"/drafts/{draft_id}/issue").status_code == 404
    assert web.client("phuket.head").post(f"/drafts/{draft_id}/approve", {"version": "x"}).status_code == 404
    assert f"/drafts/{draft_id}" not in phuket.get("/drafts").text
    assert counts(web.db) == (1, 1)


def test_a_change_after_approval_needs_approval_again(web) -> None:
    clerk, head = web.client("dept.clerk"), web.client("dept.head")
    draft_id = new_draft(clerk, circular_form(**{"qr.caption": [], "qr.url": []}))
    assert clerk.post(f"/drafts/{draft_id}/submit").status_code == 303
    stale = VERSION.search(head.get(f"/drafts/{draft_id}").text)[1]
    assert approve(web, head, draft_id).status_code == 303

    # Saving the same text keeps the approval; a changed subject withdraws it.
    assert clerk.post(f"/drafts/{draft_id}", circular_form(**{"qr.caption": [], "qr.url": []})).status_code == 303
    assert draft_of(web.db, draft_id).status == "approved"
    changed = circular_form(subject="เรื่องที่แก้ไขหลังอนุมัติ", **{"qr.caption": [], "qr.url": []})
    assert clerk.post(f"/drafts/{draft_id}", changed).status_code == 303
    draft = draft_of(web.db, draft_id)
    assert (draft.status, draft.approved_by_id) == ("draft", None)
    assert clerk.post(f"/drafts/{draft_id}/issue").status_code == 409
    assert counts(web.db) == (0, 0)

    # The head approves what they saw: a page read before the change is refused.
    assert clerk.post(f"/drafts/{draft_id}/submit").status_code == 303
    page = head.post(f"/drafts/{draft_id}/approve", {"version": stale})
    assert page.status_code == 409 and "ร่างถูกแก้ไขหลังจากที่ท่านเปิดดู" in page.text
    assert draft_of(web.db, draft_id).status == "submitted"


def test_roles_and_offices(web) -> None:
    draft_id = new_draft(web.client("dept.clerk"), circular_form())
    for name in ("krabi.staff", "krabi.admin"):
        assert web.client(name).get("/drafts").status_code == 403
    assert web.client("phuket.clerk").post(f"/drafts/{draft_id}", circular_form(subject="x")).status_code == 404
    assert web.client("krabi.clerk").post(f"/drafts/{draft_id}/preview").status_code == 404
    assert draft_of(web.db, draft_id).spec["subject"] == example_dict("03-department-circular")["subject"]


def test_the_head_approves_their_own_draft_and_a_letter_to_no_unit(web) -> None:
    """An ordinary letter (not a circular) with no recipients in the directory, written by the head: approved
    by them without submitting; a bad recipient is marked with the selector's message."""
    head = web.client("dept.head")
    form = circular_form(circular="0", recipients="no.such.unit", **{"qr.caption": [], "qr.url": []})
    page = head.post("/drafts", form)
    assert page.status_code == 422 and 'data-field="recipients"' in page.text and "no.such.unit" in page.text
    draft_id = int(re.search(r'action="/drafts/(\d+)"', page.text)[1])
    assert head.post(f"/drafts/{draft_id}", {**form, "recipients": ""}).status_code == 303
    assert approve(web, head, draft_id).status_code == 303
    with web.db.reading() as s:
        assert s.get(Draft, draft_id).approved_by_id is not None


def test_two_presses_at_once_give_one_number(web) -> None:
    """Two clerks press ออกเลข at the same moment: one number, one letter, the draft keeps it."""
    from saraban.accounts.drafts import issue_draft
    from saraban.accounts.users import actor_of
    from saraban.records.models import User

    clerk, head = web.client("dept.clerk"), web.client("dept.head")
    draft_id = new_draft(clerk, circular_form(**{"qr.caption": [], "qr.url": []}))
    assert clerk.post(f"/drafts/{draft_id}/submit").status_code == 303
    assert approve(web, head, draft_id).status_code == 303
    with web.db.reading() as s:
        actors = [actor_of(s.scalar(select(User).where(User.username == name))) for name in ("dept.clerk", "dept.head")]
    barrier = threading.Barrier(2)

    def press(actor):
        barrier.wait()
        return issue_draft(web.db, web.settings, actor, draft_id)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(press, actors))
    assert {r.letter_id for r in results} == {draft_of(web.db, draft_id).letter_id}
    assert sorted(r.new for r in results) == [False, True]
    assert counts(web.db) == (1, 1)


def test_a_paragraph_is_added_and_blank_ones_are_dropped(web) -> None:
    clerk = web.client("dept.clerk")
    draft_id = new_draft(clerk, circular_form())
    page = clerk.post(f"/drafts/{draft_id}", {**circular_form(), "body": ["หนึ่ง", "", "สอง"], "add": "body"})
    assert page.status_code == 200
    assert page.text.count('name="body"') == 3  # two paragraphs kept, one blank to fill in
    assert draft_of(web.db, draft_id).spec["body"] == ["หนึ่ง", "สอง"]


def test_a_letter_dated_weeks_ago_is_issued_with_the_reason_given(web) -> None:
    """As ``--date-reason`` on the command line: refused without a reason (nothing numbered), issued with one,
    which the send register's line keeps."""
    from datetime import timedelta

    head = web.client("dept.head")
    dated = (today() - timedelta(days=30)).isoformat()
    draft_id = new_draft(head, circular_form(date=dated))
    assert approve(web, head, draft_id).status_code == 303
    before = counts(web.db)
    refused = head.post(f"/drafts/{draft_id}/issue")
    assert refused.status_code == 409 and "--date-reason" in html.unescape(refused.text)
    assert counts(web.db) == before and draft_of(web.db, draft_id).status == "approved"
    assert 'name="date_reason"' in refused.text
    issued = head.post(f"/drafts/{draft_id}/issue", {"date_reason": "ลงนามแล้วแต่ส่งไม่ทัน"})
    assert issued.status_code == 303
    with web.db.reading() as s:
        line = s.scalar(select(RegisterEntry).where(RegisterEntry.letter_id == draft_of(web.db, draft_id).letter_id))
    assert "ลงนามแล้วแต่ส่งไม่ทัน" in (line.note or "")
