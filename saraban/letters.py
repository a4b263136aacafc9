"""A letter spec → .docx (docxtpl) → PDF.

The template holds the layout; this module holds what goes into it: every text through the
spec's digit style, the reference number, the B.E. date, the emblem at the size its type wants, the
QR codes. Text from the spec is always text: the template is rendered with autoescape, and a value
is never read as a template, so ``<``, ``&``, ``{{ x }}`` and ``{% %}`` print as typed.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Cm
from docxtpl import DocxTemplate, InlineImage

from saraban.config import Settings
from saraban.letter_spec import LetterSpec
from saraban.pdf import docx_to_pdf
from saraban.qr import qr_png
from thai_text import apply_digits, format_thai_date

TEMPLATE_FONT = "TH SarabunIT๙"
# Emblem height by type: 3 cm centred for letters with ตราครุฑ, 1.5 cm beside the memo heading.
EMBLEM_HEIGHT = {"external": Cm(3), "stamped": Cm(3), "memo": Cm(1.5)}
QR_SIZE = Cm(2.8)
BLANK_REF = "........................."
# Fixed zip timestamps so the same spec gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class RenderedLetter:
    name: str
    spec_hash: str
    docx: Path
    pdf: Path | None = None


def template_path(spec: LetterSpec, settings: Settings) -> Path:
    return settings.templates_dir / "letters" / f"{spec.kind}.docx"


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
    return lines


def letter_text(spec: LetterSpec) -> dict[str, Any]:
    """Every text of the letter, in the spec's digits, keyed as the templates name them."""
    d = spec.digits

    def t(text: str | None) -> str:
        return apply_digits(text, d) if text else ""

    salutation = spec.salutation or "เรียน"
    closing = spec.closing or ("ขอแสดงความนับถือ" if spec.kind == "external" else "")
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
        "body": [t(p) for p in spec.body],
        "closing": closing,
        "signer_name": t(spec.signer.name) if spec.signer else "",
        "signer_position": t(spec.signer.position) if spec.signer else "",
        "owner_lines": [t(line) for line in owner_lines(spec)],
        "memo_phone": t(f" โทร. {phone}") if spec.kind == "memo" and phone else "",
        "copies_to": [t(c) for c in spec.copies_to],
        "urgency": spec.urgency or "",
        "secrecy": spec.secrecy or "",
        "qr_captions": [t(q.caption) for q in spec.qr],
    }


def _use_font(tpl: DocxTemplate, font: str) -> None:
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


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite the .docx zip with fixed timestamps: the same spec renders the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_docx_bytes(spec: LetterSpec, settings: Settings) -> bytes:
    """Render one letter to .docx bytes."""
    tpl = DocxTemplate(str(template_path(spec, settings)))
    context = letter_text(spec)
    context["emblem"] = InlineImage(tpl, str(settings.emblem), height=EMBLEM_HEIGHT[spec.kind])
    context["qr"] = [
        {"image": InlineImage(tpl, io.BytesIO(qr_png(q.url)), width=QR_SIZE), "caption": caption}
        for q, caption in zip(spec.qr, context.pop("qr_captions"), strict=False)
    ]
    tpl.render(context, autoescape=True)
    _use_font(tpl, settings.font_name)
    props = tpl.docx.core_properties
    spec_hash = spec.hash()
    props.title = f"{spec.kind_name} {context['ref']}".strip()
    props.subject = context["subject"]
    props.author = context["sender_name"]
    props.last_modified_by = "saraban"
    props.keywords = f"saraban-spec-sha256:{spec_hash}"
    props.identifier = f"sha256:{spec_hash}"
    props.comments = f"made by saraban from a letter spec (sha256 {spec_hash}), template {spec.kind}.docx"
    stamp = datetime.combine(spec.date, time(0, 0))
    props.created = props.modified = stamp
    props.revision = 1
    buffer = io.BytesIO()
    tpl.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def render_letters(
    specs: Iterable[tuple[str, LetterSpec]], out_dir: Path, settings: Settings, *, pdf: bool = False
) -> list[RenderedLetter]:
    """Render named specs to ``out_dir/<name>.docx`` (and ``.pdf``, one LibreOffice run for all)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[RenderedLetter] = []
    for name, spec in specs:
        path = out_dir / f"{name}.docx"
        path.write_bytes(render_docx_bytes(spec, settings))
        done.append(RenderedLetter(name=name, spec_hash=spec.hash(), docx=path))
    if pdf:
        pdfs = docx_to_pdf([r.docx for r in done], out_dir, settings)
        done = [RenderedLetter(r.name, r.spec_hash, r.docx, p) for r, p in zip(done, pdfs, strict=False)]
    return done


def load_specs(paths: Sequence[Path]) -> list[tuple[str, LetterSpec]]:
    """Read and validate spec files, all of them before any is used: one ``SpecError`` lists every
    problem of every file. Each letter is named after its file."""
    from saraban.letter_spec import SpecError, load_spec

    problems: list[str] = []
    specs: list[tuple[str, LetterSpec]] = []
    seen: dict[str, Path] = {}
    for path in paths:
        name = Path(path).stem
        if name in seen:
            problems.append(f"{path}: the same file name as {seen[name]}; both would write {name}.docx")
            continue
        seen[name] = Path(path)
        try:
            specs.append((name, load_spec(Path(path))))
        except SpecError as e:
            problems += [f"{path}: {p}" for p in e.problems]
    if problems:
        raise SpecError(problems)
    return specs
