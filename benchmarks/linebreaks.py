"""Benchmark: how the PDFs break and justify Thai lines, read back from the pages.

    .venv/bin/python benchmarks/linebreaks.py [--out DIR] [--long 20]

The letters: every example spec (examples/*.yaml) and ``--long`` long letters made of the examples'
paragraphs and the sentences below, 4 to 13 paragraphs each (1 to 4 pages). Each is printed twice:

- ``saraban``: as saraban prints it (saraban.letters.paper.pdf.docx_to_pdf: line-break marks from
  pythainlp's words, Thai justification, pages);
- ``plain``: the same .docx handed to LibreOffice as it is (its own Thai breaks, ``thaiDistribute``).

For every body paragraph (the justified ones), the lines are read back with ``pdftotext -bbox-layout``:
a line break inside a word (by pythainlp's segmentation of the paragraph) counts as **broken**; a line
other than a paragraph's last that ends short of the right margin (by more than 4 pt) as **ragged**.
A line ending with "(" or starting with ")" counts as a **bracket apart**. Lines:
``linebreaks <mode>: <L> letters, <P> pages, <N> body lines, <B> broken inside a word, <R> ragged, <K> brackets apart``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from saraban.kernel.settings import load_settings
from saraban.letters.paper.pdf import docx_to_pdf, soffice_convert
from saraban.letters.paper.readback import body_paragraphs, measure
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import parse_spec

REPO = Path(__file__).resolve().parent.parent
SENTENCES = [
    "ด้วยกรมส่งเสริมคุณภาพสิ่งแวดล้อมได้ดำเนินโครงการเมืองน่าอยู่คู่อุตสาหกรรมเชิงนิเวศ ประจำปีงบประมาณ พ.ศ. 2567 "
    "โดยมีวัตถุประสงค์เพื่อส่งเสริมให้องค์กรปกครองส่วนท้องถิ่นในพื้นที่อุตสาหกรรมพัฒนาเมืองให้น่าอยู่อย่างยั่งยืน",
    "ในการนี้ จังหวัดได้รับมอบหมายให้พิจารณาคัดเลือกองค์กรปกครองส่วนท้องถิ่นที่มีความพร้อม เข้าร่วมการประเมินตามเกณฑ์ "
    "๔ ด้าน ๓๕ ตัวชี้วัด รายละเอียดปรากฏตามสิ่งที่ส่งมาพร้อมนี้",
    "จึงขอความร่วมมือหน่วยงานของท่านแจ้งองค์กรปกครองส่วนท้องถิ่นในพื้นที่ทราบ และพิจารณามอบหมายผู้รับผิดชอบ "
    "จัดทำรายงานการประเมินตนเองส่งให้สำนักงานสิ่งแวดล้อมภาคภายในวันที่ 29 กุมภาพันธ์ 2567",
    "ทั้งนี้ คณะทำงานขับเคลื่อนเมืองอุตสาหกรรมเชิงนิเวศตำบลบ้านกลาง จะจัดประชุมครั้งที่ 1/2567 ในวันพุธที่ 20 มีนาคม 2567 "
    "เวลา 09.30 น. ณ ห้องประชุมศาลากลางจังหวัดลำพูน ชั้น 3 เพื่อพิจารณาเกณฑ์พื้นฐาน ๑๒ ข้อ และมอบหมายหน่วยงานรับผิดชอบ",
    "สำนักงานนโยบายและแผนทรัพยากรธรรมชาติและสิ่งแวดล้อม (สผ.) ในฐานะหน่วยงานประสานงานหลักของประเทศไทย "
    "สำหรับรางวัล ASEAN ESC Award 2021 กำหนดจัดการประชุมชี้แจงผ่านระบบการประชุมทางไกล (Video Conference)",
    "ผู้เข้าร่วมประชุมสามารถเข้าร่วมผ่านโปรแกรม Zoom Meeting ID 912 345 6789 Passcode 2563 "
    "หรือสแกน QR Code ท้ายหนังสือฉบับนี้ โดยขอให้ลงทะเบียนล่วงหน้าภายในวันที่ 1 มิถุนายน 2563",
    "โดยที่ปัญหาฝุ่นละอองขนาดเล็ก PM2.5 และ PM10 ส่งผลกระทบต่อสุขภาพของประชาชนในพื้นที่อุตสาหกรรม "
    "กรมจึงขอให้องค์กรปกครองส่วนท้องถิ่นเฝ้าระวังและรายงานสถานการณ์เป็นประจำทุกสัปดาห์",
    "หากมีข้อสงสัยประการใด สามารถติดต่อสอบถามรายละเอียดเพิ่มเติมได้ที่ กองสิ่งแวดล้อมท้องถิ่น กลุ่มงานสิ่งแวดล้อม "
    "โทร. 0 2241 9000 ต่อ 2112 ในวันและเวลาราชการ",
    "อนึ่ง การดำเนินงานดังกล่าวเป็นไปตามแผนปฏิบัติการด้านการจัดการคุณภาพสิ่งแวดล้อม พ.ศ. 2566 - 2570 "
    "และมติคณะรัฐมนตรีเมื่อวันที่ 26 มีนาคม 2567 ที่ให้หน่วยงานของรัฐบูรณาการการทำงานร่วมกัน",
    "เพื่อให้การดำเนินงานเป็นไปด้วยความเรียบร้อย จึงขอให้นายอำเภอทุกอำเภอกำกับดูแลและติดตามผลการดำเนินงาน "
    "ขององค์กรปกครองส่วนท้องถิ่นในเขตพื้นที่ แล้วรายงานให้จังหวัดทราบตามแบบรายงานที่กำหนด",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def corpus(long: int) -> list[tuple[str, dict[str, Any]]]:
    """The examples, then ``long`` long letters built on the first example's head and foot."""
    examples = sorted((REPO / "examples").glob("*.yaml"))
    specs = [(p.stem, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in examples]
    paragraphs = [*SENTENCES]
    for _, data in specs:
        paragraphs += [p for p in data.get("body", []) if isinstance(p, str) and len(p) > 60]
    base = next(data for _, data in specs if data.get("kind") == "external")
    letters = list(specs)
    for i in range(long):
        data = dict(base, digits="thai")
        count = 4 + i * 9 // max(long - 1, 1)  # 4 .. 13 paragraphs
        data["body"] = [paragraphs[(i * 3 + k) % len(paragraphs)] for k in range(count)]
        data["body"].append("จึงเรียนมาเพื่อโปรดทราบ และพิจารณาดำเนินการต่อไป")
        letters.append((f"long-{i + 1:02d}", data))
    return letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the PDFs here")
    parser.add_argument("--long", type=int, default=20, help="long letters in the corpus")
    args = parser.parse_args()
    settings = load_settings()
    renderer = renderer_for(settings)
    letters = corpus(args.long)
    rendered = [(name, renderer.render(parse_spec(data, name))) for name, data in letters]
    work = Path(tempfile.mkdtemp(prefix="linebreaks-"))
    try:
        for mode in ("plain", "saraban"):
            folder = work / mode
            folder.mkdir()
            files = []
            for name, docx in rendered:
                (folder / f"{name}.docx").write_bytes(docx)
                files.append(folder / f"{name}.docx")
            started = time.perf_counter()
            if mode == "saraban":
                docx_to_pdf(files, folder / "pdf", settings)
            else:
                (folder / "pdf").mkdir()
                soffice_convert(files, folder / "pdf", settings)
            seconds = time.perf_counter() - started
            totals = [0, 0, 0, 0, 0]
            for (name, docx), _ in zip(rendered, files, strict=True):
                f = measure(folder / "pdf" / f"{name}.pdf", body_paragraphs(docx))
                figures = (f.pages, f.lines, f.broken, f.ragged, f.brackets)
                totals = [a + b for a, b in zip(totals, figures, strict=True)]
                log(f"{mode} {name}: {f.pages} pages, {f.lines} lines, {f.broken} broken, {f.ragged} ragged, "
                    f"{f.brackets} bracket apart")
            print(f"linebreaks {mode}: {len(letters)} letters, {totals[0]} pages, {totals[1]} body lines, "
                  f"{totals[2]} broken inside a word, {totals[3]} ragged, {totals[4]} brackets apart "
                  f"({seconds:.1f} s)", flush=True)
            if args.out:
                shutil.copytree(folder / "pdf", args.out / mode, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
