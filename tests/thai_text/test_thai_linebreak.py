"""Where a printed Thai line may break (thai_text.linebreak)."""

from __future__ import annotations

import re

from thai_text.linebreak import NBSP, WJ, ZWSP, base_chars, mark_breaks, strip_marks, word_boundaries


def _breaks(text: str) -> list[str]:
    """The pieces between break opportunities (ZWSP and ordinary spaces)."""
    return [strip_marks(p) for p in re.split(f"[{ZWSP} ]", mark_breaks(text)) if strip_marks(p)]


def test_words_never_break_inside():
    pieces = _breaks("รายละเอียดปรากฏตามสิ่งที่ส่งมาพร้อมนี้ และพิจารณามอบหมายหน่วยงาน")
    assert "รายละเอียด" in pieces and "มอบหมาย" in pieces and "หน่วยงาน" in pieces
    assert "ราย" not in pieces and "มอบ" not in pieces


def test_units_a_clerk_reads_as_one():
    marked = mark_breaks("ตามหนังสือที่ กบ ๐๐๒๓.๖/ว ๑๗๗๕ ลงวันที่ ๒๖ มีนาคม ๒๕๖๗ ปีงบประมาณ พ.ศ. ๒๕๖๗ "
                         "ติดต่อนาย สมชาย โทร. ๐ ๗๕๖๑ ๑๒๓๔ เวลา ๐๘.๓๐ น. ณ สำนักงาน (สสส.)")
    pieces = [strip_marks(p) for p in re.split(f"[{ZWSP} ]", marked)]
    for whole in ("ที่ กบ ๐๐๒๓.๖/ว ๑๗๗๕", "๒๖ มีนาคม ๒๕๖๗", "พ.ศ. ๒๕๖๗", "นาย สมชาย", "โทร. ๐ ๗๕๖๑ ๑๒๓๔",
                  "๐๘.๓๐ น.", "สำนักงาน (สสส.)"):
        assert whole in pieces, whole
    assert NBSP in marked


def test_marks_are_invisible_and_reversible():
    text = "ด้วยจังหวัดกระบี่ได้รับแจ้งจากกรมส่งเสริมการปกครองท้องถิ่น ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔ PM2.5 https://x.org/a"
    marked = mark_breaks(text)
    assert strip_marks(marked) == text
    assert set(marked) - set(text) <= {WJ, ZWSP, NBSP}
    assert "https://x.org/a" in marked and "PM2.5" in marked  # Latin and links untouched
    assert mark_breaks("") == ""


def test_no_joiner_between_a_consonant_and_its_marks():
    marked = mark_breaks("น้ำที่ไหลผ่านสำนักงาน")
    assert not re.search(f"{WJ}[\u0e31\u0e33-\u0e3a\u0e47-\u0e4e]", marked)


def test_word_boundaries_count_base_characters():
    assert base_chars("รับ แจ้ง") == "รบแจง"
    bounds = word_boundaries("ได้รับแจ้ง")
    assert 0 in bounds and len(base_chars("ได้รับแจ้ง")) in bounds
