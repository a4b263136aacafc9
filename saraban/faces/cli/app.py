"""The ``saraban`` command: a thin face over the core (and the flows, for the demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.faces.cli import circulars, directory, programmes, registers, reminders
from saraban.kernel.settings import EXAMPLES_DIR, load_settings
from saraban.letters.batch import load_specs, render_letters
from saraban.letters.paper.pdf import PdfError
from saraban.letters.spec import SpecError

app = typer.Typer(help="saraban: Thai official letters (หนังสือราชการ) from a spec to .docx and PDF.",
                  no_args_is_help=True, add_completion=False)
letter = typer.Typer(help="Make letters from letter specs (YAML).", no_args_is_help=True)
app.add_typer(letter, name="letter")
app.add_typer(registers.app, name="register", help="Registers (ทะเบียนหนังสือรับ / ส่ง): export them.")
app.add_typer(directory.app, name="directory", help="Offices and the chain (ministry → province → district → อปท.).")
app.add_typer(circulars.app, name="circular", help="Issue and forward circulars (หนังสือเวียน).")
app.command("receive")(circulars.receive_command)
app.command("status")(circulars.status_command)
app.add_typer(programmes.app, name="programme", help="Yearly programmes that local administrations apply to.")
app.command("apply")(programmes.apply_command)
app.command("remind")(reminders.remind_command)
app.command("serve")(reminders.serve_command)

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
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo's files to.")] = Path(
        "data/out/demo"),
) -> None:
    """Run the field examples through Prefect on a fresh demo database: the example letters; the
    department's circular to every province and Krabi's forwarding down to the local administrations of
    one district (§1); a programme year with applications, refusals, reminders and e-mails (§2); print
    what happened and where everything is."""
    import os

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    demo_db = settings.data_dir / "demo.db"
    for leftover in settings.data_dir.glob("demo.db*"):
        leftover.unlink()
    os.environ["SARABAN_DATABASE_URL"] = f"sqlite:///{demo_db}"
    from saraban.faces.cli.mailbox import LoopbackMailbox
    from workflows.demo import seed_chain_flow

    typer.echo("Running the demo with Prefect (local ephemeral server; the first start takes ~20 s) ...")
    with LoopbackMailbox() as mailbox:
        result = seed_chain_flow(str(EXAMPLES_DIR), str(out.resolve()))
    mails = mailbox.save(out.resolve() / "mail")
    echo = typer.echo
    echo("\nExample letters (docx + PDF):")
    for r in result["letters"]:
        echo(f"  {r['docx']}\n  {r['pdf']}")
    echo(f"\nThe project's letter ทลส.001/2567 was received by the department: เลขรับ {result['project_receipt']}")
    echo(f"The chain made {len(result['chain']['letters'])} circulars. Status of the department's circular:\n")
    echo(result["text"])
    echo("\nStatus report: " + "  ".join(result["reports"]))
    echo(f"\nProgramme {result['programme']}: invitation sent; applications:")
    for line in result["applications"]:
        echo(line)
    made = [r for r in result["reminders"] if r["status"] in ("made", "completed")]
    echo(f"Reminders (ทวงถาม) 3 days before the deadline: {len(made)} letters, "
         f"{sum(r['mail_status'] == 'sent' for r in made)} e-mailed")
    for r in made[:6]:
        echo(f"  {r['kind']:<8} {r['step']:<10} {r['unit_name']}: ที่ {r['ref']} ({r['mail_status']})")
    if len(made) > 6:
        echo(f"  … {len(made) - 6} more")
    echo(f"E-mails received by the demo's own mail server: {len(mails)} in {out.resolve() / 'mail'}")
    echo("Programme reports: " + "  ".join(result["programme_reports"]))
    echo(f"\nLetters, every recipient's copy and the stamped PDFs: {settings.output_dir / 'letters'}")
    echo(f"Database: {demo_db}")
    typer.secho(f"Done: open the files in {out.resolve()} and {settings.output_dir / 'letters'}", fg=typer.colors.GREEN)


if __name__ == "__main__":
    app()
