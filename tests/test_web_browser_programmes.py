"""The programme pages of issue 11 in a real browser (Debian's chromium driven by Playwright) against the app
served by uvicorn (tests/browser.py): what each person sees, step by step, with a screenshot of every step.

The story: DEQP invites Krabi's town municipality to its eco-town programme (tests.web's programme: 4
components, 35 indicators scored 0-5, 5 award levels). The town's clerk scans the QR code of its copy, logs
in from there, fills the contact and the self-assessment while the running percentage and provisional level
change (htmx), submits and downloads the numbered acknowledgement (a PDF whose text holds its ที่). Patong,
too late for last year's programme, sees why it cannot apply and nothing to submit. DEQP's clerk sees the
application and กระบี่ covered on the dashboard; the appointed assessor scores the 35 indicators and sees the
level; once the window has closed DEQP's head announces, and the ประกาศ (PDF) lists the town at its level.
Anyone can then check the acknowledgement's PDF at /verify: genuine; one byte changed: not ours."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from saraban.kernel.clock import now, today
from saraban.programmes.applications import create_programme, provisional_level, weighted_percent, window_text
from saraban.records.models import Programme
from tests.browser import (  # noqa: F401 (fixtures)
    blank_tab,
    launch_chromium,
    open_tabs,
    screenshot_folder,
    screenshots_of_test,
    serve_app,
)
from tests.web import ACCOUNTS, PASSWORD, PROGRAMME_FILE, PROGRAMME_KEY, WebWorld, add_accounts
from thai_text import to_arabic_digits, to_thai_digits

LATE_KEY = "eco-town-2564"  # last year's round of the same programme: its window closed yesterday
TOWN = "เทศบาลเมืองกระบี่"
PATONG = "เทศบาลเมืองป่าตอง"
FILES_TIMEOUT = 90_000  # ms: PDFs made by LibreOffice while the request waits


def thai(text: object) -> str:
    return to_thai_digits(str(text))


def percent_text(percent: float) -> str:
    """As the pages show a weighted percentage: ``ร้อยละ ๘๕.๐๐``."""
    return thai(f"{percent:.2f}")


def definition() -> dict:
    return yaml.safe_load(PROGRAMME_FILE.read_text(encoding="utf-8"))


def indicator_keys(component: str | None = None) -> list[str]:
    return [i["key"] for c in definition()["structure"]["components"] for i in c["indicators"]
            if component is None or c["key"] == component]


# The town's self-assessment: full marks in component 1, 4 of 5 elsewhere (85 %: ระดับทอง). The assessor's
# scores: 3 of 5, 4 of 5 in component 4 (65 %: ระดับทองแดง), so that the pages show the assessor's level.
SELF = {k: "5" if k.startswith("1.") else "4" for k in indicator_keys()}
ASSESSED = {k: "4" if k.startswith("4.") else "3" for k in indicator_keys()}


def pdf_text(path: Path) -> str:
    """The PDF's text as pypdf reads it, and pdftotext's (Thai's combining marks come out in either order;
    each has the reference number and the names whole)."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    poppler = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return text + "\n" + poppler.stdout


def squeezed(text: str) -> str:
    """Without blanks, Thai digits: ``ทส ๐๙๐๓/๑`` and ``ทส 0903/1`` both read ``ทส๐๙๐๓/๑``."""
    return re.sub(r"\s+", "", thai(text))


@pytest.fixture(name="world", scope="module")
def programme_world(live_server):
    """The live server's database with tests.web's programme (its people, the invitation sent to Krabi's town
    municipality only), the town's clerk, and last year's round of the programme, closed yesterday. The
    town's copy's tracking token (what its QR code holds)."""
    add_accounts(live_server.db, {"town.clerk": ACCOUNTS["town.clerk"]})
    world = WebWorld(db=live_server.db, settings=live_server.settings, app=live_server.app)
    programme = world.programme(to="muni.8101.krabi")
    late = definition()
    at = now()
    late.update(key=LATE_KEY, year=2564, fiscal_year=2564)
    late["window"] = {"opens": (at - timedelta(days=60)).strftime("%Y-%m-%d %H:%M"),
                      "closes": (at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "time_zone": "Asia/Bangkok"}
    create_programme(live_server.db, late, actor="deqp.clerk")
    return programme


def programme_row(live_server, key: str) -> Programme:
    with live_server.db.reading() as s:
        return s.scalar(select(Programme).where(Programme.key == key))


def test_story_of_a_programme(live_server, world, tab_of, screenshots, tmp_path):
    started = time.monotonic()
    town = tab_of()  # the town's clerk, at first not logged in: a phone that scanned the QR code
    ack_ref, ack_pdf, application_id = apply_from_the_qr_code(town, live_server, world.tokens["muni.8101.krabi"],
                                                              screenshots, tmp_path)
    too_late(tab_of("patong.clerk"), live_server, screenshots)
    owner_sees_the_dashboard(tab_of("deqp.clerk"), application_id, screenshots)
    assessor_scores(tab_of("deqp.assessor"), application_id, screenshots, tmp_path)
    close_the_window(live_server)
    head_announces(tab_of("deqp.head"), live_server, screenshots, tmp_path)
    anyone_verifies(tab_of(), ack_pdf, ack_ref, screenshots, tmp_path)
    print(f"\nprogramme story on {live_server.kind}: {time.monotonic() - started:.1f} s, "
          f"screenshots in {screenshots.folders[0]}")
    print(screenshots.timings())


# ------------------------------------------------------------------------------------------------ 1. apply


def apply_from_the_qr_code(town, live_server, token: str, screenshots, folder: Path) -> tuple[str, Path, int]:
    """The QR link of the town's copy: the genuine letter and the way to the application; logging in from there
    leads to it. The clerk fills the contact and the 35 scores; the percentage and the level follow the typing;
    submitting receives the invitation and gives the acknowledgement, downloaded as a PDF.
    (the acknowledgement's ที่ as the page shows it, its PDF, the application's id)"""
    programme = programme_row(live_server, PROGRAMME_KEY)
    town.goto(f"/t/{token}")
    expect(town.get_by_role("heading", level=1)).to_have_text("หนังสือฉบับนี้ออกจากระบบสารบรรณจริง")
    expect(town.get_by_text("ขอเชิญสมัครเข้าร่วมโครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ")).to_be_visible()
    expect(town.get_by_text("ยังไม่ลงรับ")).to_be_visible()
    screenshots.take(town, "town-scanned-qr")
    town.get_by_role("link", name=f"สมัครเข้าร่วม{programme.name}").click()
    expect(town).to_have_url(re.compile(r"/login\?next="))
    town.get_by_label("ชื่อผู้ใช้").fill("town.clerk")
    town.get_by_label("รหัสผ่าน").fill(PASSWORD)
    town.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(town).to_have_url(f"{live_server.url}/apply/{PROGRAMME_KEY}?t={token}")

    expect(town.get_by_role("heading", level=1)).to_have_text(f"สมัครเข้าร่วม{programme.name} ประจำปี ๒๕๖๕")
    expect(town.locator("#unit")).to_have_text(TOWN)
    expect(town.locator("#window")).to_contain_text(window_text(programme))
    expect(town.locator("#window")).to_contain_text("เปิดรับสมัคร")
    expect(town.get_by_text("ส่งใบสมัครแล้วถือว่าลงรับหนังสือเชิญ")).to_be_visible()
    expect(town.locator("#percent")).to_have_text("ร้อยละ ๐.๐๐")
    expect(town.locator("#level")).to_have_text("ยังไม่ถึงระดับใด")
    screenshots.take(town, "town-application-form")

    town.get_by_label(re.compile(r"^\s*ผู้ประสานงาน")).fill("นางสาวสมใจ รักษ์เมือง")
    town.get_by_label(re.compile(r"^\s*ตำแหน่ง")).fill("นักวิชาการสิ่งแวดล้อมชำนาญการ")
    town.get_by_label(re.compile(r"^\s*โทรศัพท์")).fill("075 611 234")
    town.get_by_label(re.compile(r"^\s*ไปรษณีย์อิเล็กทรอนิกส์")).fill("env@krabicity.example.org")

    # As they type: one indicator, then component 1 (still below every level), then all of them.
    score = score_field(town)
    score("1.1").fill("5")
    expect(town.locator("#percent")).to_have_text(
        f"ร้อยละ {percent_text(weighted_percent(programme, {'1.1': 5.0}))}")
    expect(town.locator("#score")).to_contain_text(f"ให้คะแนนแล้ว {thai(1)} จาก {thai(35)} ตัวชี้วัด")
    for key in indicator_keys("1")[1:]:
        score(key).fill(SELF[key])
    expect(town.locator("#percent")).to_have_text("ร้อยละ ๒๕.๐๐")
    expect(town.locator("#level")).to_have_text("ยังไม่ถึงระดับใด")
    screenshots.take(town, "town-typing-component-1")
    for key in indicator_keys()[len(indicator_keys("1")):]:
        score(key).fill(SELF[key])
    scores = {k: float(v) for k, v in SELF.items()}
    level = provisional_level(programme, scores)
    assert level == "ระดับทอง"
    expect(town.locator("#percent")).to_have_text(f"ร้อยละ {percent_text(weighted_percent(programme, scores))}")
    expect(town.locator("#level")).to_have_text(level)
    expect(town.locator("#score")).to_contain_text(f"ให้คะแนนแล้ว {thai(35)} จาก {thai(35)} ตัวชี้วัด")
    screenshots.take(town, "town-self-assessed")

    town.get_by_role("button", name="ส่งใบสมัคร").click()
    expect(town).to_have_url(re.compile(rf"/apply/{PROGRAMME_KEY}\?t=.+&sent=new$"))
    expect(town.locator("#sent")).to_contain_text("ส่งใบสมัครแล้ว")
    expect(town.locator("#invitation-received")).to_have_text(f"ลงรับแล้ว เลขรับ ๑/{thai(today().year + 543)}")
    ack = town.locator("#ack-ref")
    expect(ack).to_have_text(re.compile(r"^ทส ๐๙๐๓/[๐-๙]+$"))
    ack_ref = ack.inner_text()
    expect(town.locator("#level")).to_have_text(level)
    expect(town.get_by_role("button", name="ปรับปรุงใบสมัคร")).to_be_visible()
    screenshots.take(town, "town-applied")

    with town.expect_download(timeout=FILES_TIMEOUT) as download_info:
        town.get_by_role("link", name="ดาวน์โหลดหนังสือตอบรับ (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"{to_arabic_digits(ack_ref).replace('/', '-')}.pdf"  # ทส 0903-1.pdf
    pdf = folder / "acknowledgement.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert squeezed(ack_ref) in squeezed(text), text[:800]
    assert TOWN in text
    href = town.get_by_role("link", name="ดาวน์โหลดหนังสือตอบรับ (PDF)").get_attribute("href")
    attach_evidence(town, folder, screenshots)
    return ack_ref, pdf, int(re.search(r"/applications/(\d+)/", href)[1])


EVIDENCE = "จุดคัดแยกขยะ.png"


def attach_evidence(town, folder: Path, screenshots) -> None:
    """A photo attached to indicator 1.1 (listed under it); a text file named .pdf is refused by its content,
    in Thai, and nothing is added."""
    photo = folder / EVIDENCE
    Image.new("RGB", (64, 48), (40, 140, 60)).save(photo)
    fake = folder / "รายงาน.pdf"
    fake.write_text("ไม่ใช่ PDF จริง", encoding="utf-8")
    evidence = town.locator("#evidence")
    expect(evidence).to_contain_text("ยังไม่มีไฟล์หลักฐาน")
    evidence.get_by_label("ตัวชี้วัด").select_option("1.1")
    evidence.get_by_label(re.compile(r"^\s*ไฟล์")).set_input_files(photo)
    evidence.get_by_role("button", name="แนบไฟล์").click()
    item = town.locator("ul.evidence li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("ตัวชี้วัด ๑.๑:")
    expect(item.get_by_role("link", name=EVIDENCE)).to_be_visible()

    evidence.get_by_label(re.compile(r"^\s*ไฟล์")).set_input_files(fake)
    evidence.get_by_role("button", name="แนบไฟล์").click()
    expect(town.locator("#evidence-error")).to_contain_text("ตามเนื้อหาของไฟล์")
    # the page again, landed at the evidence section (the message in view), the copy's token kept
    expect(town).to_have_url(re.compile(r"/evidence\?t=.+#evidence$"))
    expect(town.locator("#evidence-error")).to_be_in_viewport()
    expect(town.locator("ul.evidence li")).to_have_count(1)
    screenshots.take(town, "town-evidence")


def score_field(tab):
    """The self-assessment's field of an indicator (labelled ``คะแนนตัวชี้วัด 1.1 (0–5)``)."""
    return lambda key: tab.get_by_label(re.compile(rf"^คะแนนตัวชี้วัด {re.escape(key)} \("))


# --------------------------------------------------------------------------------------------- 2. too late


def too_late(patong, live_server, screenshots) -> None:
    """Patong's clerk finds last year's round among its office's programmes, closed, and opens it: the window
    in Thai and why it is closed; nothing to submit."""
    late = programme_row(live_server, LATE_KEY)
    patong.get_by_role("link", name="สมัครโครงการ", exact=True).click()
    line = patong.locator(f"#programme-{LATE_KEY}")
    expect(line).to_contain_text(window_text(late))
    expect(line.locator(".badge")).to_have_text("ปิดรับสมัคร")
    expect(line).to_contain_text("ยังไม่ได้สมัคร")
    expect(line.get_by_role("link", name="สมัคร", exact=True)).to_have_count(0)
    expect(patong.locator(f"#programme-{PROGRAMME_KEY}").get_by_role("link", name="สมัคร", exact=True)).to_be_visible()
    screenshots.take(patong, "patong-programmes")
    line.get_by_role("link", name=f"{late.name} ประจำปี ๒๕๖๔").click()
    expect(patong).to_have_url(f"{live_server.url}/apply/{LATE_KEY}")
    expect(patong.get_by_role("heading", level=1)).to_have_text(f"สมัครเข้าร่วม{late.name} ประจำปี ๒๕๖๔")
    expect(patong.locator("#unit")).to_have_text(PATONG)
    expect(patong.locator("#window")).to_contain_text(window_text(late))
    expect(patong.locator("#window .badge")).to_have_text("ปิดรับสมัคร")
    expect(patong.get_by_role("alert")).to_have_text(
        f"ปิดรับสมัครแล้ว รับสมัคร{window_text(late)} / the application window has closed")
    expect(patong.get_by_role("button", name=re.compile("ส่งใบสมัคร|ปรับปรุงใบสมัคร|คำนวณคะแนน"))).to_have_count(0)
    expect(patong.locator("input[name^='score.'], input[name^='contact.']")).to_have_count(0)
    screenshots.take(patong, "patong-too-late")


# ---------------------------------------------------------------------------------------------- 3. dashboard


def owner_sees_the_dashboard(deqp, application_id: int, screenshots) -> None:
    """DEQP's clerk: the programme among the office's, its dashboard with the town's application (its contact
    and self-assessed level) and กระบี่ covered, ภูเก็ต not."""
    deqp.get_by_role("link", name="โครงการ", exact=True).click()
    row = deqp.locator(f"tr[data-programme='{PROGRAMME_KEY}']")
    expect(row.locator("td.num").nth(1)).to_have_text("๑")  # applicants
    expect(row.locator("td.num").nth(2)).to_have_text(re.compile(r"^๑ / ๗๖$"))  # provinces covered
    screenshots.take(deqp, "deqp-programmes")
    row.get_by_role("link").click()
    expect(deqp).to_have_url(re.compile(rf"/programmes/{PROGRAMME_KEY}$"))
    expect(deqp.locator("[data-figure='applicants_total']")).to_have_text("๑")
    expect(deqp.locator("[data-figure='provinces_covered']")).to_have_text("๑")
    expect(deqp.locator("[data-figure='provinces_missing']")).to_have_text("๗๕")
    krabi = deqp.locator(".tile[data-province='81']")
    expect(krabi).to_have_class(re.compile(r"\bcovered\b"))
    expect(krabi).to_contain_text("กระบี่")
    expect(krabi.locator(".state")).to_contain_text("มีผู้สมัคร ๑ จาก")
    expect(deqp.locator(".tile[data-province='83']")).to_have_class(re.compile(r"\bmissing\b"))
    expect(deqp.locator("#missing")).not_to_contain_text("กระบี่")
    expect(deqp.locator("#missing")).to_contain_text("ภูเก็ต")
    line = deqp.locator(f"tr[data-application='{application_id}']")
    expect(line).to_contain_text(TOWN)
    expect(line).to_contain_text("กระบี่")
    expect(line).to_contain_text("นางสาวสมใจ รักษ์เมือง")
    expect(line).to_contain_text("๐๗๕ ๖๑๑ ๒๓๔")
    expect(line.locator("td").last).to_have_text("ระดับทอง")
    expect(deqp.locator("tr[data-unit='muni.8101.krabi']")).to_have_count(0)  # not among those still to apply
    screenshots.take(deqp, "deqp-dashboard")


# --------------------------------------------------------------------------------------------- 4. assessment


def assessor_scores(assessor, application_id: int, screenshots, folder: Path) -> None:
    """The appointed assessor finds the application from the dashboard (the town's photo under indicator 1.1,
    opened), scores the 35 indicators with a comment, saves, and sees them all scored and the level (the
    assessor's, not the self-assessment's)."""
    assessor.get_by_role("link", name="โครงการ", exact=True).click()
    assessor.locator(f"tr[data-programme='{PROGRAMME_KEY}']").get_by_role("link").click()
    assessor.locator(f"tr[data-application='{application_id}']").get_by_role("link", name=TOWN).click()
    expect(assessor).to_have_url(re.compile(rf"/programmes/{PROGRAMME_KEY}/applications/{application_id}$"))
    expect(assessor.get_by_role("heading", level=1)).to_have_text(f"ใบสมัคร {TOWN}")
    expect(assessor.locator("#running")).to_contain_text(f"ประเมินแล้ว {thai(0)} จาก {thai(35)} ตัวชี้วัด")
    expect(assessor.locator("#indicator-1\\.1 td.num").first).to_have_text("๕")  # the town's own score
    photo = assessor.locator("#indicator-1\\.1").get_by_role("link", name=EVIDENCE)
    expect(photo).to_be_visible()
    shown = assessor.request.get(photo.get_attribute("href"))  # the assessor's cookies: the file itself
    assert shown.status == 200 and shown.headers["content-type"] == "image/png"
    assert shown.body() == (folder / EVIDENCE).read_bytes()
    for key, value in ASSESSED.items():
        assessor.get_by_label(f"คะแนน {key}", exact=True).fill(value)
    assessor.get_by_label("ความเห็น 1.1", exact=True).fill("มีระบบคัดแยกขยะครบทุกชุมชน แต่ยังไม่มีข้อมูลปริมาณขยะรายเดือน")
    screenshots.take(assessor, "assessor-scoring")
    assessor.get_by_role("button", name="บันทึกคะแนน").click()
    expect(assessor.get_by_role("status")).to_have_text("บันทึกคะแนนแล้ว / scores saved")
    running = assessor.locator("#running")
    expect(running).to_contain_text(f"ประเมินแล้ว {thai(35)} จาก {thai(35)} ตัวชี้วัด")
    expect(running).to_contain_text(f"ร้อยละ {assessed_percent()}")
    expect(running).to_contain_text("ระดับ ระดับทองแดง")
    expect(assessor.get_by_label("ความเห็น 1.1", exact=True)).to_have_value(re.compile("มีระบบคัดแยกขยะ"))
    screenshots.take(assessor, "assessor-scored")


def assessed_percent() -> str:
    return percent_text(weighted_percent(definition(), {k: float(v) for k, v in ASSESSED.items()}))


# ------------------------------------------------------------------------------------------- 5. announcement


def close_the_window(live_server) -> None:
    """Time passes: the window closes (the owner moves its end to two minutes ago; the results are announced
    only after it)."""
    data = definition()
    at = now()
    data["window"] = {"opens": (at - timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
                      "closes": (at - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M"), "time_zone": "Asia/Bangkok"}
    create_programme(live_server.db, data, update=True, actor="deqp.clerk")


def head_announces(head, live_server, screenshots, folder: Path) -> None:
    """DEQP's head: the results so far (the town at ระดับทองแดง), announces them; the result letter's ที่ is
    listed and the ประกาศ (PDF) lists the town under its level."""
    head.goto(f"/programmes/{PROGRAMME_KEY}")
    head.get_by_role("link", name="ผลการประเมิน").first.click()
    expect(head).to_have_url(re.compile(rf"/programmes/{PROGRAMME_KEY}/results$"))
    row = head.locator("table.results tbody tr").filter(has_text=TOWN)
    expect(row).to_contain_text(f"{thai(35)}/{thai(35)}")
    expect(row).to_contain_text(assessed_percent())
    expect(row).to_contain_text("ระดับทองแดง")
    screenshots.take(head, "head-results")
    head.get_by_role("button", name="ประกาศผล").click()
    expect(head).to_have_url(re.compile(r"/results\?announced=1$"), timeout=FILES_TIMEOUT)
    expect(head.get_by_role("status")).to_have_text("ประกาศผลแล้ว / the results are announced")
    expect(head.locator("#announced")).to_contain_text("ประกาศผลแล้วเมื่อ")
    expect(row.locator("td").last).to_have_text(re.compile(r"^ที่ ทส ๐๙๐๓/[๐-๙]+$"))
    expect(head.get_by_role("button", name="ประกาศผล")).to_have_count(0)
    level_row = head.locator("table.levels tr").filter(has_text="ระดับทองแดง")
    expect(level_row.locator("td.num").last).to_have_text("๑")
    screenshots.take(head, "head-announced")

    with head.expect_download(timeout=FILES_TIMEOUT) as download_info:
        head.get_by_role("link", name="PDF", exact=True).click()
    pdf = folder / "announcement.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "ระดับทองแดง" in text and TOWN in text, text[:1500]
    # The town is listed under its level: "๑. ระดับทองแดง (โล่รางวัล) จำนวน ๑ แห่ง", then "๑) เทศบาลเมืองกระบี่ จังหวัดกระบี่".
    assert re.search(r"ระดับทองแดง[^\n]*๑ แห่ง\s*\n\s*๑\) เทศบาลเมืองกระบี่ จังหวัดกระบี่", text), text
    assert "ระดับทอง " not in text and "ระดับเงิน" not in text  # no other level has a unit


# -------------------------------------------------------------------------------------------------- 6. verify


def anyone_verifies(page, ack_pdf: Path, ack_ref: str, screenshots, folder: Path) -> None:
    """Anyone (not logged in) uploads the acknowledgement's PDF to /verify: issued by saraban, its ที่; the same
    file with one byte changed: not a file we issued."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_role("link", name="ตรวจสอบหนังสือ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ตรวจสอบหนังสือ")
    page.get_by_label(re.compile(r"^\s*ไฟล์ PDF ของหนังสือ")).set_input_files(ack_pdf)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    verdict = page.get_by_role("status")
    expect(verdict).to_contain_text("ออกโดยระบบสารบรรณนี้จริง")
    expect(verdict).to_contain_text(f"ที่ {ack_ref}")
    expect(verdict).to_contain_text("กรมส่งเสริมคุณภาพสิ่งแวดล้อม")
    screenshots.take(page, "verify-genuine")

    altered = folder / "altered.pdf"
    data = bytearray(ack_pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered.write_bytes(bytes(data))
    page.get_by_label(re.compile(r"^\s*ไฟล์ PDF ของหนังสือ")).set_input_files(altered)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(page.get_by_role("status")).to_contain_text("ไม่ใช่ไฟล์ที่ระบบนี้ออก")
    expect(page.get_by_role("status")).not_to_contain_text(ack_ref)
    screenshots.take(page, "verify-altered")
