"""The ``saraban`` command: a thin face over the core (and the flows, for the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.commands import registers
from saraban.config import load_settings
from saraban.letter_spec import SpecError
from saraban.letters import load_specs, render_letters
from saraban.pdf import PdfError

app = typer.Typer(help="saraban: Thai official letters (หนังสือราชการ) from a spec to .docx and PDF.",
                  no_args_is_help=True, add_completion=False)
letter = typer.Typer(help="Make letters from letter specs (YAML).", no_args_is_help=True)
app.add_typer(letter, name="letter")
app.add_typer(registers.app, name="register", help="Registers (ทะเบียนหนังสือรับ / ส่ง): export them.")

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
SpecFiles = Annotated[list[Path], typer.Argument(help="Letter spec files (.yaml).", show_default=False)]


def _fail(problems: list[str], code: int = 2) -> None:
    typer.secho(f"{len(problems)} problem(s) — nothing was written / พบข้อผิดพลาด ไม่มีการสร้างไฟล์:",
                err=True, fg=typer.colors.RED)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(code)


@letter.command("check")
def check(specs: SpecFiles) -> None:
    """Check letter specs without writing anything; exit code 2 if a spec is wrong."""
    try:
        loaded = load_specs(specs)
    except SpecError as e:
        _fail(e.problems)
    for name, spec in loaded:
        typer.echo(f"ok  {name}: {spec.kind_name}, {spec.subject}")


@letter.command("render")
def render(
    specs: SpecFiles,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the letters to.")] = Path("data/out"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also make a PDF of each letter (LibreOffice).")] = False,
) -> None:
    """Render letter specs to .docx (and PDF with --pdf); print each file written."""
    try:
        loaded = load_specs(specs)
        rendered = render_letters(loaded, out, load_settings(), pdf=pdf)
    except SpecError as e:
        _fail(e.problems)
    except PdfError as e:
        _fail([str(e)], code=1)
    for r in rendered:
        typer.echo(str(r.docx))
        if r.pdf:
            typer.echo(str(r.pdf))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo letters to.")] = Path(
        "data/out/demo"),
) -> None:
    """Render the example letters of field-examples §1 through the Prefect flow, docx and PDF."""
    from workflows.letters import render_letters_flow

    files = sorted(EXAMPLES_DIR.glob("*.yaml"))
    typer.echo(f"Rendering {len(files)} example letters with Prefect (local ephemeral server) ...")
    results = render_letters_flow([str(f) for f in files], str(out.resolve()), pdf=True)
    for r in results:
        typer.echo(f"  {r['name']}: {r['docx']}")
        typer.echo(f"  {' ' * len(str(r['name']))}  {r['pdf']}")
    typer.secho(f"Done: open the letters in {out.resolve()}", fg=typer.colors.GREEN)


if __name__ == "__main__":
    app()
