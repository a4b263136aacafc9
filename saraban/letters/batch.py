"""Letters in batches: read and check many spec files at once, render them to named .docx files with one
compiled shape per kind of letter, and make their PDFs in one LibreOffice run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from saraban.kernel.files import make_folder, write_replacing
from saraban.kernel.settings import Settings
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec, SpecError, load_spec


@dataclass(frozen=True)
class RenderedLetter:
    name: str
    spec_hash: str
    docx: Path
    pdf: Path | None = None



def render_letters(
    specs: Iterable[tuple[str, LetterSpec]], out_dir: Path, settings: Settings, *, pdf: bool = False
) -> list[RenderedLetter]:
    """Render named specs to ``out_dir/<name>.docx`` (and ``.pdf``, one LibreOffice run for all).

    These are drafts, not numbered: rendering again replaces them, each file whole and private (a failure
    leaves the old file or none, never half of one)."""
    renderer = renderer_for(settings)
    make_folder(out_dir)
    done: list[RenderedLetter] = []
    for name, spec in specs:
        path = write_replacing(out_dir / f"{name}.docx", renderer.render(spec))
        done.append(RenderedLetter(name=name, spec_hash=spec.hash(), docx=path))
    if pdf:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".pdf-") as staging:
            made = docx_to_pdf([r.docx for r in done], Path(staging), settings)
            pdfs = [write_replacing(out_dir / p.name, p.read_bytes()) for p in made]
        done = [RenderedLetter(r.name, r.spec_hash, r.docx, p) for r, p in zip(done, pdfs, strict=False)]
    return done


def load_specs(paths: Sequence[Path]) -> list[tuple[str, LetterSpec]]:
    """Read and validate spec files, all of them before any is used: one ``SpecError`` lists every
    problem of every file. Each letter is named after its file."""
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
