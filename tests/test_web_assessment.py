"""Issue 11, part 3 on the web: the owner's view of an application with the appointed assessor's score form,
the appointment of assessors by the owner's head, the results and the announcement (ประกาศ) with its files,
and who gets none of it (an assessor not appointed, a municipality's people: 404). SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import subprocess
import threading
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from saraban.kernel.clock import now
from saraban.programmes.applications import apply
from saraban.programmes.assessment import indicator_keys
from saraban.programmes.evidence import add_evidence
from saraban.records.models import Announcement, Assessment, Delivery, Letter, Programme, RegisterEntry, Result, Unit
from tests.web import PROGRAMME_KEY, add_accounts, web_world  # noqa: F401  (the web fixture)

CONTACT = {"name": "นางสาวสมใจ รักษ์เมือง", "position": "นักวิชาการสิ่งแวดล้อม", "phone": "075 611 111",
           "email": "somjai@example.org"}
TOWN = "muni.8101.krabi"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(out, format="PNG")
    return out.getvalue()


def world(web, *, closed: bool = False) -> tuple[int, int, str]:
    """The programme (closed yesterday when ``closed``), the town's application made with the core apply(), and
    an evidence file for indicator 1.1: (application id, evidence id, the page's path)."""
    t = now()
    if closed:
        web.programme(opens=t - timedelta(days=60), closes=t - timedelta(days=1))
    else:
        web.programme()
    at = t - timedelta(days=10) if closed else None
    app_id = apply(web.db, web.settings, PROGRAMME_KEY, TOWN, contact=CONTACT, scores={"1.1": 5, "1.2": 3}, at=at,
                   actor="town.clerk").application_id
    evidence_at = at + timedelta(hours=1) if at else None
    evidence = add_evidence(web.db, web.settings, app_id, "1.1", "แผนจัดการขยะ.png", png(), actor="town.clerk",
                            at=evidence_at)
    return app_id, evidence.evidence_id, f"/programmes/{PROGRAMME_KEY}/applications/{app_id}"


def keys(web) -> list[str]:
    with web.db.reading() as s:
        return indicator_keys(s.scalar(select(Programme).where(Programme.key == PROGRAMME_KEY)))


def count(web, model, *where) -> int:
    with web.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def running(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.search(r'<p id="running">(.*?)</p>', html, re.S)[1]).split())


def test_the_appointed_assessor_sees_the_application_and_scores_it(web) -> None:
    app_id, evidence_id, path = world(web)
    assessor = web.client("deqp.assessor")
    page = assessor.get(path)
    assert page.status_code == 200
    html = page.text
    for shown in ("เทศบาลเมืองกระบี่", "นางสาวสมใจ รักษ์เมือง", "somjai@example.org", "๐๗๕ ๖๑๑ ๑๑๑",
                  "องค์ประกอบที่ ๑ เมืองอยู่ดี", "การจัดการขยะมูลฝอยชุมชน", "แผนจัดการขยะ.png"):
        assert shown in html, shown
    assert f'href="/applications/{app_id}/evidence/{evidence_id}"' in html
    assert assessor.get(f"/applications/{app_id}/evidence/{evidence_id}").content == png()  # the link works
    assert 'name="score.1.1"' in html and 'name="comment.4.8"' in html
    assert running(html).startswith("ประเมินแล้ว ๐ จาก ๓๕ ตัวชี้วัด")

    form = {f"score.{k}": "4" for k in keys(web)} | {"score.1.1": "5", "comment.1.1": "คัดแยกขยะครบทุกชุมชน"}
    saved = assessor.post(f"{path}/scores", form)
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?saved=1"
    page = assessor.get(saved.headers["location"]).text
    assert "บันทึกคะแนนแล้ว" in page and "คัดแยกขยะครบทุกชุมชน" in page
    assert running(page) == ("ประเมินแล้ว ๓๕ จาก ๓๕ ตัวชี้วัด · คะแนนถ่วงน้ำหนัก ร้อยละ ๘๐.๕๖ · ระดับ ระดับทอง")
    # The owner's clerk sees the scores and comments, without a form; posting scores is not a clerk's act.
    clerk = web.client("deqp.clerk")
    page = clerk.get(path)
    assert page.status_code == 200 and "คัดแยกขยะครบทุกชุมชน" in page.text and 'name="score.1.1"' not in page.text
    assert clerk.post(f"{path}/scores", {"score.1.1": "1"}).status_code == 403
    assert count(web, Assessment, Assessment.score == 1) == 0


def test_a_score_off_the_scale_is_shown_beside_its_indicator_and_nothing_is_stored(web) -> None:
    _, _, path = world(web)
    assessor = web.client("deqp.assessor")
    for bad, message in (("6", "6 is out of range: expected 0 to 5 / คะแนนต้องอยู่ระหว่าง 0 ถึง 5"),
                         ("-1", "-1 is out of range: expected 0 to 5 / คะแนนต้องอยู่ระหว่าง 0 ถึง 5"),
                         ("abc", "expected a number; got 'abc' / คะแนนต้องเป็นตัวเลข")):
        page = assessor.post(f"{path}/scores", {"score.1.1": "4", "score.1.2": bad, "comment.1.1": "ดี"})
        assert page.status_code == 422
        row = re.search(r'<tr id="indicator-1.2">(.*?)</tr>', page.text, re.S)[1]
        assert message.replace("'", "&#39;") in row
        assert "ไม่ได้บันทึก" in page.text
        assert f'value="{bad}"' in row  # what was typed is kept for correcting
    assert count(web, Assessment) == 0


def test_who_may_not_see_or_score_the_application_gets_404(web) -> None:
    app_id, _, path = world(web)
    add_accounts(web.db, {"deqp.admin": ("deqp", "admin")})
    for who in ("deqp.assessor2", "town.clerk", "town.head", "patong.clerk", "phuket.clerk", "krabi.head"):
        client = web.client(who)
        for url in (path, f"/programmes/{PROGRAMME_KEY}/results", f"/programmes/{PROGRAMME_KEY}/assessors",
                    f"/programmes/{PROGRAMME_KEY}/announcement.pdf"):
            assert client.get(url).status_code == 404, (who, url)
        assert client.post(f"{path}/scores", {"score.1.1": "3"}).status_code == 404, who
        assert client.post(f"/programmes/{PROGRAMME_KEY}/announce").status_code == 404, who
    assert web.client("deqp.admin").get(path).status_code == 403  # the owner's own office, but not the role
    assessor = web.client("deqp.assessor")
    assert assessor.get(f"/programmes/{PROGRAMME_KEY}/applications/{app_id + 100}").status_code == 404
    assert assessor.get(f"/programmes/no-such-programme/applications/{app_id}").status_code == 404
    assert count(web, Assessment) == 0


def test_the_head_appoints_and_removes_an_assessor(web) -> None:
    _, _, path = world(web)
    head, second = web.client("deqp.head"), web.client("deqp.assessor2")
    assessors = f"/programmes/{PROGRAMME_KEY}/assessors"
    page = head.get(assessors)
    assert page.status_code == 200 and "deqp.assessor2" in page.text and "แต่งตั้ง" in page.text
    assert web.client("deqp.clerk").post(assessors, {"username": "deqp.assessor2"}).status_code == 403
    refused = head.post(assessors, {"username": "town.clerk", "action": "appoint"})
    assert refused.status_code == 422 and "ไม่ใช่ผู้ประเมินของ" in refused.text
    assert second.get(path).status_code == 404
    assert "แต่งตั้ง deqp.assessor2 แล้ว" in head.post(assessors, {"username": "deqp.assessor2"}).text
    assert second.get(path).status_code == 200
    assert 'name="score.1.1"' in second.get(path).text
    assert "ยกเลิกการแต่งตั้ง deqp.assessor2 แล้ว" in head.post(assessors, {"username": "deqp.assessor2",
                                                                          "action": "remove"}).text
    assert second.get(path).status_code == 404


def pdf_lines(data: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout
    return [" ".join(line.split()) for line in text.decode("utf-8").splitlines() if line.strip()]


def test_the_head_announces_once_the_pdf_lists_the_unit_under_its_level_and_the_unit_gets_its_letter(web) -> None:
    app_id, _, path = world(web, closed=True)
    assessor, head = web.client("deqp.assessor"), web.client("deqp.head")
    results = f"/programmes/{PROGRAMME_KEY}/results"
    refused = head.post(f"/programmes/{PROGRAMME_KEY}/announce")
    assert refused.status_code == 422 and "ยังประเมินไม่ครบ ๑ ใบสมัคร" not in refused.text
    assert "ยังประเมินไม่ครบ 1 ใบสมัคร" in refused.text and "ประเมินแล้ว 0 จาก 35 ตัวชี้วัด" in refused.text
    assert count(web, Announcement) == 0
    assert web.client("deqp.clerk").post(f"/programmes/{PROGRAMME_KEY}/announce").status_code == 403
    assert assessor.post(f"{path}/scores", {f"score.{k}": "3.5" for k in keys(web)}).status_code == 303
    page = head.get(results).text
    assert "ร้อยละ" in page and "ระดับเงิน" in page and "ประกาศผล</button>" in page

    # Two heads press "announce" at the same moment: one announcement, one result letter.
    add_accounts(web.db, {"deqp.head2": ("deqp", "head")})
    heads = [head, web.client("deqp.head2")]
    barrier = threading.Barrier(len(heads))
    answers: list = [None] * len(heads)

    def press(i: int) -> None:
        barrier.wait(timeout=60)
        answers[i] = heads[i].post(f"/programmes/{PROGRAMME_KEY}/announce")

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(heads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert [a.status_code for a in answers] == [303, 303]
    assert count(web, Announcement) == 1 and count(web, Result) == 1

    page = head.get(results).text
    assert 'id="announced"' in page and "ประกาศผล</button>" not in page
    pdf = head.get(f"/programmes/{PROGRAMME_KEY}/announcement.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    lines = pdf_lines(pdf.content)
    level = lines.index("๑. ระดับเงิน (โล่รางวัล) จำนวน ๑ แห่ง")
    assert lines[level + 1] == "๑) เทศบาลเมืองกระบี่ จังหวัดกระบี่"
    docx = web.client("deqp.assessor").get(f"/programmes/{PROGRAMME_KEY}/announcement.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert head.get(f"/programmes/{PROGRAMME_KEY}/announcement.xlsx").status_code == 404
    # The scores are final now: the form is gone and a post is refused with the reason.
    assert 'name="score.1.1"' not in assessor.get(path).text
    late = assessor.post(f"{path}/scores", {"score.1.1": "1"})
    assert late.status_code == 422 and "ประกาศผล" in late.text

    # The result letter: once in DEQP's send register, delivered to the town, in its inbox.
    with web.db.reading() as s:
        result = s.scalar(select(Result))
        letter = s.get(Letter, result.letter_id)
        town = s.scalar(select(Unit).where(Unit.key == TOWN))
        assert s.scalar(select(func.count()).select_from(RegisterEntry).where(
            RegisterEntry.letter_id == letter.id, RegisterEntry.series == "send")) == 1
        assert s.scalar(select(func.count()).select_from(Letter).where(Letter.subject == letter.subject)) == 1
        assert s.scalar(select(Delivery.unit_id).where(Delivery.letter_id == letter.id)) == town.id
        ref = letter.ref_text
    assert result.level == "ระดับเงิน" and result.percent == 70.0
    from thai_text import to_thai_digits

    assert f"ที่ {to_thai_digits(ref)}" in page
    inbox = web.client("town.clerk").get("/inbox").text
    assert "แจ้งผลการประเมินโครงการเมืองน่าอยู่" in inbox
