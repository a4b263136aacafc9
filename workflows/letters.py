"""The letters flow: render a batch of letter specs to .docx and PDF.

One task per batch of letters, never one per letter (a Prefect task run costs 6-10 ms here, and
thousands of them overload the local server).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from saraban.kernel.settings import load_settings
from saraban.letters.batch import load_specs, render_letters

BATCH_SIZE = 100


@task(name="render-letter-batch", retries=1, retry_delay_seconds=2)
def render_batch(spec_files: list[str], out_dir: str, pdf: bool) -> list[dict[str, str | None]]:
    """Render one batch; rerunning it rewrites the same files with the same text."""
    settings = load_settings()
    rendered = render_letters(load_specs([Path(f) for f in spec_files]), Path(out_dir), settings, pdf=pdf)
    return [{"name": r.name, "spec_hash": r.spec_hash, "docx": str(r.docx),
             "pdf": str(r.pdf) if r.pdf else None} for r in rendered]


@flow(name="render-letters")
def render_letters_flow(spec_files: list[str], out_dir: str, pdf: bool = True,
                        batch_size: int = BATCH_SIZE) -> list[dict[str, str | None]]:
    """Validate every spec first (nothing is written if one is wrong), then render in batches."""
    load_specs([Path(f) for f in spec_files])
    results: list[dict[str, str | None]] = []
    for start in range(0, len(spec_files), batch_size):
        results += render_batch(spec_files[start:start + batch_size], out_dir, pdf)
    return results
