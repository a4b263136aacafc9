from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pythainlp.util import num_to_thaiword

from thai_text import baht_text


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (1144, "หนึ่งพันหนึ่งร้อยสี่สิบสี่บาทถ้วน"),
        (12.50, "สิบสองบาทห้าสิบสตางค์"),
        (21, "ยี่สิบเอ็ดบาทถ้วน"),
        (101, "หนึ่งร้อยเอ็ดบาทถ้วน"),
        (11, "สิบเอ็ดบาทถ้วน"),
        (0, "ศูนย์บาทถ้วน"),
        (0.0, "ศูนย์บาทถ้วน"),
        (0.5, "ห้าสิบสตางค์"),
        (0.05, "ห้าสตางค์"),
        (0.01, "หนึ่งสตางค์"),
        (0.001, "ศูนย์บาทถ้วน"),
        (1.005, "หนึ่งบาทหนึ่งสตางค์"),
        (2.675, "สองบาทหกสิบแปดสตางค์"),
        (21.21, "ยี่สิบเอ็ดบาทยี่สิบเอ็ดสตางค์"),
        (1_000_000, "หนึ่งล้านบาทถ้วน"),
        (Decimal("3500000000000.99"), "สามล้านห้าแสนล้านบาทเก้าสิบเก้าสตางค์"),
        (Decimal("12.50"), "สิบสองบาทห้าสิบสตางค์"),
        ("12.50", "สิบสองบาทห้าสิบสตางค์"),
        ("1,144", "หนึ่งพันหนึ่งร้อยสี่สิบสี่บาทถ้วน"),
        ("๑,๑๔๔.๒๕", "หนึ่งพันหนึ่งร้อยสี่สิบสี่บาทยี่สิบห้าสตางค์"),
        (" 21 ", "ยี่สิบเอ็ดบาทถ้วน"),
    ],
)
def test_baht_text(amount, expected):
    assert baht_text(amount) == expected


@pytest.mark.parametrize("amount", [-1, -0.5, Decimal("-12.50"), "-5"])
def test_negative_is_refused(amount):
    with pytest.raises(ValueError, match="must not be negative"):
        baht_text(amount)


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), Decimal("NaN"), "inf"])
def test_non_finite_is_refused(amount):
    with pytest.raises(ValueError, match="finite"):
        baht_text(amount)


@pytest.mark.parametrize("amount", [10**13, Decimal("9999999999999.995")])
def test_too_large_is_refused(amount):
    with pytest.raises(ValueError, match="too large"):
        baht_text(amount)


@pytest.mark.parametrize("amount", ["", "12 baht", "1.2.3", "หนึ่งร้อย"])
def test_bad_string_is_refused(amount):
    with pytest.raises(ValueError, match="not an amount of money"):
        baht_text(amount)


@pytest.mark.parametrize("amount", [True, None, [1], 1j])
def test_bad_type_is_refused(amount):
    with pytest.raises(TypeError, match="amount must be"):
        baht_text(amount)


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_every_satang_amount_is_exact(cents):
    """Against an independent spelling: whole baht, then satang or ถ้วน."""
    baht, satang = divmod(cents, 100)
    expected = f"{num_to_thaiword(baht)}บาท" if baht or not satang else ""
    expected += f"{num_to_thaiword(satang)}สตางค์" if satang else "ถ้วน"
    assert baht_text(Decimal(cents) / 100) == expected
    assert baht_text(f"{baht}.{satang:02d}") == expected
