"""Issue 11, part 3 (the core): appointed assessors score applications per indicator with a comment; the level
follows the programme's weights and thresholds; the owner announces the results once: one ประกาศ listing the
units by award level (highest first, Thai digits) and one result letter to each applicant, numbered in the
owner's send register, even when two heads announce at the same moment. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import threading
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from saraban.kernel.clock import now
from saraban.programmes.applications import (
    apply,
    check_scores,
    create_programme,
    get_programme,
    record_late_application,
)
from saraban.programmes.assessment import announce, assessment_of, indicator_keys, record_scores
from saraban.programmes.definitions import ProgrammeError
from saraban.records.models import (
    Announcement,
    Application,
    Assessment,
    Delivery,
    Event,
    IssuedFile,
    Letter,
    RegisterEntry,
    Result,
    Unit,
)
from tests.web import PROGRAMME_FILE, PROGRAMME_KEY, web_world  # noqa: F401  (the web fixture)

CONTACT = {"name": "นางสาวสมใจ รักษ์เมือง", "position": "นักวิชาการสิ่งแวดล้อม", "email": "somjai@example.org"}
TOWN, PATONG = "muni.8101.krabi", "muni.8301.patong"


def count(db, model, *where) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def keys(db) -> list[str]:
    with db.reading() as s:
        return indicator_keys(get_programme(s, PROGRAMME_KEY))


def applied(web, *units: str, closed: bool = False) -> dict[str, int]:
    """The programme (its window closed yesterday when ``closed``) and an application of each unit, made
    with the core apply() while the window was open: unit key → application id."""
    t = now()
    if closed:
        web.programme(opens=t - timedelta(days=60), closes=t - timedelta(days=1))
    else:
        web.programme()
    at = t - timedelta(days=10) if closed else None
    return {u: apply(web.db, web.settings, PROGRAMME_KEY, u, contact=CONTACT, scores={"1.1": 5, "1.2": 4}, at=at,
                     actor="town.clerk").application_id for u in units}


def score_all(web, application_id: int, value: float, assessor: str = "deqp.assessor") -> None:
    record_scores(web.db, PROGRAMME_KEY, application_id, dict.fromkeys(keys(web.db), value), assessor=assessor)


def test_an_appointed_assessor_scores_with_comments_and_the_level_follows_the_weights(web) -> None:
    app_id = applied(web, TOWN)[TOWN]
    view = record_scores(web.db, PROGRAMME_KEY, app_id, {"1.1": "4", "1.2": 3.5, "2.1": ""},
                         {"1.1": "  มีระบบคัดแยกขยะครบทุกชุมชน  "}, assessor="deqp.assessor")
    assert view.scores == {"1.1": 4, "1.2": 3.5}  # a blank score is not a score
    assert view.comments == {"1.1": "มีระบบคัดแยกขยะครบทุกชุมชน"}
    assert (view.scored, view.indicators, view.complete) == (2, 35, False)
    assert view.percent == pytest.approx(100 * 0.25 * 7.5 / 45, abs=0.01) and view.level is None
    with web.db.reading() as s:
        event = s.scalars(select(Event).where(Event.kind == "assessment.scored")).one()
    assert event.actor == "deqp.assessor" and event.data["changes"]["1.1"]["previous"] is None

    # Every indicator at 4 of 5 is 80 %: ระดับทอง (≥ 80); a changed score keeps the previous one in its event.
    score_all(web, app_id, 4)
    view = assessment_of(web.db, PROGRAMME_KEY, app_id)
    assert (view.complete, view.percent, view.level) == (True, 80.0, "ระดับทอง")
    assert view.comments == {"1.1": "มีระบบคัดแยกขยะครบทุกชุมชน"}  # a comment left out is kept
    with web.db.reading() as s:
        last = s.scalars(select(Event).where(Event.kind == "assessment.scored").order_by(Event.id.desc())).first()
    assert last.data["changes"]["1.2"]["previous"]["score"] == 3.5 and "1.1" not in last.data["changes"]
    # Recording the same again changes nothing and records nothing.
    before = count(web.db, Event)
    score_all(web, app_id, 4)
    assert count(web.db, Event) == before


@pytest.mark.parametrize("bad", [6, "-1", "abc", "5.5"])
def test_a_score_off_the_scale_is_refused_with_the_self_assessments_message_and_nothing_is_stored(web, bad) -> None:
    app_id = applied(web, TOWN)[TOWN]
    events = count(web.db, Event)
    with pytest.raises(ProgrammeError) as refused:
        record_scores(web.db, PROGRAMME_KEY, app_id, {"1.1": 3, "1.2": bad}, {"1.1": "ดี"}, assessor="deqp.assessor")
    with pytest.raises(ProgrammeError) as same:
        check_scores(yaml.safe_load(PROGRAMME_FILE.read_text(encoding="utf-8")), {"1.2": bad})
    assert refused.value.problems == same.value.problems
    text = str(refused.value)
    assert ("out of range: expected 0 to 5 / คะแนนต้องอยู่ระหว่าง 0 ถึง 5" in text if bad != "abc"
            else "expected a number; got 'abc' / คะแนนต้องเป็นตัวเลข" in text)
    assert count(web.db, Assessment) == 0 and count(web.db, Event) == events  # not even the good score


def test_who_and_what_the_assessment_refuses(web) -> None:
    app_id = applied(web, TOWN)[TOWN]
    # Another programme of the same owner: the application is not one of its applications.
    data = yaml.safe_load(PROGRAMME_FILE.read_text(encoding="utf-8"))
    t = now()
    data |= {"key": "eco-town-2566", "year": 2566, "fiscal_year": 2566,
             "window": {"opens": (t - timedelta(days=5)).strftime("%Y-%m-%d %H:%M"),
                        "closes": (t + timedelta(days=5)).strftime("%Y-%m-%d %H:%M")}}
    create_programme(web.db, data)
    from saraban.programmes.assessors import appoint_assessor

    appoint_assessor(web.db, "eco-town-2566", "deqp.assessor")
    cases = [
        (dict(programme_key="eco-town-2566"), "no application"),
        (dict(assessor="deqp.assessor2"), "not an assessor appointed to programme 'eco-town-2565'"),
        (dict(assessor="deqp.head"), "not an assessor appointed"),
        (dict(assessor="town.clerk"), "not an assessor appointed"),
        (dict(comments={"2.1": "ยังไม่ได้ให้คะแนน"}), "comments.2.1: ให้คะแนนตัวชี้วัด 2.1 ก่อน"),
        (dict(comments={"1.1": "x" * 2001}), "longer than 2000 characters"),
        (dict(comments={"1.1": "ซ่อน\u200bอักษร"}), "comments.1.1"),
        (dict(scores={"9.9": 1}), "scores.9.9: unknown indicator"),
        (dict(application_id=99999), "no application 99999"),
    ]
    for change, message in cases:
        call = dict(programme_key=PROGRAMME_KEY, application_id=app_id, scores={"1.1": 3}, comments=None,
                    assessor="deqp.assessor") | change
        with pytest.raises(ProgrammeError, match=message.replace(".", r"\.").replace("(", r"\(")):
            record_scores(web.db, call["programme_key"], call["application_id"], call["scores"], call["comments"],
                          assessor=call["assessor"])
    assert count(web.db, Assessment) == 0
    assert count(web.db, Event, Event.kind == "assessment.scored") == 0


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_announce_is_refused_while_open_unassessed_or_without_applications_and_changes_nothing(web) -> None:
    app_id = applied(web, TOWN)[TOWN]
    letters = count(web.db, Letter)
    with pytest.raises(ProgrammeError, match="ยังอยู่ในช่วงรับสมัคร"):
        announce(web.db, web.settings, PROGRAMME_KEY, actor="deqp.head")
    later = now() + timedelta(days=40)  # the window closed
    with pytest.raises(ProgrammeError) as refused:
        announce(web.db, web.settings, PROGRAMME_KEY, actor="deqp.head", at=later)
    assert "ยังประเมินไม่ครบ 1 ใบสมัคร" in str(refused.value)
    assert "เทศบาลเมืองกระบี่ (muni.8101.krabi): ประเมินแล้ว 0 จาก 35 ตัวชี้วัด" in str(refused.value)
    record_scores(web.db, PROGRAMME_KEY, app_id, dict.fromkeys(keys(web.db)[:-1], 5), assessor="deqp.assessor")
    with pytest.raises(ProgrammeError, match="ประเมินแล้ว 34 จาก 35"):
        announce(web.db, web.settings, PROGRAMME_KEY, actor="deqp.head", at=later)
    assert (count(web.db, Announcement), count(web.db, Result), count(web.db, Letter)) == (0, 0, letters)
    assert count(web.db, Event, Event.kind == "programme.announced") == 0


def test_the_announcement_lists_units_by_level_and_each_applicant_gets_one_result_letter(web) -> None:
    ids = applied(web, TOWN, PATONG, closed=True)
    score_all(web, ids[TOWN], 4.5)  # 90 %: ระดับแพลทินัม
    score_all(web, ids[PATONG], 3)  # 60 %: ระดับทองแดง
    registered = count(web.db, RegisterEntry, RegisterEntry.series == "send")
    done = announce(web.db, web.settings, PROGRAMME_KEY, actor="deqp.head")
    assert done.new and {r.unit_key: r.level for r in done.results} == {TOWN: "ระดับแพลทินัม", PATONG: "ระดับทองแดง"}

    text = pdf_text(done.pdf)
    assert "ประกาศกรมส่งเสริมคุณภาพสิ่งแวดล้อม" in text
    assert "ผลการประเมินโครงการเมืองน่าอยู่" in text and "ประจำปี ๒๕๖๕" in text
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    platinum = lines.index("๑. ระดับแพลทินัม (โล่รางวัล) จำนวน ๑ แห่ง")
    copper = lines.index("๒. ระดับทองแดง (โล่รางวัล) จำนวน ๑ แห่ง")
    assert platinum < copper  # the highest level first
    assert lines[platinum + 1] == "๑) เทศบาลเมืองกระบี่ จังหวัดกระบี่"
    assert lines[copper + 1] == "๑) เทศบาลเมืองป่าตอง จังหวัดภูเก็ต"
    assert "ระดับทอง " not in text and "ระดับเงิน" not in text  # a level no unit reached is left out
    assert done.docx.exists()

    # One result letter per applicant, in the owner's send register, delivered to the unit; the ประกาศ's hash
    # recorded for /verify with each.
    assert count(web.db, RegisterEntry, RegisterEntry.series == "send") == registered + 2
    with web.db.reading() as s:
        for r in done.results:
            letter = s.get(Letter, r.letter_id)
            unit = s.scalar(select(Unit).where(Unit.key == r.unit_key))
            assert letter.subject.startswith("แจ้งผลการประเมินโครงการเมืองน่าอยู่")
            assert r.level in " ".join(letter.spec["body"])
            assert s.scalar(select(func.count()).select_from(RegisterEntry).where(
                RegisterEntry.letter_id == letter.id, RegisterEntry.series == "send")) == 1
            assert s.scalar(select(Delivery).where(Delivery.letter_id == letter.id)).unit_id == unit.id
            assert s.scalar(select(IssuedFile).where(IssuedFile.letter_id == letter.id,
                                                     IssuedFile.kind == "announcement")) is not None

    # Announcing again gives the same announcement, letters and file: nothing new.
    again = announce(web.db, web.settings, PROGRAMME_KEY, actor="deqp.head")
    assert not again.new and again.results == done.results and again.pdf == done.pdf
    assert count(web.db, RegisterEntry, RegisterEntry.series == "send") == registered + 2
    # The results are final: scores no longer change, and no late paper application is recorded any more.
    with pytest.raises(ProgrammeError, match="ประกาศผล.*แล้ว"):
        score_all(web, ids[TOWN], 1)
    applications = count(web.db, Application)
    with pytest.raises(ProgrammeError, match="ประกาศผล.*แล้ว ไม่รับใบสมัครเพิ่ม"):
        record_late_application(web.db, web.settings, PROGRAMME_KEY, "muni.8101.krabi", contact=CONTACT,
                                reason="ส่งทางไปรษณีย์", received_on=now().date(), actor="deqp.clerk")
    assert count(web.db, Application) == applications


def test_two_heads_announcing_at_the_same_moment_make_one_announcement_and_one_letter_per_applicant(web) -> None:
    ids = applied(web, TOWN, PATONG, closed=True)
    score_all(web, ids[TOWN], 4)
    score_all(web, ids[PATONG], 2)  # 40 %: below the lowest level
    letters = count(web.db, Letter)
    n = 4
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = announce(web.db, web.settings, PROGRAMME_KEY, actor=f"head-{i}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert sorted(r.new for r in results) == [False] * (n - 1) + [True]
    assert len({r.announcement_id for r in results}) == 1
    assert all(r.results == results[0].results for r in results)  # every caller is told the same
    assert count(web.db, Announcement) == 1 and count(web.db, Result) == 2
    assert count(web.db, Letter) == letters + 2  # one result letter per applicant
    assert count(web.db, Event, Event.kind == "programme.announced") == 1
    assert count(web.db, Event, Event.kind == "result.letter_issued") == 2
    assert {r.level for r in results[0].results} == {"ระดับทอง", None}
    with web.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 2
