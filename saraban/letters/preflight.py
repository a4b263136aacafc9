"""Can this letter be rendered? Checked before its number is taken, never after.

A number taken for a letter that then cannot be drawn is a hole in the register (and, before this
check, a letter that status called "sent" with no file): so everything rendering needs is looked at
first, and a refusal leaves nothing numbered. What is checked: every QR link fits in a QR code (also the
tracking link printed on each recipient's copy), the letter's template is there and is a .docx, the
emblem and the fonts of the PDFs are there, and the output folder can be written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from saraban.kernel.settings import Settings, template_file
from saraban.letters.paper.fonts import STYLES, sarabun_file
from saraban.letters.paper.qr import qr_problem
from saraban.letters.parts import body_texts
from saraban.letters.spec import CLOSINGS, LetterSpec


class NotRenderable(ValueError):
    """The letter cannot be rendered as things stand; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(["ทำไฟล์หนังสือไม่ได้ ไม่มีการออกเลข / the letter cannot be rendered, nothing was "
                                    "numbered:", *[f"  - {p}" for p in problems]]))


def _readable(path: Path, what: str, magic: bytes = b"") -> str | None:
    try:
        with path.open("rb") as f:
            head = f.read(max(len(magic), 1))
    except OSError as e:
        return f"{what} {path}: อ่านไม่ได้ / cannot be read: {e.strerror or e}"
    if magic and not head.startswith(magic):
        return f"{what} {path}: ไฟล์เสีย / is damaged (not a {'.docx' if magic == b'PK' else 'valid'} file)"
    return None


def _writable(folder: Path) -> str | None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"โฟลเดอร์ผลงาน {folder} เขียนไม่ได้ / the output folder {folder} cannot be written: {e.strerror or e}"
    return None


def renderability_problems(spec: LetterSpec, settings: Settings, *, tracking_link: str | None = None,
                           setup_ok: set[str] | None = None) -> list[str]:
    """Why ``spec`` could not be rendered and written (empty: it can). ``tracking_link``: the longest
    tracking link a recipient's copy will carry, when it has recipients. ``setup_ok``: the kinds of letter
    whose setup (template, emblem, fonts, output folder) the caller found fine earlier in its run, not looked
    at again (a cascade's hundreds of letters); this one's kind is added when its setup is fine."""
    problems = [f"qr[{i}].url: {p}" for i, q in enumerate(spec.qr) if (p := qr_problem(q.url))]
    if tracking_link is not None and (p := qr_problem(tracking_link)):
        problems.append(f"ลิงก์ติดตาม (SARABAN_BASE_URL) / the tracking link (SARABAN_BASE_URL): {p}")
    if setup_ok is not None and spec.kind in setup_ok:
        return problems
    setup = setup_problems(spec.kind, settings)
    if setup_ok is not None and not setup:
        setup_ok.add(spec.kind)
    return problems + setup


def setup_problems(kind: str, settings: Settings) -> list[str]:
    """What is missing for rendering a letter of ``kind``: its template, the emblem, the fonts, a writable
    output folder."""
    checks = [_readable(template_file(settings, f"letters/{kind}.docx"), "แม่แบบ / template", b"PK"),
              _readable(Path(settings.emblem), "ตราครุฑ / emblem"),
              *(_readable(sarabun_file(style), "ฟอนต์ / font") for style in STYLES),
              # where every issued letter's folder is made, when the file store is a local folder (SARABAN_FILES)
              _writable(Path(settings.files_url) / "letters") if "://" not in settings.files_url else None]
    return [p for p in checks if p]


def check_renderable(spec: LetterSpec, settings: Settings, *, tracking_link: str | None = None,
                     setup_ok: set[str] | None = None) -> None:
    """Raise :class:`NotRenderable` unless ``spec`` can be rendered and written (see the module and
    :func:`renderability_problems`)."""
    problems = renderability_problems(spec, settings, tracking_link=tracking_link, setup_ok=setup_ok)
    if problems:
        raise NotRenderable(problems)


def spec_warnings(spec: LetterSpec) -> list[str]:
    """What ``letter check`` warns of without refusing: a closing that does not go with the salutation
    (reference/letters.md), a string to keep as typed that the letter does not contain."""
    warnings = []
    salutation = spec.salutation or "เรียน"
    expected = CLOSINGS[salutation]
    if spec.kind == "external" and spec.closing and spec.closing not in expected:
        thai, english = " หรือ ".join(expected), " or ".join(f"'{c}'" for c in expected)
        warnings.append(f"closing: คำขึ้นต้น '{salutation}' ใช้คำลงท้าย {thai} ไม่ใช่ '{spec.closing}' / the "
                        f"salutation '{salutation}' takes the closing {english}, not '{spec.closing}' (or leave "
                        "'closing' out: it follows the salutation)")
    texts = [spec.to, spec.subject, spec.sender.name, spec.sender.address or "", *body_texts(spec.body, spec.meeting),
             *spec.references, *spec.enclosures, *spec.copies_to, *(q.caption for q in spec.qr)]
    if spec.signer:
        texts += [spec.signer.name, spec.signer.position, *spec.signer.acting]
    if spec.owner:
        texts += [spec.owner.unit, spec.owner.phone or "", spec.owner.fax or "", spec.owner.contact or "",
                  spec.owner.coordinator.line() if spec.owner.coordinator else ""]
    for i, kept in enumerate(spec.keep_as_typed):
        if not any(kept in text for text in texts):
            warnings.append(f"keep_as_typed[{i}]: ไม่พบ '{kept}' ในหนังสือ / '{kept}' does not appear in the letter")
    return warnings
