"""The web face in a real browser (Debian's chromium driven by Playwright) against the app served by uvicorn:
what a clerk sees and presses, step by step, with a screenshot of every step (tests/browser.py says where).

The story of issue 10: the department's clerk issues a circular to two provinces; กระบี่'s clerk logs in,
opens the copy through its QR link, presses ลงรับ, forwards it to the districts; a district clerk receives it;
the department's follow page shows the counts."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from saraban.kernel.clock import today
from saraban.records.models import Delivery, Unit
from tests.browser import (  # noqa: F401 (fixtures)
    blank_tab,
    launch_chromium,
    log_in,
    log_out,
    open_tabs,
    screenshot_folder,
    screenshots_of_test,
    serve_app,
)
from tests.stored import local
from tests.web import PASSWORD

WRONG_LOGIN = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"


def test_login_through_the_login_page(live_server, page, screenshots):
    """A wrong password is refused in Thai on the login page; the right one opens the office's home page."""
    response = page.goto("/login")
    assert response.headers["content-type"].replace(" ", "").lower() == "text/html;charset=utf-8"
    log_in(page, "krabi.clerk", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text(WRONG_LOGIN)
    expect(page.get_by_label("ชื่อผู้ใช้")).to_have_value("krabi.clerk")  # typed once, kept
    screenshots.take(page, "wrong-password")

    log_in(page, "krabi.clerk")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("กระบี่")
    expect(page.get_by_text("สวัสดี คุณkrabi.clerk")).to_be_visible()
    expect(page.get_by_role("link", name="หนังสือเข้า").first).to_be_visible()
    screenshots.take(page, "home")

    log_out(page)
    expect(page.get_by_role("heading", name="เข้าสู่ระบบสารบรรณ")).to_be_visible()


# --------------------------------------------------------------------------------------------- the story

SUBJECT = "ขอเชิญประชุมเชิงปฏิบัติการลดมลพิษในพื้นที่อุตสาหกรรม"
PARAGRAPHS = ("ด้วยกรมส่งเสริมการปกครองท้องถิ่นจะจัดประชุมเชิงปฏิบัติการลดมลพิษในพื้นที่อุตสาหกรรม",
              "จึงขอให้จังหวัดแจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบ")
TO = "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่ และจังหวัดภูเก็ต"
FILES_DONE = "ทำไฟล์ครบแล้ว"
FILES_TIMEOUT = 90_000  # ms: copies and PDFs made by LibreOffice in the server's background


def thai(number: int | str) -> str:
    from thai_text import to_thai_digits

    return to_thai_digits(str(number))


def tracking_links(pdf: Path, base_url: str, folder: Path) -> list[str]:
    """The tracking links of the QR codes on page 1 of a copy, as a phone scanning the print reads them
    (pdftoppm at 150 dpi, zxing-cpp)."""
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True)
    (png,) = folder.glob(f"{pdf.stem}*.png")
    texts = [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(png))]
    return [text for text in texts if text.startswith(f"{base_url}/t/")]


def copy_of(live_server, letter_id: int, unit_key: str) -> Delivery:
    with live_server.db.reading() as s:
        return s.scalar(select(Delivery).join(Unit, Unit.id == Delivery.unit_id)
                        .where(Delivery.letter_id == letter_id, Unit.key == unit_key))


def first_receipt() -> str:
    """The office's first receive number of the year, as pages show it: ``เลขรับ ๑/๒๕๖๙``."""
    return f"เลขรับ {thai(1)}/{thai(today().year + 543)}"


def field(tab, label: str):
    """The form field whose label starts with ``label`` (a label's name also holds its field's text)."""
    return tab.get_by_label(re.compile(r"^\s*" + re.escape(label)))


def id_in(url: str, pattern: str) -> int:
    found = re.search(pattern, url)
    assert found, f"{pattern!r} not in {url}"
    return int(found[1])


def expect_page_image(tab) -> None:
    """The letter's page 1 is shown as an image, loaded (not a broken picture)."""
    image = tab.locator("img.page").first
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()
    tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                          timeout=FILES_TIMEOUT)


def wait_for_files(tab, screenshots, name: str) -> None:
    """On /letters/{id}/progress: htmx polls until every copy and PDF is made."""
    expect(tab).to_have_url(re.compile(r"/letters/\d+/progress$"))
    expect(tab.get_by_role("status")).to_contain_text(FILES_DONE, timeout=FILES_TIMEOUT)
    screenshots.take(tab, name)


def test_story_of_a_circular_down_the_chain(live_server, tab_of, screenshots, tmp_path):
    """The department issues a circular to two provinces on the web; กระบี่ receives it from its QR code and
    forwards it to its districts; เมืองกระบี่ receives it from its inbox; the department follows it."""
    started = time.monotonic()
    dept = tab_of("dept.clerk")
    letter_id = issue_on_the_web(dept, tab_of("dept.head"), screenshots)
    krabi_copy = copy_of(live_server, letter_id, "prov.81")
    assert krabi_copy.pdf_key, "กระบี่'s copy has no PDF"
    # as a phone scans the print
    (link,) = tracking_links(local(live_server.settings, krabi_copy.pdf_key), live_server.url, tmp_path)
    krabi = receive_from_the_qr_code(tab_of(), link, krabi_copy.id, screenshots)
    others_scan_the_qr_code(tab_of("phuket.clerk"), link, screenshots)
    forward_id = forward_to_the_districts(krabi, screenshots)
    receive_from_the_inbox(tab_of("mueang.clerk"), live_server, forward_id, screenshots)
    follow_the_chain(dept, letter_id, screenshots)
    print(f"\nstory on {live_server.kind}: {time.monotonic() - started:.1f} s, screenshots in {screenshots.folders[0]}")
    print(screenshots.timings())


def issue_on_the_web(dept, head, screenshots) -> int:
    """The department's clerk writes the circular in the issue form, sees it as it will print and asks the head,
    who approves it; the clerk issues it: numbered from the ว series, the copies and PDFs made while the page
    shows the progress. The letter's id."""
    dept.get_by_role("link", name="ออกหนังสือ").click()
    dept.get_by_role("link", name="เขียนหนังสือใหม่").click()
    expect(dept.get_by_role("heading", level=1)).to_have_text("เขียนหนังสือใหม่")
    field(dept, "ชนิดหนังสือ").select_option(label="หนังสือประทับตรา")
    field(dept, "หนังสือเวียน").check()
    field(dept, "เรียน/ถึง").fill(TO)
    field(dept, "ผู้รับ").fill("prov.81,prov.83")
    field(dept, "เรื่อง").fill(SUBJECT)
    field(dept, "ย่อหน้าที่ ๑").fill(PARAGRAPHS[0])
    dept.get_by_role("button", name="เพิ่มย่อหน้า").click()
    field(dept, "ย่อหน้าที่ ๒").fill(PARAGRAPHS[1])
    screenshots.take(dept, "dept-writes-circular")
    dept.get_by_role("button", name="บันทึกร่าง").click()
    expect(dept.get_by_role("status")).to_contain_text("บันทึกแล้ว")
    expect(dept.locator("#status")).to_have_text("ร่าง")
    draft_id = id_in(dept.url, r"/drafts/(\d+)")

    dept.get_by_role("button", name="ดูตัวอย่าง").click()
    expect(dept.get_by_role("heading", name="ตัวอย่างหนังสือ (ยังไม่ออกเลข)")).to_be_visible(timeout=FILES_TIMEOUT)
    expect_page_image(dept)
    screenshots.take(dept, "dept-preview")
    dept.get_by_role("button", name="ส่งขออนุมัติ").click()
    expect(dept.locator("#status")).to_have_text("รออนุมัติ")
    screenshots.take(dept, "dept-asks-approval")

    head.get_by_role("link", name="ออกหนังสือ").click()
    expect(head.locator("#waiting")).to_have_text(thai(1))
    head.get_by_role("link", name=SUBJECT).click()
    expect(head).to_have_url(re.compile(rf"/drafts/{draft_id}$"))
    head.get_by_role("button", name="อนุมัติ").click()
    expect(head.locator("#status")).to_have_text("อนุมัติแล้ว")
    expect(head.get_by_text("อนุมัติโดย คุณdept.head")).to_be_visible()
    screenshots.take(head, "head-approves")

    dept.goto(f"/drafts/{draft_id}")
    expect(dept.locator("#status")).to_have_text("อนุมัติแล้ว")
    dept.get_by_role("button", name="ออกเลขและส่ง").click()
    wait_for_files(dept, screenshots, "dept-issued-files-made")
    expect(dept.get_by_role("heading", level=1)).to_contain_text("มท ๐๘๒๐.๒/ว")
    expect(dept.get_by_role("status")).to_contain_text(f"สำเนาของผู้รับ {thai(2)} ฉบับ")
    return id_in(dept.url, r"/letters/(\d+)/progress")


def receive_from_the_qr_code(krabi, link: str, delivery_id: int, screenshots):
    """The QR code of กระบี่'s copy leads to the tracking page, where anyone sees that the letter is genuine;
    กระบี่'s clerk logs in from there, is back on the copy with the ลงรับ button, presses it: receipt number ๑.
    The tab, left on the delivery's page in the inbox."""
    krabi.goto(link)
    expect(krabi.get_by_role("heading", level=1)).to_have_text("หนังสือฉบับนี้ออกจากระบบสารบรรณจริง")
    expect(krabi.get_by_text(SUBJECT)).to_be_visible()
    expect(krabi.get_by_text("ยังไม่ลงรับ")).to_be_visible()
    expect(krabi.get_by_role("button", name="ลงรับ")).to_have_count(0)  # not logged in: no button
    screenshots.take(krabi, "krabi-scanned-qr")

    krabi.get_by_role("link", name="เข้าสู่ระบบเพื่อลงรับ").click()
    krabi.get_by_label("ชื่อผู้ใช้").fill("krabi.clerk")
    krabi.get_by_label("รหัสผ่าน").fill(PASSWORD)
    krabi.get_by_role("button", name="เข้าสู่ระบบ").click()
    expect(krabi).to_have_url(link)
    screenshots.take(krabi, "krabi-logged-in-on-copy")
    krabi.get_by_role("button", name="ลงรับ").click()
    expect(krabi.get_by_text("ลงรับแล้ว").first).to_be_visible()
    expect(krabi.get_by_text(first_receipt())).to_be_visible()
    expect(krabi.get_by_role("button", name="ลงรับ")).to_have_count(0)
    expect(krabi).to_have_url(re.compile(r"/t/[A-Za-z0-9_-]+$"))  # back on the tracking page
    screenshots.take(krabi, "krabi-received")
    krabi.get_by_role("link", name="เปิดหนังสือในหนังสือเข้า").click()
    expect(krabi).to_have_url(re.compile(rf"/deliveries/{delivery_id}$"))
    expect(krabi.get_by_text(SUBJECT)).to_be_visible()
    expect_page_image(krabi)
    screenshots.take(krabi, "krabi-received-delivery")
    return krabi


def others_scan_the_qr_code(phuket, link: str, screenshots) -> None:
    """ภูเก็ต's clerk scanning กระบี่'s copy sees that it is genuine and received, but no ลงรับ and no way into
    กระบี่'s inbox; a tampered code gets a plain refusal."""
    phuket.goto(link)
    expect(phuket.get_by_role("heading", level=1)).to_have_text("หนังสือฉบับนี้ออกจากระบบสารบรรณจริง")
    expect(phuket.get_by_text("ลงรับแล้ว")).to_be_visible()
    expect(phuket.get_by_role("button", name="ลงรับ")).to_have_count(0)
    expect(phuket.get_by_role("link", name=re.compile("เปิดหนังสือ"))).to_have_count(0)
    screenshots.take(phuket, "phuket-scans-krabi-copy")
    token = link.rsplit("/", 1)[1]
    phuket.goto(f"/t/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
    expect(phuket.get_by_role("heading", level=1)).to_have_text("ไม่พบหนังสือตามรหัสนี้")
    expect(phuket.get_by_text(SUBJECT)).to_have_count(0)
    screenshots.take(phuket, "tampered-code-refused")


def forward_to_the_districts(krabi, screenshots) -> int:
    """From the received letter, กระบี่ forwards it to the next level of the chain: the checklist of its units
    comes ticked; it issues; the files are made. The forwarding letter's id."""
    delivery_id = id_in(krabi.url, r"/deliveries/(\d+)")
    krabi.get_by_role("link", name="ส่งต่อ").click()
    expect(krabi).to_have_url(re.compile(rf"/deliveries/{delivery_id}/forward"))
    expect(krabi.get_by_role("heading", level=1)).to_contain_text("ส่งต่อหนังสือ ที่ มท ๐๘๒๐.๒/ว")
    units = krabi.locator(".checklist").get_by_role("checkbox")
    expect(units).to_have_count(10)  # the 8 districts, the town municipality and the PAO of กระบี่
    for i in range(10):
        expect(units.nth(i)).to_be_checked()
    expect(field(krabi, "ที่ว่าการอำเภอเมืองกระบี่")).to_be_checked()
    screenshots.take(krabi, "krabi-forward-form")
    krabi.get_by_role("button", name="ดูตัวอย่างก่อนออกเลข").click()
    expect(krabi.get_by_role("heading", name="ตัวอย่างหนังสือส่งต่อ (ยังไม่ออกเลข)")).to_be_visible(
        timeout=FILES_TIMEOUT)
    expect_page_image(krabi)
    expect(units).to_have_count(10)
    expect(field(krabi, "ที่ว่าการอำเภอเมืองกระบี่")).to_be_checked()
    screenshots.take(krabi, "krabi-forward-preview")
    krabi.get_by_role("button", name="ออกเลข ว และส่งต่อ").click()
    wait_for_files(krabi, screenshots, "krabi-forwarded-files-made")
    expect(krabi.get_by_role("heading", level=1)).to_contain_text("กบ ๐๐๒๓.๖/ว")
    expect(krabi.get_by_role("status")).to_contain_text(f"สำเนาของผู้รับ {thai(10)} ฉบับ")
    return id_in(krabi.url, r"/letters/(\d+)/progress")


def receive_from_the_inbox(mueang, live_server, forward_id: int, screenshots) -> None:
    """เมืองกระบี่'s clerk sees one letter waiting, finds it in the inbox (not yet received) and receives it:
    receipt number ๑ of the district."""
    expect(mueang.locator("#waiting")).to_have_text(thai(1))
    mueang.get_by_role("link", name="หนังสือเข้า").first.click()
    expect(mueang).to_have_url(re.compile(r"/inbox"))
    row = mueang.get_by_role("row").filter(has_text=SUBJECT)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("รอลงรับ")
    expect(row).to_contain_text("กบ ๐๐๒๓.๖/ว ๑")  # กระบี่'s first ว number
    screenshots.take(mueang, "mueang-inbox")
    row.get_by_role("link").first.click()
    mueang_copy = copy_of(live_server, forward_id, "amphoe.8101")
    expect(mueang).to_have_url(re.compile(rf"/deliveries/{mueang_copy.id}$"))
    mueang.get_by_role("button", name="ลงรับ").click()
    expect(mueang.get_by_role("status")).to_contain_text("ลงรับแล้ว")
    expect(mueang.get_by_role("status")).to_contain_text(first_receipt())
    expect(mueang.get_by_role("button", name="ลงรับ")).to_have_count(0)
    screenshots.take(mueang, "mueang-received")


def follow_the_chain(dept, letter_id: int, screenshots) -> None:
    """The department's follow page counts the chain level by level: of the two provinces one received and
    forwarded, ภูเก็ต is listed as missing; of กระบี่'s eight districts one received. Drilling down to
    กระบี่ shows its forwarding letter and what it reached."""
    dept.get_by_role("link", name="ติดตาม").first.click()
    dept.get_by_role("link", name="มท ๐๘๒๐.๒/ว ๑").click()
    expect(dept).to_have_url(re.compile(rf"/follow/{letter_id}$"))
    expect(dept.get_by_role("heading", level=1)).to_have_text(re.compile("ติดตามหนังสือ ที่ มท ๐๘๒๐.๒/ว"))
    # ระดับ: ส่งแล้ว ลงรับแล้ว ส่งต่อแล้ว ยังไม่ลงรับ ยังไม่ส่งต่อ ยังไม่ครบ
    expect_counts(dept, "province_office", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", [2, 1, 1, 1, 0, 1])
    expect_counts(dept, "district_office", "ที่ว่าการอำเภอ", [8, 1, 0, 7, 0, 7])
    expect_counts(dept, "town_municipality", "เทศบาลเมือง", [1, 0, 0, 1, 0, 1])
    expect_counts(dept, "pao", "องค์การบริหารส่วนจังหวัด", [1, 0, 0, 1, 0, 1])
    missing = dept.locator("table.missing tr[data-unit='prov.83']")
    expect(missing).to_contain_text("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดภูเก็ต")
    expect(dept.get_by_role("button", name="ทวงถามเดี๋ยวนี้")).to_be_visible()
    screenshots.take(dept, "dept-follow")

    dept.locator("table.recipients").get_by_role("link", name="สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่").click()
    expect(dept.get_by_role("heading", level=2).first).to_have_text(re.compile("จังหวัดกระบี่"))
    expect(dept.get_by_text("กบ ๐๐๒๓.๖/ว ๑").first).to_be_visible()
    expect_counts(dept, "district_office", "ที่ว่าการอำเภอ", [8, 1, 0, 7, 0, 7])
    screenshots.take(dept, "dept-follow-krabi")


def expect_counts(tab, level: str, name: str, counts: list[int]) -> None:
    """The follow page's row of ``level``: its name and counts (Thai digits)."""
    row = tab.locator(f"table.levels tr[data-level='{level}']")
    expect(row.locator("td").first).to_have_text(name)
    expect(row.locator("td.num")).to_have_text([thai(c) for c in counts])
