"""Amounts of money in Thai words (for the ``(...บาทถ้วน)`` after a figure)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from thai_text.numerals import to_arabic_digits

#: Largest amount (exclusive) handled exactly; pythainlp's bahttext works on floats.
MAX_AMOUNT = Decimal(10) ** 13
_CENT = Decimal("0.01")


def _to_decimal(amount: float | Decimal | str) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal, str)):
        raise TypeError(
            f"amount must be int, float, Decimal or str, not {type(amount).__name__}"
        )
    if isinstance(amount, str):
        cleaned = to_arabic_digits(amount).replace(",", "").strip()
        try:
            return Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"not an amount of money: {amount!r}") from None
    return Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)


def baht_text(amount: float | Decimal | str) -> str:
    """Spell an amount in baht and satang, as in ``(หนึ่งพันบาทถ้วน)``.

    The amount is rounded half-up to whole satang (``2.675`` → 2.68, as written,
    not as the binary float). A string may use Thai digits and thousands commas.
    Below one baht, the satang stand alone (``ห้าสิบสตางค์``, as Excel's
    BAHTTEXT, not pythainlp's ``ศูนย์บาทห้าสิบสตางค์``). Negative, NaN, infinite
    amounts and amounts of 10**13 baht or more raise ValueError: an amount in a
    letter is never negative; write ``ลบ`` yourself if you must.

    >>> baht_text(1144)
    'หนึ่งพันหนึ่งร้อยสี่สิบสี่บาทถ้วน'
    >>> baht_text(12.50)
    'สิบสองบาทห้าสิบสตางค์'
    >>> baht_text("๑,๐๐๑.๐๕")
    'หนึ่งพันเอ็ดบาทห้าสตางค์'
    >>> baht_text(Decimal("0.50"))
    'ห้าสิบสตางค์'
    >>> baht_text(0)
    'ศูนย์บาทถ้วน'
    >>> baht_text(-5)
    Traceback (most recent call last):
    ...
    ValueError: amount must not be negative: -5
    """
    value = _to_decimal(amount)
    if not value.is_finite():
        raise ValueError(f"amount must be a finite number: {amount!r}")
    if value < 0:
        raise ValueError(f"amount must not be negative: {amount!r}")
    value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if value >= MAX_AMOUNT:
        raise ValueError(f"amount too large (must be below 10**13 baht): {amount!r}")
    from pythainlp.util import bahttext  # ~0.1 s to import: only when an amount is spelt out

    text = bahttext(float(value))
    if value < 1 and value != 0:
        text = text.removeprefix("ศูนย์บาท")
    return text
