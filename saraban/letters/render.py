"""A letter spec → .docx (docxtpl) → PDF.

The template holds the layout; this module holds what goes into it: every text through the
spec's digit style, the reference number, the B.E. date, the emblem at the size its type wants, the
QR codes. Text from the spec is always text: the template is rendered with autoescape, and a value
is never read as a template, so ``<``, ``&``, ``{{ x }}`` and ``{% %}`` print as typed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Cm, Emu
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, Template
from PIL import Image

from saraban.kernel.settings import Settings, template_file
from saraban.letters.blocks import body_blocks, fit_body_tables, qr_codes, qr_links
from saraban.letters.paper.qr import qr_png
from saraban.letters.spec import DEFAULT_CLOSING, LetterSpec
from thai_text import apply_digits, format_thai_date

TEMPLATE_FONT = "TH SarabunIT๙"
# Emblem height by type: 3 cm centred for letters with ตราครุฑ, 1.5 cm beside the memo heading.
EMBLEM_HEIGHT = {"external": Cm(3), "stamped": Cm(3), "memo": Cm(1.5)}
# The width of the emblem's cell in each template (scripts/build_templates.py): a wider emblem is drawn
# smaller to fit inside it (less the cell's margins, 0.19 cm a side), never clipped.
EMBLEM_CELL = {"external": Cm(4), "stamped": Cm(4), "memo": Cm(2)}
CELL_MARGINS = Cm(0.4)
QR_SIZE = Cm(2.8)
BLANK_REF = "........................."
# Fixed zip timestamps so the same spec gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def ref_text(spec: LetterSpec) -> str:
    """The reference number as printed; a blank to fill by hand when the spec has none."""
    if spec.ref is None:
        return BLANK_REF
    return spec.ref.format(spec.digits)


def _numbered(items: Sequence[str], digits: str) -> list[str]:
    """One item stands alone; several are numbered ๑. ๒. ..."""
    if len(items) < 2:
        return list(items)
    return [apply_digits(f"{i}. ", digits) + item for i, item in enumerate(items, 1)]


def owner_lines(spec: LetterSpec) -> list[str]:
    """The owner division's block at the foot: unit, phone, fax, e-mail, coordinator."""
    owner = spec.owner
    if owner is None or spec.kind == "memo":
        return []
    lines = owner.unit.splitlines()
    if owner.phone:
        lines.append(f"โทร. {owner.phone}")
    if owner.fax:
        lines.append(f"โทรสาร {owner.fax}")
    if owner.email:
        lines.append(f"ไปรษณีย์อิเล็กทรอนิกส์ {owner.email}")
    if owner.contact:
        lines.append(f"ผู้ประสานงาน {owner.contact}")
    if owner.coordinator:
        lines.append(owner.coordinator.line())
    return lines


def letter_text(spec: LetterSpec) -> dict[str, Any]:
    """Every text of the letter, in the spec's digits, keyed as the templates name them."""
    d = spec.digits

    def t(text: str | None) -> str:
        return apply_digits(text, d, spec.keep_as_typed) if text else ""

    salutation = spec.salutation or "เรียน"
    # An external letter closes as its salutation calls for (กราบเรียน → ขอแสดงความนับถืออย่างยิ่ง).
    closing = spec.closing or (DEFAULT_CLOSING[salutation] if spec.kind == "external" else "")
    phone = spec.owner.phone if spec.owner else None
    return {
        "ref": ref_text(spec),
        "date": format_thai_date(spec.date, digits=d),
        "sender_name": t(spec.sender.name),
        "sender_address": t(spec.sender.address),
        "to": t(spec.to),
        "subject": t(spec.subject),
        "salutation": salutation if spec.kind != "stamped" else "",
        "references": _numbered([t(r) for r in spec.references], d),
        "enclosures": _numbered([t(e) for e in spec.enclosures], d),
        "body": body_blocks(spec, t),
        "closing": closing,
        "signer_name": t(spec.signer.name) if spec.signer else "",
        "signer_position": t(spec.signer.position) if spec.signer else "",
        "signer_acting": [t(line) for line in spec.signer.acting] if spec.signer else [],
        "owner_lines": [t(line) for line in owner_lines(spec)],
        "memo_phone": t(f" โทร. {phone}") if spec.kind == "memo" and phone else "",
        "copies_to": [t(c) for c in spec.copies_to],
        "urgency": spec.urgency or "",
        "secrecy": spec.secrecy or "",
        "qr_captions": [caption for _, caption in qr_codes(spec, t)],
    }


def use_office_font(tpl: DocxTemplate, font: str) -> None:
    """Name the office's font instead of the template's in every run, style and header."""
    if font == TEMPLATE_FONT:
        return
    doc = tpl.docx
    parts = [doc.element, doc.styles.element]
    for section in doc.sections:
        parts += [section.header._element, section.footer._element]
    for root in parts:
        for fonts in root.iter(qn("w:rFonts")):
            for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                if fonts.get(qn(attr)) == TEMPLATE_FONT:
                    fonts.set(qn(attr), font)


class _CompileOnce(Environment):
    """A Jinja environment that compiles a source once: docxtpl compiles each XML part of its template at
    every render (~20 ms a document), and the template's parts are the same text every time."""

    MAX_SOURCES = 64

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[tuple[str, bool], Template] = {}

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        key = (source, bool(self.autoescape))
        template = self._compiled.get(key)
        if template is None:
            template = super().from_string(source)
            if len(self._compiled) >= self.MAX_SOURCES:
                self._compiled.pop(next(iter(self._compiled), None), None)  # tolerant: threads share it
            self._compiled[key] = template
        return template


@lru_cache(maxsize=1)
def docx_jinja() -> Environment:
    """The environment saraban's docxtpl renders use (always with autoescape): one per process."""
    return _CompileOnce()


def docx_zip(members: dict[str, bytes]) -> bytes:
    """Write .docx members as a zip with fixed timestamps (the same spec gives the same bytes); images,
    which do not compress, are stored."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()


TRACKING_CAPTION = "QR สำหรับตรวจสอบ ลงรับ และติดตามหนังสือฉบับนี้"


@dataclass(frozen=True)
class Properties:
    """What the file records about itself (docProps/core.xml): the letter and the spec that made it."""

    title: str
    subject: str
    author: str
    spec_hash: str
    kind: str
    created: datetime

    @classmethod
    def of(cls, spec: LetterSpec, text: dict[str, Any]) -> Properties:
        return cls(f"{spec.kind_name} {text['ref']}".strip(), text["subject"], text["sender_name"], spec.hash(),
                   spec.kind, datetime.combine(spec.date, time(0, 0)))


@lru_cache(maxsize=8)
def _aspect(path: str, mtime: float) -> float:
    """Width over height of an image file (its pixels; the resolution it claims does not matter)."""
    with Image.open(path) as image:
        width, height = image.size
    return width / height


def emblem_image(tpl: DocxTemplate, emblem: Path, kind: str) -> InlineImage:
    """The emblem at its type's height, or narrower than its cell when it is wide (width capped, height
    following: the whole emblem shows)."""
    room = EMBLEM_CELL[kind] - CELL_MARGINS
    if EMBLEM_HEIGHT[kind] * _aspect(str(emblem), emblem.stat().st_mtime) > room:
        return InlineImage(tpl, str(emblem), width=Emu(int(room)))
    return InlineImage(tpl, str(emblem), height=EMBLEM_HEIGHT[kind])


@lru_cache(maxsize=64)
def cached_qr_png(url: str) -> bytes:
    return qr_png(url)


def render_members(kind: str, text: dict[str, Any], props: Properties, qr_urls: Sequence[str],
                   settings: Settings, tracking_png: bytes | None = None) -> dict[str, bytes]:
    """docxtpl → the .docx members. ``text`` holds every text of the letter (see ``letter_text``)."""
    tpl = DocxTemplate(str(template_file(settings, f"letters/{kind}.docx")))
    context = dict(text)
    context["emblem"] = emblem_image(tpl, settings.emblem, kind)
    images = [(cached_qr_png(url), caption) for url, caption in zip(qr_urls, context.pop("qr_captions"),
                                                                     strict=True)]
    if tracking_png is not None:
        images.append((tracking_png, context.pop("tracking_caption")))
    context.pop("tracking_caption", None)
    context["qr"] = [{"image": InlineImage(tpl, io.BytesIO(png), width=QR_SIZE), "caption": caption}
                     for png, caption in images]
    tpl.render(context, docx_jinja(), autoescape=True)
    fit_body_tables(tpl.docx.element.body, text["body"])
    use_office_font(tpl, settings.font_name)
    core = tpl.docx.core_properties
    core.title, core.subject, core.author, core.last_modified_by = props.title, props.subject, props.author, "saraban"
    core.keywords = f"saraban-spec-sha256:{props.spec_hash}"
    core.identifier = f"sha256:{props.spec_hash}"
    core.comments = f"made by saraban from a letter spec (sha256 {props.spec_hash}), template {props.kind}.docx"
    core.created = core.modified = props.created
    core.revision = 1
    buffer = io.BytesIO()
    tpl.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        return {info.filename: z.read(info.filename) for info in z.infolist()}


def render_docx_bytes(spec: LetterSpec, settings: Settings, *, tracking_png: bytes | None = None) -> bytes:
    """Render one letter to .docx bytes; ``tracking_png`` adds the recipient's tracking QR code (or the
    placeholder that each recipient's copy swaps for its own) after the spec's QR codes."""
    text = letter_text(spec)
    text["tracking_caption"] = apply_digits(TRACKING_CAPTION, spec.digits)
    members = render_members(spec.kind, text, Properties.of(spec, text), qr_links(spec), settings,
                             tracking_png)
    return docx_zip(members)
