import pytest
from hypothesis import given
from hypothesis import strategies as st

from thai_text import (
    apply_digits,
    thai_digits_in_prose,
    to_arabic_digits,
    to_thai_digits,
)

THAI = "๐๑๒๓๔๕๖๗๘๙"


def test_to_thai_digits_all_digits():
    assert to_thai_digits("0123456789") == THAI
    assert to_thai_digits("เป็นจำนวน 123,400.25 บาท") == "เป็นจำนวน ๑๒๓,๔๐๐.๒๕ บาท"


def test_to_thai_digits_int():
    assert to_thai_digits(2567) == "๒๕๖๗"
    assert to_thai_digits(0) == "๐"


def test_to_thai_digits_leaves_other_digits():
    assert to_thai_digits("٣ ३ ½ ² abc") == "٣ ३ ½ ² abc"


def test_to_arabic_digits():
    assert to_arabic_digits(THAI) == "0123456789"
    assert to_arabic_digits("มท ๐๘๒๐.๒/ว ๑๑๔๔") == "มท 0820.2/ว 1144"
    assert to_arabic_digits("") == ""


@given(st.text())
def test_thai_arabic_round_trip(text):
    assert to_thai_digits(to_arabic_digits(to_thai_digits(text))) == to_thai_digits(
        text
    )
    assert to_arabic_digits(to_thai_digits(text)) == to_arabic_digits(text)
    assert not any(c in "0123456789" for c in to_thai_digits(text))
    assert not any(c in THAI for c in to_arabic_digits(text))


@given(st.text(alphabet="0123456789"))
def test_digit_strings_round_trip(text):
    assert to_arabic_digits(to_thai_digits(text)) == text
    assert len(to_thai_digits(text)) == len(text)


@given(st.integers())
def test_int_round_trip(n):
    assert int(to_arabic_digits(to_thai_digits(n))) == n


def test_prose_phone_number():
    assert thai_digits_in_prose("โทร 0 2241 9000 ต่อ 2112") == "โทร ๐ ๒๒๔๑ ๙๐๐๐ ต่อ ๒๑๑๒"


@pytest.mark.parametrize(
    "token",
    [
        "https://x.org/a1",
        "http://www.moi.go.th/page2",
        "www.moi2.go.th",
        "(www.moi2.go.th)",
        "WWW.EXAMPLE1.COM",
        "saraban1@moi.go.th",
        "@user99",
        "ftp://host/1",
        "<https://x.org/a1>",
    ],
)
def test_prose_keeps_links_whole(token):
    assert thai_digits_in_prose(f"ข้อ 1 {token} ข้อ 2") == f"ข้อ ๑ {token} ข้อ ๒"


def test_prose_keeps_whitespace():
    text = "บรรทัด 1\n\tบรรทัด  2 \u00a0 3"
    assert thai_digits_in_prose(text) == "บรรทัด ๑\n\tบรรทัด  ๒ \u00a0 ๓"


def test_prose_www_must_start_a_word():
    # Not a link, so not kept whole: its Thai-context digits turn (digits joined to Latin letters never do).
    assert thai_digits_in_prose("ราคา1,000บาทawww.x") == "ราคา๑,๐๐๐บาทawww.x"
    assert thai_digits_in_prose("ราคา1,000บาท www.x") == "ราคา๑,๐๐๐บาท www.x"


def test_apply_digits():
    assert apply_digits("ดู https://x.org/a1 ข้อ 3", "thai") == "ดู https://x.org/a1 ข้อ ๓"
    assert apply_digits("ข้อ ๓ และ 4", "arabic") == "ข้อ 3 และ 4"


@pytest.mark.parametrize("bad", ["Thai", "roman", "", "th"])
def test_apply_digits_rejects_other_styles(bad):
    with pytest.raises(ValueError, match="digits must be 'thai' or 'arabic'"):
        apply_digits("1", bad)
