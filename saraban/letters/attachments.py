"""The pages attached after a letter, rendered from ``templates/letters/attachment.docx`` into their own .docx
(``<letter>-แนบ.docx``, beside the letter's, which stays as it is).

- a reply form (แบบตอบรับ) from the spec's ``attachments`` (saraban.letters.attachment_spec);
- the list of recipients (บัญชีรายชื่อผู้รับ) of a circular: the spec's own list, or, for a letter issued
  through the chain, the units it was sent to, also when the ถึง line names a whole group (ทุกจังหวัด).

LibreOffice prints them in the letter's own document, after a section break (saraban.letters.paper.attach): their
pages follow the letter's in its PDF, unnumbered as letter pages.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any, TypeVar

from docxtpl import DocxTemplate

from saraban.kernel.settings import Settings, template_file
from saraban.letters.attachment_spec import DEFAULT_REPLY_FIELDS, DEFAULT_TITLES, Attachment
from saraban.letters.render import docx_jinja, docx_zip, letter_text, use_office_font
from saraban.letters.shapes import Shapes, file_stamp
from saraban.letters.spec import LetterSpec
from thai_text import apply_digits

TEMPLATE = "letters/attachment.docx"
SUFFIX = "-แนบ"  # letter.docx → letter-แนบ.docx
# Words by which a ถึง line names a whole group rather than each unit (distribution.describe_recipients).
GROUP_WORD = "ทุก"


P = TypeVar("P", bound=PurePath)


def attachment_path(letter_docx: P) -> P:
    """Where a letter's attached pages are written: beside it, ``<name>-แนบ.docx`` (a path, or a store key as a
    PurePosixPath)."""
    return letter_docx.with_name(f"{letter_docx.stem}{SUFFIX}.docx")


def names_a_group(to: str) -> bool:
    """Whether the ถึง line names a group (e.g. "สำนักงาน... ทุกจังหวัด") instead of listing its units."""
    return GROUP_WORD in to


def _instructions(spec: LetterSpec) -> list[str]:
    """How to return the reply form when the spec does not say: to the owner division, by its e-mail or fax."""
    owner = spec.owner
    unit = owner.unit.splitlines()[0] if owner else spec.sender.name
    line = f"กรุณาส่งแบบตอบรับนี้คืนไปยัง{unit}"
    if owner and owner.email:
        line += f" ทางไปรษณีย์อิเล็กทรอนิกส์ {owner.email}"
    if owner and owner.fax:
        line += f" หรือทางโทรสาร {owner.fax}"
    return [line]


def attached_context(spec: LetterSpec, recipients: Sequence[str] | None = None) -> dict[str, Any] | None:
    """The template's context for the spec's attached pages; None when it has none.

    ``recipients``: the names of the units the letter went to, in order (a letter issued through the chain):
    they fill a recipients list that names no units, and make one when the ถึง line names a group."""
    keep = spec.keep_as_typed

    def t(text: str) -> str:
        return apply_digits(text, spec.digits, keep) if text else ""

    text = letter_text(spec)
    about = f"แนบท้าย{'บันทึกข้อความ' if spec.kind == 'memo' else 'หนังสือ'}{text['sender_name']}"
    cited = f"ที่ {text['ref']} ลงวันที่ {text['date']}"
    wanted = list(spec.attachments)
    if (recipients and names_a_group(spec.to) and len(recipients) > 1
            and not any(a.kind == "recipients" for a in wanted)):
        wanted.append(Attachment(kind="recipients"))
    forms, lists = [], []
    for a in wanted:
        page = {"title": t(a.page_title), "about": about, "cited": cited, "subject": text["subject"]}
        if a.kind == "reply_form":
            forms.append(page | {"choices": [t(c) for c in a.choices],
                                 "fields": [t(f) for f in a.fields or DEFAULT_REPLY_FIELDS],
                                 "instructions": [t(i) for i in a.instructions or _instructions(spec)]})
        else:
            units = list(a.units) or list(dict.fromkeys(recipients or ()))
            if units:  # a draft's list "of its recipients" has none yet: the page comes when it is issued
                lists.append(page | {"rows": [{"no": t(str(i)), "name": t(name)} for i, name in enumerate(units, 1)]})
    if not forms and not lists:
        return None
    return {"reply_forms": forms, "recipient_lists": lists, "secrecy": spec.secrecy or ""}


def render_attachment_docx(spec: LetterSpec, settings: Settings, *, recipients: Sequence[str] | None = None,
                           shapes: bool = True) -> bytes | None:
    """The attached pages as .docx bytes (the same spec and recipients give the same bytes); None: none.

    Rendered by docxtpl once per shape (which pages, which texts: saraban.letters.shapes), then filled;
    ``shapes=False``: by docxtpl outright (the same bytes, ~40 ms slower a letter)."""
    context = attached_context(spec, recipients)
    if context is None:
        return None
    ref = letter_text(spec)["ref"]
    core = {"p_title": f"สิ่งที่แนบท้าย{spec.kind_name} {ref}".strip(), "p_subject": spec.subject,
            "p_author": spec.sender.name, "p_hash": spec.hash()}
    created = datetime.combine(spec.date, time(0, 0))
    template = template_file(settings, TEMPLATE)

    def render(values: dict[str, Any], props: dict[str, str], when: datetime) -> dict[str, bytes]:
        return _attachment_members(template, values, props, when, settings.font_name)

    filled = _shapes_for(settings).render(file_stamp(template), context, core, created, render) if shapes else None
    return filled if filled is not None else docx_zip(_attachment_members(template, context, core, created,
                                                                          settings.font_name))


@lru_cache(maxsize=8)
def _shapes_for(settings: Settings) -> Shapes:
    """The attached pages' compiled shapes, one set per process and settings: a recipients list's rows are
    a table's, so one shape serves every number of recipients."""
    return Shapes(table_rows=("rows",))


def _attachment_members(template: Path, context: dict[str, Any], core: dict[str, str], created: datetime,
                        font: str) -> dict[str, bytes]:
    """docxtpl → the attached pages' .docx members; ``core``: title, subject, author and spec hash."""
    tpl = DocxTemplate(str(template))
    tpl.render(context, docx_jinja(), autoescape=True)
    use_office_font(tpl, font)
    props = tpl.docx.core_properties
    props.title, props.subject, props.author = core["p_title"], core["p_subject"], core["p_author"]
    props.last_modified_by = "saraban"
    props.comments = f"pages attached after the letter made by saraban from a letter spec (sha256 {core['p_hash']})"
    props.created = props.modified = created
    props.revision = 1
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        return {info.filename: z.read(info.filename) for info in z.infolist()}


__all__ = ["DEFAULT_TITLES", "SUFFIX", "attached_context", "attachment_path", "names_a_group",
           "render_attachment_docx"]
