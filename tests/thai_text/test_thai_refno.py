import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thai_text import RefNo, RefNoError

CONSONANTS = "".join(chr(c) for c in range(0x0E01, 0x0E2F))  # ก..ฮ
PREFIXES = st.one_of(
    st.sampled_from(["มท", "ศธ", "กบ", "ทลส.", "นร", "สธ", "กค", "ก.พ.", "ว", "ชม."]),
    st.builds(
        lambda body, dot: body + dot,
        st.text(alphabet=CONSONANTS, min_size=1, max_size=5),
        st.sampled_from(["", "."]),
    ),
)
CODES = st.lists(
    st.text(alphabet="0123456789", min_size=1, max_size=6), min_size=1, max_size=4
).map(".".join)
REFNOS = st.builds(
    RefNo, PREFIXES, CODES, st.integers(min_value=0, max_value=10**7), st.booleans()
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("มท ๐๘๒๐.๒/ว ๑๑๔๔", RefNo("มท", "0820.2", 1144, circular=True)),
        ("มท 0820.2/ว 1144", RefNo("มท", "0820.2", 1144, circular=True)),
        ("ทลส.001/2567", RefNo("ทลส.", "001", 2567)),
        ("ศธ 04056.12/213", RefNo("ศธ", "04056.12", 213)),
        ("กบ ๐๐๒๓.๖/ว ๑๗๗๕", RefNo("กบ", "0023.6", 1775, circular=True)),
        ("ที่ มท 0501.1.13/ว1", RefNo("มท", "0501.1.13", 1, circular=True)),
        ("ที่มท 0501.1.13/ว1", RefNo("มท", "0501.1.13", 1, circular=True)),
        ("  ที่   มท   ๐๘๒๐.๒ / ว  ๑๑๔๔ ", RefNo("มท", "0820.2", 1144, circular=True)),
        ("มท๐๘๒๐.๒/ว๑๑๔๔", RefNo("มท", "0820.2", 1144, circular=True)),
        ("ทลส. 001/2567", RefNo("ทลส.", "001", 2567)),
        ("มท\u00a00820.2/ว\t1144", RefNo("มท", "0820.2", 1144, circular=True)),
        ("ศธ ๐๔๐๕๖.12/0213", RefNo("ศธ", "04056.12", 213)),
    ],
)
def test_parse(text, expected):
    assert RefNo.parse(text) == expected


@pytest.mark.parametrize(
    ("refno", "thai", "arabic"),
    [
        (RefNo("มท", "0820.2", 1144, True), "มท ๐๘๒๐.๒/ว ๑๑๔๔", "มท 0820.2/ว 1144"),
        (RefNo("กบ", "0023.6", 1775, True), "กบ ๐๐๒๓.๖/ว ๑๗๗๕", "กบ 0023.6/ว 1775"),
        (RefNo("ทลส.", "001", 2567), "ทลส.๐๐๑/๒๕๖๗", "ทลส.001/2567"),
        (RefNo("ศธ", "04056.12", 213), "ศธ ๐๔๐๕๖.๑๒/๒๑๓", "ศธ 04056.12/213"),
        (RefNo("มท", "0501.1.13", 1, True), "มท ๐๕๐๑.๑.๑๓/ว ๑", "มท 0501.1.13/ว 1"),
    ],
)
def test_format(refno, thai, arabic):
    assert refno.format() == thai
    assert refno.format("thai") == thai
    assert str(refno) == thai
    assert refno.format("arabic") == arabic


def test_head():
    assert RefNo("มท", "0820.2", 1144, True).head() == "มท ๐๘๒๐.๒/ว "
    assert RefNo("มท", "0820.2", 1144, True).head("arabic") == "มท 0820.2/ว "
    assert RefNo("ทลส.", "001", 2567).head() == "ทลส.๐๐๑/"
    assert RefNo("ศธ", "04056.12", 213).head("arabic") == "ศธ 04056.12/"


def test_format_rejects_bad_digits():
    with pytest.raises(ValueError, match="digits must be"):
        RefNo("มท", "1", 1).format("latin")


def test_code_is_stored_with_arabic_digits():
    assert RefNo("มท", "๐๘๒๐.๒", 1144).code == "0820.2"
    assert RefNo.parse("มท ๐๘๒๐.๒/ว ๑๑๔๔").code == "0820.2"


def test_frozen_and_default():
    refno = RefNo("มท", "0820.2", 1144)
    assert refno.circular is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        refno.number = 2  # type: ignore[misc]


EXPECTED_THAI = (
    "ต้องเป็นรูปแบบ <อักษรย่อ> <เลขประจำส่วนราชการ>/[ว ]<เลขทะเบียนส่ง> เช่น มท ๐๘๒๐.๒/ว ๑๑๔๔"
)
EXPECTED_ENGLISH = "expected <prefix> <code>/[ว ]<number>, e.g. มท 0820.2/ว 1144"


def _message(text):
    with pytest.raises(RefNoError) as info:
        RefNo.parse(text)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith(f"เลขที่หนังสือไม่ถูกต้อง '{text}': ")
    assert f" / invalid reference number '{text}': " in message
    assert EXPECTED_THAI in message
    assert message.endswith(EXPECTED_ENGLISH)
    return message


def test_full_error_message():
    assert _message("มท 0820.2") == (
        "เลขที่หนังสือไม่ถูกต้อง 'มท 0820.2': ไม่มีเครื่องหมาย / หน้าเลขทะเบียนส่ง "
        f"{EXPECTED_THAI} / invalid reference number 'มท 0820.2': "
        f"missing '/' before the number; {EXPECTED_ENGLISH}"
    )


@pytest.mark.parametrize(
    ("text", "thai", "english"),
    [
        ("", "ข้อความว่าง", "empty text"),
        ("   ", "ข้อความว่าง", "empty text"),
        ("มท 0820.2 ว 1144", "ไม่มีเครื่องหมาย /", "missing '/' before the number"),
        ("มท 0820.2/ว", "ไม่มีเลขทะเบียนส่ง", "missing the number after '/'"),
        ("มท 0820.2/", "ไม่มีเลขทะเบียนส่ง", "missing the number after '/'"),
        ("0820.2/ว 1144", "ไม่มีอักษรย่อ", "missing the prefix"),
        ("ที่ 0820.2/ว 1144", "อักษรย่อ 'ที่' ไม่ถูกต้อง", "bad prefix 'ที่'"),
    ],
)
def test_specific_errors(text, thai, english):
    message = _message(text)
    assert thai in message
    assert f"{english}; expected" in message


@pytest.mark.parametrize(
    "text",
    ["มท 08a20/1", "มท ../1", "มท 0820./1", "มท .0820/1", "MT 0820.2/1", "มท 0820.2/ว 11 44",
     "มท 0820.2/ก 1144", "มท 0820.2/ว -3", "มท 0820.2/1/2"],
)  # fmt: skip
def test_generic_errors(text):
    _message(text)


@pytest.mark.parametrize(
    ("fields", "english"),
    [
        (("", "0820.2", 1), "bad prefix ''"),
        (("MT", "0820.2", 1), "bad prefix 'MT'"),
        (("ที่", "0820.2", 1), "bad prefix 'ที่'"),
        (("มท ", "0820.2", 1), "bad prefix 'มท '"),
        (("มท", "", 1), "bad code ''"),
        (("มท", "0820/2", 1), "bad code '0820/2'"),
        (("มท", "08.x", 1), "bad code '08.x'"),
        (("มท", 820, 1), "bad code 820"),
        (("มท", "0820.2", -1), "bad number -1"),
        (("มท", "0820.2", "1"), "bad number '1'"),
        (("มท", "0820.2", True), "bad number True"),
    ],
)
def test_constructor_validates(fields, english):
    with pytest.raises(RefNoError, match="invalid reference number") as info:
        RefNo(*fields)
    assert english in str(info.value)


@given(REFNOS, st.sampled_from(["thai", "arabic"]))
def test_format_parse_round_trip(refno, digits):
    assert RefNo.parse(refno.format(digits)) == refno
    assert RefNo.parse("ที่ " + refno.format(digits)) == refno


@given(REFNOS)
def test_format_is_head_plus_number(refno):
    assert refno.format("arabic") == refno.head("arabic") + str(refno.number)
    assert refno.format() == refno.head() + refno.format()[len(refno.head()) :]
    assert not any(c in "0123456789" for c in refno.format())
    assert not any(c in "๐๑๒๓๔๕๖๗๘๙" for c in refno.format("arabic"))


@given(REFNOS)
def test_separator_after_prefix(refno):
    expected_sep = "" if refno.prefix.endswith(".") else " "
    assert refno.format("arabic").startswith(
        refno.prefix + expected_sep + refno.code + "/"
    )
