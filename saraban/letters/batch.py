"""Letters in batches: read and check many spec files at once, render them to named .docx files with one
compiled shape per kind of letter, and make their PDFs in one LibreOffice run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from saraban.kernel.files import make_folder, write_replacing
from saraban.kernel.settings import Settings
from saraban.letters.attachments import attachment_path, render_attachment_docx
from saraban.letters.paper.pdf import docx_to_pdf
from saraban.letters.shapes import renderer_for
from saraban.letters.spec import LetterSpec, SpecError, load_spec


@dataclass(frozen=True)
class RenderedLetter:
    name: str
    spec_hash: str
    docx: Path
    pdf: Path | None = None
    attachment: Path | None = None  # <name>-แนบ.docx: the pages after the letter (reply form, recipients)


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
        attached = render_attachment_docx(spec, settings)
        extra = attachment_path(path)
        if attached is not None:
            write_replacing(extra, attached)
        else:
            extra.unlink(missing_ok=True)  # left by an earlier rendering of a spec that had attached pages
        done.append(RenderedLetter(name=name, spec_hash=spec.hash(), docx=path,
                                   attachment=extra if attached is not None else None))
    if pdf:
        # The letters in one LibreOffice run, each one document with its attached pages after its own.
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".pdf-") as staging:
            made = docx_to_pdf([r.docx for r in done], Path(staging), settings,
                               attached=[r.attachment.read_bytes() if r.attachment else None for r in done])
            pdfs = [write_replacing(out_dir / m.name, m.read_bytes()) for m in made]
        done = [replace(r, pdf=p) for r, p in zip(done, pdfs, strict=True)]
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
