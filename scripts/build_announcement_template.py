"""Build templates/reports/announcement.docx: a programme's ประกาศ of results (issue 11), filled in by
saraban.programmes.announcements.

The .docx is a template: open it in Word or LibreOffice and restyle it freely, keeping the ``{{ ... }}`` and
``{%p ... %}`` tags. This script makes the first version of it and may be run again at any time to start over
(it overwrites the file): ``.venv/bin/python scripts/build_announcement_template.py [--out DIR]``.

Layout (the ประกาศ form of the regulation on official correspondence, แบบที่ ๗): A4 portrait, margins left
3 cm, right 2 cm, top 1.5 cm, bottom 2 cm; the emblem 3 cm at the top centre; ``ประกาศ<office>`` and
``เรื่อง ...`` centred and bold, a short rule under them; the body paragraphs indented 2.5 cm; then, per
award level (``levels``: ``heading``, ``units``: list of lines), the level's heading in bold and its units
numbered; ``after`` (paragraphs after the list); ``ประกาศ ณ วันที่ ...`` (``dated``) and the signature
(``signer_name``, ``signer_position``) centred over the right half.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_templates import HALF, INDENT, new_document, para, thai_distribute  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "reports"


def build_announcement():
    doc = new_document()
    centre = WD_ALIGN_PARAGRAPH.CENTER
    para(doc, "{{ emblem }}", align=centre)
    para(doc, "{{ title }}", align=centre, bold=True)
    para(doc, "เรื่อง  {{ subject }}", align=centre, bold=True)
    para(doc, "-------------------------------------", align=centre)
    para(doc, "{%p for paragraph in body %}")
    thai_distribute(para(doc, "{{ paragraph }}", indent_first=INDENT))
    para(doc, "{%p endfor %}")
    para(doc, "{%p for level in levels %}")
    para(doc, "{{ level.heading }}", left=INDENT, bold=True, keep_next=True)
    para(doc, "{%p for line in level.units %}")
    para(doc, "{{ line }}", left=INDENT + Cm(1), hanging=Cm(1))
    para(doc, "{%p endfor %}")
    para(doc, "{%p endfor %}")
    para(doc, "{%p for paragraph in after %}")
    thai_distribute(para(doc, "{{ paragraph }}", indent_first=INDENT))
    para(doc, "{%p endfor %}")
    para(doc)
    para(doc, "{{ dated }}", left=HALF - Cm(3))
    para(doc)
    para(doc)
    para(doc)
    for line in ("({{ signer_name }})", "{{ signer_position }}"):
        para(doc, line, left=HALF - Cm(1.5), align=centre)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    doc = build_announcement()
    doc.core_properties.title = "saraban template: announcement"
    doc.core_properties.author = "saraban"
    path = args.out / "announcement.docx"
    doc.save(path)
    print(path)


if __name__ == "__main__":
    main()
