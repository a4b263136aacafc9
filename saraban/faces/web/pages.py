"""The Jinja2 templates of the web face and the filters they use (Thai digits, B.E. dates, Thai times).

Autoescaping is on for every template: what people typed (``<script>``, ``{{ }}``, Thai with combining
marks) shows literally."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from saraban.accounts.roles import ROLES
from saraban.kernel.clock import date_text, moment_text
from thai_text import format_thai_date, register_number, to_thai_digits

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _thai(value: object) -> str:
    return to_thai_digits(str(value)) if value is not None else ""


def _thai_date(value: date | datetime | None, abbreviated: bool = False) -> str:
    """``๙ เมษายน ๒๕๖๗`` (or ``๙ เม.ย. ๒๕๖๗``); a datetime by its Thai date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return date_text(value, abbreviated=abbreviated)
    return format_thai_date(value, abbreviated=abbreviated)


def _moment(value: datetime | None) -> str:
    return moment_text(value) if value is not None else ""


def _receipt(number: int | None, year: int | None) -> str:
    return register_number(number, year) if number and year else ""


templates.env.filters.update(thai=_thai, thai_date=_thai_date, moment=_moment, receipt=_receipt)
templates.env.globals.update(ROLES=ROLES)
