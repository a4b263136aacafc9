"""`saraban circular issue|forward|cancel`, `saraban receive` (also `--external`), `saraban status` and
`saraban letter issue`. The core is imported inside each command (see common.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, current_actor, fail, open_data, receipt_text, unit_key
from saraban.records.file_store import file_store, sibling

app = typer.Typer(help="ออกและส่งต่อหนังสือเวียน / Issue and forward circulars (หนังสือเวียน).",
                  no_args_is_help=True, rich_markup_mode=None)

RULES_HELP = ("units (key or name) separated by commas, or a rule such as 'all:province_office', "
              "'province:กระบี่:district_office', 'under:amphoe.8101', 'children:prov.81'.")
SELECTOR_HELP = f"ผู้รับ: หน่วยงาน (รหัสหรือชื่อ) คั่นด้วยจุลภาค หรือกฎ / Recipients: {RULES_HELP}"
Selector = Annotated[str, typer.Option("--to", help=SELECTOR_HELP)]
LetterArg = Annotated[str, typer.Argument(help="หนังสือ: หมายเลขหรือเลขที่ (ที่) / The letter: its id or its "
                                               "reference number.")]
PdfFlag = Annotated[bool, typer.Option("--pdf", help="ทำไฟล์ PDF ด้วย (LibreOffice) / Also make the PDFs.")]
EmailFlag = Annotated[bool, typer.Option(
    "--email", help="ส่งสำเนาของผู้รับแต่ละรายทางอีเมลด้วย (PDF ชื่อตามเลขที่หนังสือ พร้อมลิงก์ลงรับ) / Also e-mail each "
                    "recipient's copy to the unit's address (its PDF, named by the reference number, with its "
                    "tracking link).")]
DateReason = Annotated[str | None, typer.Option(
    "--date-reason", help="เหตุที่หนังสือลงวันที่ห่างจากวันออกเลขเกิน ๗ วัน (บันทึกในทะเบียน) / Why the letter is "
                          "dated more than 7 days from today (kept in the register and the event log).",
    show_default=False)]


def _guard(action):
    """Run ``action``; a refusal of the core → its message, exit code 2."""
    from saraban.chain.circulars import CircularError
    from saraban.chain.emailing import EmailingError
    from saraban.directory.levels import DirectoryError
    from saraban.letters.paper.pdf import PdfError
    from saraban.letters.spec import SpecError

    try:
        return action()
    except SpecError as e:
        fail("\n".join(["spec มีข้อผิดพลาด ไม่มีการออกเลข / the spec has problems — nothing was issued:",
                        *[f"  - {p}" for p in e.problems]]))
    except (CircularError, DirectoryError, PdfError, EmailingError) as e:
        fail(str(e))


def _check_email(db, settings, email: bool, secrecy: str | None = None) -> None:
    """--email without a mail server, or for a ลับที่สุด letter: refused before anything is numbered."""
    if email:
        from saraban.chain.emailing import check_emailing

        _guard(lambda: check_emailing(db, settings, secrecy=secrecy))


def _email(db, settings, letter_id: int) -> int:
    """E-mail the letter's copies still to send, say what happened (failures in yellow); how many failed."""
    from saraban.chain.emailing import email_copies

    run = _guard(lambda: email_copies(db, settings, letter_id, actor=current_actor()))
    typer.echo(run.text())
    for r in run.results:
        if r.status != "sent":
            typer.secho(f"  - {r.unit_name} [{r.unit_key}] {r.label}: {r.error or ''}", fg=typer.colors.YELLOW)
    return sum(r.status != "sent" for r in run.results)


def _issued_text(issued, thai: str, english: str, thai_again: str, english_again: str) -> str:
    word = f"{thai} / {english}" if issued.new else f"{thai_again} / {english_again}"
    if not issued.new and issued.added:  # issued before: the new recipients were added under the same number
        word = (f"ออกไปแล้ว เพิ่มผู้รับ {issued.added} หน่วยงาน ภายใต้เลขเดิม / already issued: {issued.added} "
                "recipients added under the same number")
    return f"{word}: letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients"


@app.command("issue")
def issue_command(
    spec: Annotated[Path, typer.Argument(help="spec ของหนังสือเวียน (.yaml) ไม่ต้องมี 'ref' / The circular's "
                                              "letter spec, without 'ref'.")],
    sender: Annotated[str, typer.Option("--from", help=f"หน่วยงานที่ออกหนังสือ / The issuing unit: {UNIT_HELP}.")],
    to: Selector,
    pdf: PdfFlag = False,
    date_reason: DateReason = None,
    email: EmailFlag = False,
) -> None:
    """ออกเลขหนังสือเวียน (ว) และส่ง / Issue a circular.

    ออกเลขหนังสือเวียน (ว) ของหน่วยงาน บันทึก และทำสำเนาของผู้รับทุกราย / Number a circular in the sender's
    ว series, record it, and make every recipient's copy."""
    from saraban.chain.circulars import issue_circular, make_files
    from saraban.letters.spec import load_spec

    settings, db = open_data()
    key = unit_key(db, sender)
    letter = _guard(lambda: load_spec(spec))
    _check_email(db, settings, email, letter.secrecy)
    issued = _guard(lambda: issue_circular(db, settings, letter, sender_key=key, to=to,
                                           actor=current_actor(), date_reason=date_reason))
    if pdf:
        _guard(lambda: make_files(db, settings, [issued.letter_id], pdf=True))
    typer.echo(_issued_text(issued, "ออกหนังสือแล้ว", "issued", "ออกไปแล้ว ไม่มีการออกเลขใหม่",
                            "already issued (nothing new numbered)"))
    typer.echo(f"ไฟล์ / files: {file_store(settings).describe('letters')}")
    if email:
        _email(db, settings, issued.letter_id)


def letter_issue_command(
    spec: Annotated[Path, typer.Argument(help="spec ของหนังสือ (.yaml) ไม่ต้องมี 'ref' / The letter spec, "
                                              "without 'ref'.")],
    sender: Annotated[str, typer.Option("--from", help=f"หน่วยงานที่ออกหนังสือ / The issuing unit: {UNIT_HELP}.")],
    to: Annotated[str | None, typer.Option("--to", help="ผู้รับในทำเนียบ (ถ้ามี) / Recipients in the directory, "
                                                        f"if any (each gets a copy with its tracking QR): "
                                                        f"{RULES_HELP}")] = None,
    pdf: PdfFlag = False,
    date_reason: DateReason = None,
) -> None:
    """ออกเลขหนังสือธรรมดาจากทะเบียนส่ง / Number an ordinary letter.

    ออกเลขหนังสือธรรมดา (ไม่ใช่หนังสือเวียน) จากทะเบียนหนังสือส่งของหน่วยงาน แล้วทำไฟล์ / Number an ordinary
    (non-ว) letter from the sender's send register and render it. The same spec again returns the same
    number."""
    from saraban.chain.circulars import issue_circular, make_files
    from saraban.letters.spec import load_spec
    from saraban.records.models import Letter
    from thai_text import register_number

    settings, db = open_data()
    key = unit_key(db, sender)
    loaded = _guard(lambda: load_spec(spec))
    if loaded.circular:
        fail(f"{spec}: เป็นหนังสือเวียน (circular: true) ใช้ saraban circular issue / is a circular "
             "(circular: true): use saraban circular issue")
    issued = _guard(lambda: issue_circular(db, settings, loaded, sender_key=key, to=to, circular=False,
                                           actor=current_actor(), date_reason=date_reason))
    if pdf:
        _guard(lambda: make_files(db, settings, [issued.letter_id], pdf=True))
    with db.transaction() as s:
        letter = s.get(Letter, issued.letter_id)
        number, docx, made_pdf = register_number(letter.number, letter.year), letter.docx_key, letter.pdf_key
    if issued.new:
        typer.echo(f"ออกเลขหนังสือแล้ว ทะเบียนหนังสือส่ง เลขที่ {number} / issued: letter {issued.letter_id}, "
                   f"ที่ {issued.ref}, {issued.recipients} recipients")
    else:
        typer.echo(f"ออกเลขไปแล้ว ทะเบียนหนังสือส่ง เลขที่ {number} ไม่มีการออกเลขใหม่ / already issued (nothing new "
                   f"numbered): letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients")
    store = file_store(settings)
    typer.echo(f"หนังสือ / letter: {store.describe(docx)}")
    if made_pdf:
        typer.echo(f"PDF: {store.describe(made_pdf)}")
    if issued.recipients:
        typer.echo(f"สำเนาของผู้รับ / recipients' copies: {store.describe(sibling(docx, 'copies'))}")


@app.command("forward")
def forward_command(
    letter: LetterArg,
    unit: Annotated[str, typer.Option("--unit", help=f"หน่วยงานที่ส่งต่อ (ต้องลงรับแล้ว) / The unit that forwards "
                                                     f"(it must have received it): {UNIT_HELP}.")],
    to: Annotated[str | None, typer.Option("--to", help="ผู้รับ (ค่าเริ่มต้น: หน่วยงานระดับถัดไป) / Recipients "
                                                        "(default: the next level of the chain).")] = None,
    pdf: PdfFlag = False,
    email: EmailFlag = False,
) -> None:
    """ส่งต่อหนังสือเวียนที่ได้รับ / Forward a received circular.

    ส่งต่อหนังสือเวียนที่ได้รับ เป็นหนังสือเวียนของหน่วยงานเอง ด้วยเลข ว ของตน / Make the unit's own circular
    that carries a received one on, with its own ว number."""
    from saraban.chain.circulars import forward, make_files

    settings, db = open_data()
    key = unit_key(db, unit)
    _check_email(db, settings, email)
    issued = _guard(lambda: forward(db, settings, letter, key, to, actor=current_actor()))
    if pdf:
        _guard(lambda: make_files(db, settings, [issued.letter_id], pdf=True))
    typer.echo(_issued_text(issued, "ส่งต่อแล้ว", "forwarded", "ส่งต่อไปแล้ว", "already forwarded"))
    if email:
        _email(db, settings, issued.letter_id)


@app.command("email")
def email_command(letter: LetterArg) -> None:
    """ส่งสำเนาหนังสือทางอีเมล (ส่งซ้ำเฉพาะที่ยังไม่สำเร็จ) / E-mail a letter's copies.

    ส่งสำเนาของผู้รับแต่ละรายทางอีเมล ฉบับที่ส่งแล้วไม่ส่งซ้ำ ฉบับที่ส่งไม่สำเร็จส่งใหม่ / E-mail each recipient's copy
    to its unit: a copy already sent never goes again; a failed one is tried again, a refused one (or one to
    a unit without an address) once its address in the directory has changed. Exit code 1 when one did
    not go this time."""
    from saraban.chain.circulars import find_letter

    settings, db = open_data()

    def find() -> int:
        with db.reading() as s:
            return find_letter(s, letter).id

    if _email(db, settings, _guard(find)):
        raise typer.Exit(1)


@app.command("cancel")
def cancel_command(
    letter: LetterArg,
    reason: Annotated[str, typer.Option("--reason", help="เหตุที่ยกเลิก (บันทึกในทะเบียน) / Why it is cancelled "
                                                         "(kept in the register).")],
) -> None:
    """ยกเลิกหนังสือ / Cancel a letter.

    ยกเลิกหนังสือ: เลขเดิมคงอยู่ ทะเบียนหนังสือส่งได้บรรทัดยกเลิก / Cancel a letter: it keeps its number; the
    send register gets a cancellation line. ผู้ยกเลิกคือผู้ใช้ของระบบปฏิบัติการ (saraban log) / The one who
    cancels is the operating-system user, kept in the event log (saraban log)."""
    from saraban.chain.circulars import cancel_letter
    from thai_text import to_thai_digits

    settings, db = open_data()
    number = _guard(lambda: cancel_letter(db, letter, reason=reason, actor=current_actor()))
    typer.echo(f"ยกเลิกแล้ว บรรทัดยกเลิกคือเลขที่ {to_thai_digits(number)} ของทะเบียนหนังสือส่ง / cancelled: the "
               f"cancellation is line {number} of the send register")


def receive_command(
    unit: Annotated[str, typer.Option("--unit", help=f"หน่วยงานที่ลงรับ / The receiving unit: {UNIT_HELP}.")],
    letter: Annotated[str | None, typer.Argument(
        help="หนังสือ: หมายเลขหรือเลขที่ (ที่); กับ --external คือ ที่ ของหนังสือจากภายนอก / The letter: its id or "
             "its reference number; with --external, the outside letter's ที่.", show_default=False)] = None,
    external: Annotated[bool, typer.Option(
        "--external", help="หนังสือจากภายนอก (กระดาษหรืออีเมล) ที่ไม่ได้มาทาง saraban / A letter from outside the "
                           "chain (paper or e-mail): give --date, --from, --subject (and --pdf).")] = False,
    ref: Annotated[str | None, typer.Option("--ref", help="ที่ ของหนังสือจากภายนอก / The outside letter's ที่ "
                                                          "(or give it as LETTER).", show_default=False)] = None,
    letter_date: Annotated[str | None, typer.Option(
        "--date", help="ลงวันที่ของหนังสือ เช่น '๒๖ มีนาคม ๒๕๖๗' หรือ 2024-03-26 / The letter's date.",
        show_default=False)] = None,
    sender: Annotated[str | None, typer.Option("--from", "--sender", help="จาก: ผู้ส่ง / The sender (จาก), as "
                                                                          "printed on the letter.",
                                               show_default=False)] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="เรื่อง / The subject.",
                                                show_default=False)] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="ไฟล์ PDF ของหนังสือ (สแกนหรือจากอีเมล) จะประทับตรารับ "
                                                           "/ The letter's PDF (scan or e-mailed): a copy is "
                                                           "stamped with the receipt.", show_default=False)] = None,
) -> None:
    """ลงรับหนังสือ (--external: จากภายนอก) / Receive a letter.

    ลงรับ: ให้เลขถัดไปของทะเบียนหนังสือรับของหน่วยงาน และประทับตรารับบน PDF / Give the letter the next number
    of the unit's receive register and stamp its PDF copy. With --external: a letter that came from outside
    (paper or e-mail)."""
    if external:
        _receive_external(unit, ref or letter, letter_date, sender, subject, pdf)
        return
    given = [name for name, value in (("--ref", ref), ("--date", letter_date), ("--from", sender),
                                      ("--subject", subject), ("--pdf", pdf)) if value is not None]
    if given:
        fail(f"{', '.join(given)} ใช้กับ --external เท่านั้น / {', '.join(given)}: only with --external (a letter "
             "from outside the chain)")
    if letter is None:
        fail("ระบุหนังสือ (หมายเลขหรือ ที่) หรือใช้ --external / give the letter (its id or ที่), or --external")
    from saraban.chain.circulars import receive
    from saraban.kernel.clock import moment_text

    settings, db = open_data()
    key = unit_key(db, unit)
    r = _guard(lambda: receive(db, settings, letter, key, actor=current_actor()))
    word = "ลงรับแล้ว / received" if r.new else "ลงรับไว้แล้ว / already received"
    typer.echo(f"{word}: {receipt_text(r.number, r.year)} ({moment_text(r.received_at)})")
    if r.stamped_pdf_key:
        typer.echo(f"ฉบับประทับตรารับ / stamped copy: {file_store(settings).describe(r.stamped_pdf_key)}")


def _receive_external(unit: str, ref: str | None, letter_date: str | None, sender: str | None,
                      subject: str | None, pdf: Path | None) -> None:
    missing = [name for name, value in (("ที่ (LETTER or --ref)", ref), ("--date", letter_date),
                                        ("--from", sender), ("--subject", subject)) if not (value or "").strip()]
    if missing:
        fail(f"หนังสือจากภายนอกต้องระบุ {', '.join(missing)} / an outside letter needs {', '.join(missing)}")
    from saraban.chain.circulars import receive_incoming
    from saraban.kernel.clock import moment_text
    from thai_text import ThaiDateError, parse_thai_date

    try:
        when = parse_thai_date(letter_date)
    except ThaiDateError as e:
        fail(f"--date: {e}")
    settings, db = open_data()
    key = unit_key(db, unit)
    r = _guard(lambda: receive_incoming(db, key, ref=ref, letter_date=when, sender=" ".join(sender.split()),
                                        subject=subject.strip(), pdf=pdf, settings=settings,
                                        actor=current_actor()))
    word = "ลงรับหนังสือจากภายนอกแล้ว / received" if r.new else "ลงรับไว้แล้ว / already received"
    typer.echo(f"{word}: {receipt_text(r.number, r.year)} ({moment_text(r.received_at)})")
    if r.stamped_pdf_key:
        typer.echo(f"ฉบับประทับตรารับ / stamped copy: {file_store(settings).describe(r.stamped_pdf_key)}")


def status_command(
    letter: LetterArg,
    as_json: Annotated[bool, typer.Option("--json", help="สำหรับโปรแกรม / Machine-readable output.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="เขียนรายงาน (status-<id>.docx และ .xlsx) ลงโฟลเดอร์นี้ / Write the status report to this "
                         "folder and print the paths of the two files instead of the tree.", file_okay=False,
        show_default=False)] = None,
) -> None:
    """สถานะหนังสือ: ใครได้รับ ใครยังไม่ได้รับ / Who has the letter.

    ใครได้รับหนังสือแล้ว ใครยังไม่ได้รับ ทุกระดับ ทุกหน่วยงาน / Who has the letter and who does not: per level
    and per unit, down the whole chain."""
    from saraban.chain.circulars import find_letter
    from saraban.chain.status import as_dict, as_text, letter_status, mail_problems, mail_problems_text

    if as_json and report is not None:
        fail("ใช้ --json กับ --report พร้อมกันไม่ได้ / --json and --report do not go together: the one prints the "
             "status, the other the report's files")
    settings, db = open_data()

    def find() -> int:
        with db.transaction() as s:
            return find_letter(s, letter).id

    status = letter_status(db, _guard(find))
    if report is not None:
        from saraban.reports.status import write_status_report

        try:
            paths = write_status_report(status, report, settings)
        except OSError as e:
            fail(f"เขียนรายงานลง {report} ไม่ได้ / could not write the report to {report}: {e}")
        for path in paths:
            typer.echo(str(path))
        return
    problems = mail_problems(db, status)
    if as_json:
        typer.echo(json.dumps(as_dict(status) | {"mail_problems": problems}, ensure_ascii=False, indent=1))
    else:
        typer.echo(as_text(status))
        if problems:
            typer.echo("\n" + mail_problems_text(problems))
