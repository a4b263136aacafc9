"""Issue 12 §2: Thai digits by default; digits that belong to Latin text, links and spans the spec keeps
stay as typed (reference/letters.md, "Digits in practice")."""

import pytest

from thai_text import apply_digits, thai_digits_in_prose


@pytest.mark.parametrize("typed", [
    "PM2.5", "PM10", "COVID-19", "(COVID-19)", "ค่าฝุ่นละอองPM2.5เกินมาตรฐาน", "ISO14001",
    "ASEAN ESC Award 2021", "Meeting ID 912 345 6789", "Passcode 2563", "Passcode: 2563", "ISO 14001",
    "ISO 14001:2015", "ISO/IEC 17025", "https://zoom.us/j/9123456789?pwd=25", "saraban1@x.go.th",
])
def test_digits_of_latin_text_and_links_stay_arabic(typed):
    assert thai_digits_in_prose(typed) == typed
    assert thai_digits_in_prose(f"ข้อ 1 {typed} ข้อ 2") == f"ข้อ ๑ {typed} ข้อ ๒"


@pytest.mark.parametrize(("typed", "printed"), [
    ("ปี 2567", "ปี ๒๕๖๗"),
    ("ครั้งที่ 1/2567", "ครั้งที่ ๑/๒๕๖๗"),
    ("โทร. 0 7561 1234", "โทร. ๐ ๗๕๖๑ ๑๒๓๔"),
    ("ที่ ทส 0903/12", "ที่ ทส ๐๙๐๓/๑๒"),
    ("เวลา 08.30 น.", "เวลา ๐๘.๓๐ น."),
    # a Latin phrase ends where Thai or a bracket takes over again
    ("(Video Conference) 4 มิถุนายน 2563", "(Video Conference) ๔ มิถุนายน ๒๕๖๓"),
    ("Passcode 2563 เวลา 08.30 น.", "Passcode 2563 เวลา ๐๘.๓๐ น."),
    ("ดู https://x.org/a1 3 ฉบับ", "ดู https://x.org/a1 ๓ ฉบับ"),
    ("ฝุ่น PM10 และ PM2.5 จำนวน 3 จุด", "ฝุ่น PM10 และ PM2.5 จำนวน ๓ จุด"),
])
def test_digits_in_thai_context_turn(typed, printed):
    assert thai_digits_in_prose(typed) == printed


def test_a_zoom_invitation():
    typed = "ประชุมผ่าน Zoom Meeting ID 912 345 6789 Passcode 2563 วันที่ 4 มิถุนายน 2563 เวลา 08.30 น."
    assert thai_digits_in_prose(typed) == ("ประชุมผ่าน Zoom Meeting ID 912 345 6789 Passcode 2563 "
                                           "วันที่ ๔ มิถุนายน ๒๕๖๓ เวลา ๐๘.๓๐ น.")


def test_spans_to_keep_print_as_typed_wherever_they_appear():
    keep = ["ครั้งที่ 2/2567 ของ ISO", "ก๑-7"]
    typed = "ครั้งที่ 2/2567 ของ ISO และครั้งที่ 3 รหัส ก๑-7 ซ้ำ ครั้งที่ 2/2567 ของ ISO"
    assert apply_digits(typed, "thai", keep) == ("ครั้งที่ 2/2567 ของ ISO และครั้งที่ ๓ รหัส ก๑-7 ซ้ำ "
                                                  "ครั้งที่ 2/2567 ของ ISO")
    assert apply_digits(typed, "arabic", keep) == typed.replace("ก๑-7", "ก๑-7")
    assert apply_digits("เลข ๕ รหัส ก๑", "arabic", ["ก๑"]) == "เลข 5 รหัส ก๑"
    assert apply_digits("ปี 2567", "thai", [""]) == "ปี ๒๕๖๗"  # an empty span keeps nothing


def test_whitespace_is_kept_exactly():
    typed = "PM2.5\n\tปี  2567\u00a0ISO 14001"
    assert thai_digits_in_prose(typed) == "PM2.5\n\tปี  ๒๕๖๗\u00a0ISO 14001"


def test_a_count_after_a_latin_name_is_thai_prose():
    assert thai_digits_in_prose("ประชุมผ่าน Zoom 2 ครั้ง และ EIA 3 ฉบับ") == "ประชุมผ่าน Zoom ๒ ครั้ง และ EIA ๓ ฉบับ"
    assert thai_digits_in_prose("Passcode 2563 วันที่ 4") == "Passcode 2563 วันที่ ๔"
