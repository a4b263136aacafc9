"""The paper of a programme's announcement of results (ประกาศ): the .docx from templates/reports/announcement.docx
(made by scripts/build_announcement_template.py; an office may keep its own copy in its templates folder), and
its PDF with LibreOffice (saraban.letters.paper.pdf). Thai digits throughout.

The units are listed grouped by award level, in the order of the definition's levels from the highest down;
within a level by weighted percentage (highest first), then by name. A level no unit reached is left out; the
units below the lowest level are not listed (each has its result letter)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from docx.shared import Cm

from saraban.kernel.files import saved
from saraban.kernel.settings import Settings, template_file
from saraban.kernel.wording import wording_paragraphs
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.render import use_office_font
from thai_text import format_thai_date, to_thai_digits

TEMPLATE = "reports/announcement.docx"
EMBLEM_HEIGHT = Cm(3)


@dataclass(frozen=True)
class AnnouncedUnit:
    name: str
    province: str  # the province's name, "" when the unit has none
    percent: float
    level: str | None


def announcement_title(owner_name: str) -> str:
    return f"ประกาศ{owner_name}"


def announcement_subject(programme_name: str, year: int) -> str:
    return f"ผลการประเมิน{programme_name} ประจำปี {year}"


def level_groups(levels: Sequence[Mapping[str, Any]], units: Sequence[AnnouncedUnit]) -> list[tuple[Mapping[str, Any],
                                                                                                 list[AnnouncedUnit]]]:
    """(level, its units) from the highest level down, the levels no unit reached left out."""
    groups = []
    for level in reversed(levels):
        inside = sorted((u for u in units if u.level == level["name"]), key=lambda u: (-u.percent, u.name))
        if inside:
            groups.append((level, inside))
    return groups


def announcement_context(settings: Settings, *, owner_name: str, programme_name: str, year: int, window: str,
                         applicants: int, levels: Sequence[Mapping[str, Any]], units: Sequence[AnnouncedUnit],
                         dated: date, signer: Mapping[str, Any]) -> dict[str, Any]:
    """What the template shows (Thai digits); the text before and after the list as the wording templates
    ``programmes/announcement`` and ``programmes/announcement_closing`` say it."""
    t = to_thai_digits
    groups = level_groups(levels, units)
    awarded = sum(len(inside) for _, inside in groups)
    facts = {"owner": owner_name, "programme": programme_name, "year": year}
    body = wording_paragraphs(settings, "programmes/announcement", **facts, window=window, applicants=applicants,
                              awarded=awarded)
    after = wording_paragraphs(settings, "programmes/announcement_closing", **facts)
    rows = []
    for i, (level, inside) in enumerate(groups, 1):
        award = f" ({level['award']})" if level.get("award") else ""
        rows.append({"heading": t(f"{i}. {level['name']}{award} จำนวน {len(inside)} แห่ง"),
                     "units": [t(f"{j}) {u.name}" + (f" จังหวัด{u.province}" if u.province else ""))
                               for j, u in enumerate(inside, 1)]})
    return {"title": announcement_title(owner_name), "subject": t(announcement_subject(programme_name, year)),
            "body": [t(p) for p in body], "levels": rows, "after": [t(p) for p in after],
            "dated": f"ประกาศ ณ วันที่ {format_thai_date(dated)}",
            "signer_name": signer.get("name", ""), "signer_position": signer.get("position", ""), "secrecy": ""}


def announcement_docx(context: Mapping[str, Any], settings: Settings) -> bytes:
    """The .docx's bytes, from the office's template (or saraban's)."""
    from docxtpl import DocxTemplate, InlineImage

    tpl = DocxTemplate(str(template_file(settings, TEMPLATE)))
    tpl.render({**context, "emblem": InlineImage(tpl, str(settings.emblem), height=EMBLEM_HEIGHT)}, autoescape=True)
    use_office_font(tpl, settings.font_name)
    props = tpl.docx.core_properties
    props.title = f"{context['title']} เรื่อง {context['subject']}"
    props.author = props.last_modified_by = "saraban"
    return saved(tpl.save)


def announcement_pdf(docx: bytes, settings: Settings) -> bytes:
    """The PDF of the .docx (LibreOffice)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix="announcement-") as tmp:
        source = Path(tmp) / "announcement.docx"
        source.write_bytes(docx)
        (pdf,) = docx_to_pdf([source], Path(tmp) / "out", settings)
        return pdf.read_bytes()
