"""The naive way to make a circular's copies, as a user of saraban's packages would write it without
saraban: for every recipient, open the letter's docxtpl template, make a fresh QR code (``qrcode``) for
each link and the recipient's tracking link, render, and write the .docx. Measured beside the cascade in
the same run, so the ratio between the two holds on any machine.

    .venv/bin/python benchmarks/naive.py [--copies N]
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "03-department-circular.yaml"


def naive_ms_per_copy(copies: int = 20, rounds: int = 3) -> float:
    """Milliseconds per copy of the department's circular made the naive way: the mean over ``copies``, the
    median of ``rounds`` such runs after one copy untimed (this machine's speed wanders by half from one
    minute to the next: one round may say 60 ms and the next 120)."""
    return statistics.median(naive_rounds(copies, rounds))


def naive_rounds(copies: int = 20, rounds: int = 3) -> list[float]:
    """Milliseconds per copy made the naive way, ``rounds`` times: the mean over ``copies`` (after one copy
    untimed) each round."""
    import qrcode
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    from saraban.kernel.settings import load_settings, template_file
    from saraban.letters.blocks import qr_links
    from saraban.letters.render import TRACKING_CAPTION, letter_text
    from saraban.letters.spec import load_spec

    settings = load_settings()
    spec = load_spec(EXAMPLE)
    text = letter_text(spec)  # the words are the user's own work, done once: only the per-copy part is timed
    template = template_file(settings, f"letters/{spec.kind}.docx")
    links = qr_links(spec)

    def png(url: str) -> io.BytesIO:
        out = io.BytesIO()
        qrcode.make(url).save(out)
        out.seek(0)
        return out

    def make(i: int, tmp: str) -> None:
        tpl = DocxTemplate(str(template))
        context = dict(text)
        captions = context.pop("qr_captions")
        tracking = f"{settings.base_url}/t/{i:06d}{secrets.token_urlsafe(12)}"
        context["emblem"] = InlineImage(tpl, str(settings.emblem), height=Mm(30))
        context["qr"] = [{"image": InlineImage(tpl, png(url), width=Mm(22)), "caption": caption}
                         for url, caption in [*zip(links, captions, strict=True), (tracking, TRACKING_CAPTION)]]
        tpl.render(context, autoescape=True)
        tpl.save(os.path.join(tmp, f"{i:05d}.docx"))

    with tempfile.TemporaryDirectory() as tmp:
        make(0, tmp)  # the first copy compiles the template's Jinja: not what a copy costs
        times = []
        for r in range(rounds):
            start = time.perf_counter()
            for i in range(copies):
                make(1 + r * copies + i, tmp)
            times.append(1000 * (time.perf_counter() - start) / copies)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    print(f"naive: {naive_ms_per_copy(args.copies):.1f} ms per copy")


if __name__ == "__main__":
    main()
