from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pythainlp.util import thai_strftime

from thai_text import (
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    ThaiDateError,
    be_year,
    fiscal_year,
    format_thai_date,
    parse_thai_date,
)

# B.E. 2400 (C.E. 1857) is the smallest year parse_thai_date reads as B.E.
DATES = st.dates(min_value=date(1857, 1, 1), max_value=date(9999, 12, 31))


def test_month_tables():
    assert THAI_MONTHS == (
        "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
        "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
    )  # fmt: skip
    assert THAI_MONTHS_ABBR == (
        "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
        "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
    )  # fmt: skip


def test_be_year():
    assert be_year(date(2024, 4, 9)) == 2567
    assert be_year(datetime(1957, 1, 1, 12, 0, tzinfo=UTC)) == 2500


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "๙ เมษายน ๒๕๖๗"),
        ({"abbreviated": True}, "๙ เม.ย. ๒๕๖๗"),
        ({"digits": "arabic"}, "9 เมษายน 2567"),
        ({"abbreviated": True, "digits": "arabic"}, "9 เม.ย. 2567"),
    ],
)
def test_format_thai_date(kwargs, expected):
    assert format_thai_date(date(2024, 4, 9), **kwargs) == expected


def test_format_two_digit_day_and_datetime():
    assert format_thai_date(date(2024, 3, 26), abbreviated=True) == "๒๖ มี.ค. ๒๕๖๗"
    assert format_thai_date(datetime(2023, 12, 31, 23, 59, tzinfo=UTC)) == "๓๑ ธันวาคม ๒๕๖๖"


def test_format_rejects_bad_digits():
    with pytest.raises(ValueError, match="digits must be"):
        format_thai_date(date(2024, 4, 9), digits="latin")


@given(DATES, st.booleans())
def test_format_agrees_with_pythainlp(d, abbreviated):
    fmt = "%-d %b %Y" if abbreviated else "%-d %B %Y"
    ours = format_thai_date(d, abbreviated=abbreviated, digits="arabic")
    assert ours == thai_strftime(datetime(d.year, d.month, d.day, tzinfo=UTC), fmt)


@pytest.mark.parametrize(
    "text",
    [
        "๒๖ มีนาคม ๒๕๖๗",
        "๒๖ มี.ค. ๒๕๖๗",
        "26 มี.ค. 2567",
        "26 มีนาคม 2567",
        "  26   มีนาคม   2567  ",
        "26มีนาคม2567",
        "วันที่ ๒๖ มีนาคม ๒๕๖๗",
        "วันที่๒๖ มีนาคม ๒๕๖๗",
        "๒๖ มีนาคม พ.ศ. ๒๕๖๗",
        "วันที่ 26 มี.ค. พ.ศ.2567",
        "26 มีค 2567",
        "26 มี.ค 2567",
        "26\u00a0มีนาคม\t2567",
        "26\u200bมีนาคม 2567",
        "๐๒๖ มีนาคม ๒๕๖๗",
        "2024-03-26",
        "วันที่ 2024-03-26",
    ],
)
def test_parse_thai_date(text):
    assert parse_thai_date(text) == date(2024, 3, 26)


def test_parse_leap_day():
    assert parse_thai_date("๒๙ ก.พ. ๒๕๖๗") == date(2024, 2, 29)


def _message(text):
    with pytest.raises(ThaiDateError) as info:
        parse_thai_date(text)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_day_out_of_range_message():
    assert _message("๓๒ มีนาคม ๒๕๖๗") == (
        "วันที่ไม่ถูกต้อง '๓๒ มีนาคม ๒๕๖๗': เดือนมีนาคม ๒๕๖๗ มี ๓๑ วัน"
        " / invalid date: March 2567 has 31 days"
    )


@pytest.mark.parametrize(
    ("text", "thai", "english"),
    [
        ("29 ก.พ. 2566", "เดือนกุมภาพันธ์ ๒๕๖๖ มี ๒๘ วัน", "February 2566 has 28 days"),
        ("31 เมษายน 2567", "เดือนเมษายน ๒๕๖๗ มี ๓๐ วัน", "April 2567 has 30 days"),
        ("0 มีนาคม 2567", "เดือนมีนาคม ๒๕๖๗ มี ๓๑ วัน", "March 2567 has 31 days"),
        (
            "2023-02-29",
            "เดือนกุมภาพันธ์ ค.ศ. ๒๐๒๓ มี ๒๘ วัน",
            "February 2023 C.E. has 28 days",
        ),
        ("2024-13-01", "ไม่มีเดือนที่ ๑๓", "there is no month 13"),
        ("2024-00-01", "ไม่มีเดือนที่ ๐", "there is no month 0"),
        ("0000-01-01", "อยู่นอกช่วง", "year 0 C.E. is out of range"),
        ("1 มกราคม 99999", "ปี ๙๙๙๙๙ อยู่นอกช่วงที่รองรับ", "year 99999 is out of range"),
    ],
)
def test_out_of_range_messages(text, thai, english):
    message = _message(text)
    assert message.startswith(f"วันที่ไม่ถูกต้อง '{text}': ")
    assert thai in message
    assert english in message


@pytest.mark.parametrize("month", ["มีนา", "March", "มกรา", "ม.ค.ค."])
def test_unknown_month_lists_valid_months(month):
    message = _message(f"26 {month} 2567")
    assert f"ไม่รู้จักเดือน '{month}'" in message
    assert f"unknown month '{month}'" in message
    for name in THAI_MONTHS + THAI_MONTHS_ABBR:
        assert name in message


@pytest.mark.parametrize(("text", "year"), [("26 มี.ค. 67", "67"), ("26 มีนาคม ๖๗", "67"),
                                            ("26 มีนาคม 567", "567")])  # fmt: skip
def test_short_year_is_ambiguous(text, year):
    message = _message(text)
    assert "ไม่ครบสี่หลัก" in message
    assert f"year '{year}' is ambiguous" in message


@pytest.mark.parametrize(
    ("text", "year", "guess"),
    [
        ("26 มีนาคม 2024", 2024, 2567),
        ("๒๖ มีนาคม ๒๐๒๔", 2024, 2567),
        ("1 ม.ค. 1999", 1999, 2542),
    ],
)
def test_ce_looking_year(text, year, guess):
    message = _message(text)
    assert "ดูเป็นปี ค.ศ." in message
    assert (
        f"หมายถึง {guess:d}".translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
        in message
    )
    assert (
        f"year {year} looks C.E.; a B.E. year is expected, did you mean {guess}?"
        in message
    )


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hello", "26/03/2567", "26-03-2567", "มีนาคม 2567", "26 มีนาคม",
     "2024-3-26", "20240326", "วันที่", "26 มีนาคม 2567 เวลา 10.00"],
)  # fmt: skip
def test_unparseable(text):
    message = _message(text)
    assert message == (
        f"วันที่ไม่ถูกต้อง '{text}': ต้องเขียนแบบ ๙ เมษายน ๒๕๖๗ หรือ 2024-04-09"
        f" / invalid date: expected e.g. '9 เมษายน 2567', '9 เม.ย. 2567'"
        " or ISO '2024-04-09'"
    )


@given(DATES, st.booleans(), st.sampled_from(["thai", "arabic"]))
def test_format_parse_round_trip(d, abbreviated, digits):
    assert (
        parse_thai_date(format_thai_date(d, abbreviated=abbreviated, digits=digits))
        == d
    )


@given(st.dates(max_value=date(9999, 12, 31)).filter(lambda d: d.year >= 1000))
def test_iso_round_trip(d):
    assert parse_thai_date(d.isoformat()) == d


@given(DATES)
def test_be_year_is_ce_plus_543(d):
    assert be_year(d) == d.year + 543


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2021, 10, 1), 2565),
        (date(2021, 9, 30), 2564),
        (date(2022, 9, 30), 2565),
        (date(2022, 10, 1), 2566),
        (date(2024, 1, 1), 2567),
        (date(2023, 12, 31), 2567),
    ],
)
def test_fiscal_year(d, expected):
    assert fiscal_year(d) == expected


@given(st.integers(min_value=1, max_value=9998))
def test_fiscal_year_boundary(year):
    last_day = date(year, 9, 30)
    first_day = date(year, 10, 1)
    assert first_day - last_day == timedelta(days=1)
    assert fiscal_year(last_day) == year + 543
    assert fiscal_year(first_day) == year + 544


# The fiscal year of Oct 9999 ends in year 10000; that of Jan 1 C.E. began in year 0.
@given(st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 31)))
def test_fiscal_year_starts_in_october(d):
    start = date(fiscal_year(d) - 543 - 1, 10, 1)
    end = date(fiscal_year(d) - 543, 9, 30)
    assert start <= d <= end
