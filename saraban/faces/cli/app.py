"""The ``saraban`` command: a thin face over the core (and the flows, for the demo).

Every command imports the core inside its function: ``saraban --help`` (and a quick command such as
``saraban directory show``) must not pay for SQLAlchemy, docx, LibreOffice's helpers or Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from saraban.faces.cli import circulars, data, directory, flows, log, programmes, registers, reminders, users, web


class GuardedGroup(TyperGroup):
    """Every command runs with private files (umask 077), and a failure of the data folder (disk full,
    read-only, permission, damaged database, a database that is not the output folder's, an issued file
    that would be replaced, a setting that cannot work) ends it with one line and exit code 2, not a
    traceback (the one place for all commands: common.failure_line)."""

    def invoke(self, ctx):
        from saraban.kernel.files import private_umask

        private_umask()
        try:
            return super().invoke(ctx)
        except Exception as e:
            from saraban.faces.cli.common import failure_line

            line = failure_line(e)
            if line is None:
                raise
            typer.secho(line, err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None


app = typer.Typer(help="saraban: หนังสือราชการจาก spec เป็น .docx และ PDF ทะเบียน หนังสือเวียนตามสายงาน / Thai "
                       "official letters from a spec to .docx and PDF, registers, circulars down the chain.",
                  cls=GuardedGroup, no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None)  # plain help: no Rich to import
letter = typer.Typer(help="ทำหนังสือจาก spec (YAML) / Check, render and number letters.", no_args_is_help=True,
                     rich_markup_mode=None)
app.add_typer(letter, name="letter")
app.add_typer(registers.app, name="register", help="ทะเบียนหนังสือรับ / ส่ง: ส่งออก / Registers: export them.")
app.add_typer(directory.app, name="directory", help="ทำเนียบหน่วยงานและสายงาน / Offices and the chain.")
app.add_typer(data.app, name="data", help="ฐานข้อมูลกับโฟลเดอร์ผลงาน / The database and the output folder: check, "
                                          "adopt.")
app.add_typer(circulars.app, name="circular", help="ออกและส่งต่อหนังสือเวียน / Issue and forward circulars.")
app.command("receive")(circulars.receive_command)
app.command("status")(circulars.status_command)
letter.command("issue")(circulars.letter_issue_command)
app.add_typer(programmes.app, name="programme", help="โครงการประจำปี / Yearly programmes (apply, invite).")
app.command("apply")(programmes.apply_command)
app.command("remind")(reminders.remind_command)
app.command("serve")(reminders.serve_command)
app.add_typer(flows.app, name="flows", help="งานบน Prefect server ของสำนักงาน (หลายเครื่อง) / The flows on "
                                            "the office's Prefect server, run by workers on several machines.")
app.command("log")(log.log_command)
app.add_typer(users.app, name="user")
app.command("web")(web.web_command)

SpecFiles = Annotated[list[Path], typer.Argument(help="ไฟล์ spec ของหนังสือ (.yaml) / Letter spec files (.yaml).",
                                                 show_default=False)]


def _fail(problems: list[str], code: int = 2) -> None:
    typer.secho(f"พบข้อผิดพลาด {len(problems)} รายการ ไม่มีการสร้างไฟล์ / {len(problems)} problem(s) — nothing was "
                "written:", err=True, fg=typer.colors.RED)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(code)


@letter.command("check")
def check(specs: SpecFiles) -> None:
    """ตรวจ spec ของหนังสือ / Check letter specs.

    ตรวจ spec ของหนังสือโดยไม่เขียนไฟล์ ผิด → exit code 2 / Check letter specs without writing anything; exit
    code 2 if a spec is wrong."""
    from saraban.letters.batch import load_specs
    from saraban.letters.preflight import spec_warnings
    from saraban.letters.spec import SpecError

    try:
        loaded = load_specs(specs)
    except SpecError as e:
        _fail(e.problems)
    for name, spec in loaded:
        typer.echo(f"ok  {name}: {spec.kind_name}, {spec.subject}")
        for warning in spec_warnings(spec):
            typer.secho(f"  คำเตือน / warning: {warning}", err=True, fg=typer.colors.YELLOW)


@letter.command("render")
def render(
    specs: SpecFiles,
    out: Annotated[Path, typer.Option("--out", help="โฟลเดอร์ที่จะเขียน / Folder to write the letters to.")] = Path(
        "data/out"),
    pdf: Annotated[bool, typer.Option("--pdf", help="ทำ PDF ด้วย (LibreOffice) / Also make a PDF of each letter.")]
    = False,
) -> None:
    """ทำ .docx และ PDF ไม่ออกเลข / Render letters.

    ทำหนังสือจาก spec เป็น .docx (และ PDF เมื่อใช้ --pdf) ไม่ออกเลข แสดงไฟล์ที่เขียน / Render letter specs to
    .docx (and PDF with --pdf), without numbering them; print each file written."""
    from saraban.kernel.settings import load_settings
    from saraban.letters.batch import load_specs, render_letters
    from saraban.letters.paper.pdf import PdfError
    from saraban.letters.spec import SpecError

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
    out: Annotated[Path, typer.Option("--out", help="โฟลเดอร์ที่จะเขียนไฟล์ของตัวอย่าง / Folder to write the demo's "
                                                    "files to.")] = Path("data/out/demo"),
) -> None:
    """สาธิตทั้งระบบด้วยตัวอย่างภาคสนาม / Run the demo.

    สาธิตตัวอย่างภาคสนามผ่าน Prefect บนฐานข้อมูลใหม่ / Run the field examples through Prefect on a fresh demo
    database: the example letters; the department's circular to every province and Krabi's forwarding down
    to the local administrations of one district (§1); a programme year with applications, refusals,
    reminders and e-mails (§2); print what happened and where everything is."""
    import os
    import shutil

    from saraban.faces.cli.common import receipt_text
    from saraban.kernel.clock import today
    from saraban.kernel.files import make_folder
    from saraban.kernel.settings import EXAMPLES_DIR, load_settings
    from thai_text import be_year

    # The demo numbers its letters afresh in a database of its own, so it keeps its issued letters in a data
    # folder of its own too (<data>/demo): they never meet the office's own (which are never overwritten).
    os.environ.setdefault("PREFECT_HOME", str(load_settings().prefect_home))  # one Prefect home for both
    home = make_folder(load_settings().data_dir / "demo")
    demo_db = home / "demo.db"
    for leftover in home.glob("demo.db*"):
        leftover.unlink()
    shutil.rmtree(home / "out", ignore_errors=True)  # the demo's own letters, from its previous run
    os.environ["SARABAN_DATA_DIR"] = str(home)
    os.environ["SARABAN_DATABASE_URL"] = f"sqlite:///{demo_db}"
    settings = load_settings()
    from saraban.faces.cli.mailbox import LoopbackMailbox
    from workflows.demo import seed_chain_flow

    typer.echo("กำลังสาธิตด้วย Prefect (ครั้งแรกใช้เวลาราว ๒๐ วินาที) / Running the demo with Prefect (local ephemeral "
               "server; the first start takes ~20 s) ...")
    with LoopbackMailbox() as mailbox:
        result = seed_chain_flow(str(EXAMPLES_DIR), str(out.resolve()))
    mails = mailbox.save(out.resolve() / "mail")
    _add_demo_accounts(settings)
    echo = typer.echo
    echo("\nหนังสือตัวอย่าง / Example letters (docx + PDF):")
    for r in result["letters"]:
        echo(f"  {r['docx']}\n  {r['pdf']}")
    receipt = receipt_text(result["project_receipt"], be_year(today()))  # received during this run
    echo(f"\nกรมลงรับหนังสือของโครงการ ทลส.001/2567 แล้ว / The project's letter ทลส.001/2567 was received by the "
         f"department: {receipt}")
    echo(f"ทำหนังสือเวียน {len(result['chain']['letters'])} ฉบับตามสายงาน / The chain made "
         f"{len(result['chain']['letters'])} circulars. สถานะหนังสือเวียนของกรม / Status of the department's "
         "circular:\n")
    echo(result["text"])
    echo("\nรายงานสถานะ / Status report: " + "  ".join(result["reports"]))
    echo(f"\nโครงการ / Programme {result['programme']}: ส่งหนังสือเชิญแล้ว / invitation sent; ใบสมัคร / applications:")
    for line in result["applications"]:
        echo(line)
    made = [r for r in result["reminders"] if r["status"] in ("made", "completed")]
    mailed = sum(r["mail_status"] == "sent" for r in made)
    echo(f"หนังสือทวงถาม ๓ วันก่อนปิดรับ {len(made)} ฉบับ ส่งอีเมล {mailed} / Reminders (ทวงถาม) 3 days before the "
         f"deadline: {len(made)} letters, {mailed} e-mailed")
    for r in made[:6]:
        echo(f"  {r['kind']:<8} {r['step']:<10} {r['unit_name']}: ที่ {r['ref']} ({r['mail_status']})")
    if len(made) > 6:
        echo(f"  … อีก / {len(made) - 6} more")
    echo(f"อีเมลที่เซิร์ฟเวอร์อีเมลของตัวอย่างได้รับ / E-mails received by the demo's own mail server: {len(mails)} in "
         f"{out.resolve() / 'mail'}")
    echo("รายงานโครงการ / Programme reports: " + "  ".join(result["programme_reports"]))
    echo(f"\nหนังสือ สำเนาของผู้รับ และ PDF ที่ประทับตรารับ / Letters, every recipient's copy and the stamped PDFs: "
         f"{settings.output_dir / 'letters'}")
    echo(f"ฐานข้อมูล / Database: {demo_db}")
    echo("\nหน้าเว็บ / The web face: make web (saraban web --demo) แล้วเปิด / then open http://127.0.0.1:8000")
    echo(f"  ผู้ใช้ตัวอย่าง รหัสผ่าน {DEMO_PASSWORD} ทุกคน (เฉพาะฐานข้อมูลตัวอย่าง) / demo accounts, password "
         f"{DEMO_PASSWORD} for all (a demo database only):")
    for unit, names in DEMO_OFFICES.items():
        echo(f"  {', '.join(names)}  ({unit})")
    typer.secho(f"เสร็จแล้ว เปิดไฟล์ได้ที่ / Done: open the files in {out.resolve()} and {settings.output_dir / 'letters'}",
                fg=typer.colors.GREEN)


# The demo's web accounts (saraban web --demo): one fixed password, printed, because it is a demo database.
DEMO_PASSWORD = "saraban-demo"
DEMO_ACCOUNTS = {  # username: (unit key, role, name)
    "dla.clerk": ("dla.env.2", "clerk", "สารบรรณ กลุ่มงานสิ่งแวดล้อม (ตัวอย่าง)"),
    "dla.head": ("dla.env.2", "head", "หัวหน้ากลุ่มงานสิ่งแวดล้อม (ตัวอย่าง)"),
    "krabi.clerk": ("prov.81", "clerk", "สารบรรณ สถจ.กระบี่ (ตัวอย่าง)"),
    "krabi.head": ("prov.81", "head", "ท้องถิ่นจังหวัดกระบี่ (ตัวอย่าง)"),
    "krabi.admin": ("prov.81", "admin", "ผู้ดูแลระบบ สถจ.กระบี่ (ตัวอย่าง)"),
    "mueang.clerk": ("amphoe.8101", "clerk", "สารบรรณ อำเภอเมืองกระบี่ (ตัวอย่าง)"),
    "town.clerk": ("muni.8101.krabi", "clerk", "สารบรรณ เทศบาลเมืองกระบี่ (ตัวอย่าง)"),
    "deqp.clerk": ("deqp", "clerk", "สารบรรณ กรมส่งเสริมคุณภาพสิ่งแวดล้อม (ตัวอย่าง)"),
    "deqp.head": ("deqp", "head", "ผู้อำนวยการกองส่งเสริมและเผยแพร่ (ตัวอย่าง)"),
    "deqp.assessor": ("deqp", "assessor", "ผู้ประเมินโครงการเมืองน่าอยู่ฯ (ตัวอย่าง)"),
}
DEMO_ASSESSORS = {"eco-town-2565": ("deqp.assessor",)}  # programme → the assessors appointed to it
DEMO_OFFICES = {"กรมส่งเสริมการปกครองท้องถิ่น กลุ่มงานสิ่งแวดล้อม": ("dla.clerk", "dla.head"),
                "สถจ.กระบี่": ("krabi.clerk", "krabi.head", "krabi.admin"),
                "อำเภอเมืองกระบี่": ("mueang.clerk",), "เทศบาลเมืองกระบี่": ("town.clerk",),
                "กรมส่งเสริมคุณภาพสิ่งแวดล้อม (เจ้าของโครงการ)": ("deqp.clerk", "deqp.head", "deqp.assessor")}


def _add_demo_accounts(settings) -> None:
    """The demo's accounts, in the demo's own (fresh) database."""
    from saraban.accounts.users import NewUser, import_users
    from saraban.faces.cli.common import current_actor
    from saraban.programmes.assessors import appoint_assessor
    from saraban.records.db import open_database

    db = open_database(settings)
    import_users(db, [NewUser(username=name, display_name=display, unit=unit, role=role, password=DEMO_PASSWORD)
                      for name, (unit, role, display) in DEMO_ACCOUNTS.items()], actor=current_actor())
    for programme, names in DEMO_ASSESSORS.items():
        for name in names:
            appoint_assessor(db, programme, name, actor=current_actor())


if __name__ == "__main__":
    app()
