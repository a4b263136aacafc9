"""`saraban programme create|show|invite` and `saraban apply` (register ``apply_command`` at the top level).
The core is imported inside each command (see common.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, current_actor, open_data, unit_key

app = typer.Typer(help="โครงการที่ อปท. สมัครเข้าร่วม: กำหนด แสดง เชิญ / Programmes local administrations apply "
                       "to: define, show, invite.", no_args_is_help=True, rich_markup_mode=None)


def _fail(problems: list[str]) -> None:
    if len(problems) == 1:
        typer.secho(problems[0], err=True, fg=typer.colors.RED)
    else:
        typer.secho(f"พบข้อผิดพลาด {len(problems)} รายการ ไม่มีการบันทึก / {len(problems)} problem(s) — nothing was "
                    "written:", err=True, fg=typer.colors.RED)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(2)


def _guard(action):
    from saraban.directory.levels import DirectoryError
    from saraban.letters.paper.pdf import PdfError
    from saraban.letters.spec import SpecError
    from saraban.programmes.definitions import ProgrammeError

    try:
        return action()
    except (ProgrammeError, SpecError) as e:
        _fail(e.problems)
    except (DirectoryError, PdfError) as e:
        _fail([str(e)])


@app.command("create")
def create_command(
    file: Annotated[Path, typer.Argument(help="นิยามโครงการ (.yaml) / The programme's definition (.yaml).")],
    update: Annotated[bool, typer.Option("--update", help="แทนที่นิยามของโครงการที่บันทึกไว้ด้วยรหัสเดียวกัน / "
                                                          "Replace the definition of a programme already "
                                                          "recorded under the same key.")] = False,
    check: Annotated[bool, typer.Option("--check", help="ตรวจไฟล์อย่างเดียว ไม่บันทึก / Only check the file; "
                                                        "write nothing.")] = False,
) -> None:
    """บันทึกโครงการจาก YAML / Record a programme.

    บันทึกโครงการจากนิยาม YAML (ไฟล์เดิมซ้ำไม่เปลี่ยนอะไร) / Record a programme from its YAML definition (the
    same file again changes nothing)."""
    from saraban.programmes.applications import create_programme
    from saraban.programmes.definitions import load_programme_file

    if check:
        d = _guard(lambda: load_programme_file(file))
        typer.echo(f"ok  {file}: {d['key']} — {d['name']}")
        return
    settings, db = open_data()
    programme = _guard(lambda: create_programme(db, file, update=update, actor=current_actor()))
    typer.echo(f"บันทึกโครงการแล้ว / programme {programme.key}: {programme.name} ประจำปี {programme.year} "
               f"(id {programme.id})")


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="รหัสหรือชื่อเต็มของโครงการ / The programme's key (or its exact "
                                             "name).")],
) -> None:
    """แสดงโครงการ / Show a programme.

    โครงการ: เจ้าของ ช่วงรับสมัคร ผู้มีสิทธิ์ เกณฑ์ประเมิน หนังสือเชิญ ผู้สมัคร / The programme: owner, window,
    eligibility, assessment structure, invitation, applications."""
    from saraban.programmes.applications import describe, get_programme

    settings, db = open_data()

    def text() -> str:
        with db.transaction() as s:
            return describe(s, get_programme(s, name))

    typer.echo(_guard(text))


@app.command("invite")
def invite_command(
    name: Annotated[str, typer.Argument(help="รหัสโครงการ / The programme's key.")],
    to: Annotated[str, typer.Option("--to", help="ผู้รับ / Recipients: a selector such as "
                                                 "'all:subdistrict_municipality', 'province:สระบุรี:local' or "
                                                 "'ทุกจังหวัด'.")],
) -> None:
    """ออกหนังสือเชิญของโครงการ / Send a programme's invitation.

    ออกหนังสือเชิญของโครงการเป็นหนังสือเวียนของเจ้าของโครงการ (QR ในแต่ละฉบับเปิดใบสมัคร) / Issue the
    programme's invitation as a circular of its owner (each copy's QR opens the application)."""
    from saraban.programmes.applications import send_invitation

    settings, db = open_data()
    issued = _guard(lambda: send_invitation(db, settings, name, to=to, actor=current_actor()))
    word = "ออกหนังสือแล้ว / issued" if issued.new else ("ออกไปแล้ว ไม่มีการออกเลขใหม่ / already issued (nothing new "
                                                     "numbered)")
    typer.echo(f"{word}: letter {issued.letter_id}, ที่ {issued.ref}, {issued.recipients} recipients")


@app.command("assessor")
def assessor_command(
    name: Annotated[str, typer.Argument(help="รหัสโครงการ / The programme's key.")],
    username: Annotated[str, typer.Argument(help="ผู้ใช้บทบาทผู้ประเมินของเจ้าของโครงการ / An assessor account "
                                                 "of the owner's office.")],
    remove: Annotated[bool, typer.Option("--remove", help="ถอนการแต่งตั้ง / End the appointment.")] = False,
) -> None:
    """แต่งตั้งผู้ประเมินของโครงการ / Appoint (or remove) an assessor of a programme.

    ผู้ประเมินเห็นและให้คะแนนเฉพาะโครงการที่ได้รับแต่งตั้ง / An assessor sees and scores only the programmes they
    are appointed to (the web's /programmes); the owner's head may also do this on the web."""
    from saraban.programmes.assessors import appoint_assessor, remove_assessor

    _, db = open_data()
    act = remove_assessor if remove else appoint_assessor
    changed = _guard(lambda: act(db, name, username, actor=current_actor()))
    if remove:
        typer.echo(f"ถอน {username} จาก {name} แล้ว / removed" if changed else f"{username} ไม่ได้เป็นผู้ประเมินของ "
                   f"{name} / was not appointed")
    else:
        typer.echo(f"แต่งตั้ง {username} เป็นผู้ประเมินของ {name} แล้ว / appointed" if changed else
                   f"{username} เป็นผู้ประเมินของ {name} อยู่แล้ว / already appointed")


def _scores(items: list[str], file: Path | None) -> dict[str, str] | None:
    scores: dict[str, str] = {}
    if file is not None:
        import yaml

        from saraban.kernel.yaml_input import RefusedYaml, TextDatesLoader

        try:
            data = yaml.load(file.read_text(encoding="utf-8-sig"), Loader=TextDatesLoader)
        except RefusedYaml as e:
            _fail([f"--scores {file}: {e}"])
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            _fail([f"--scores {file}: อ่านไฟล์ไม่ได้ / cannot read it: {e}"])
        if not isinstance(data, dict):
            _fail([f"--scores {file}: ต้องเป็น ตัวชี้วัด: คะแนน / expected a mapping of indicator: score"])
        scores |= {str(k): v for k, v in data.items()}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            _fail([f"--score '{item}': ต้องเป็น ตัวชี้วัด=คะแนน เช่น 1.1=4 / expected INDICATOR=SCORE, e.g. 1.1=4"])
        scores[key.strip()] = value.strip()
    return scores or None


def apply_command(
    programme: Annotated[str, typer.Argument(help="รหัสโครงการ / The programme's key, e.g. eco-town-2565.")],
    unit: Annotated[str, typer.Option("--unit", help=f"หน่วยงานที่สมัคร / The applying unit: {UNIT_HELP}.")],
    contact: Annotated[str, typer.Option("--contact", help="ชื่อผู้ประสานงาน / The contact person's name.")],
    email: Annotated[str | None, typer.Option("--email", help="อีเมลผู้ประสานงาน / The contact's e-mail (the "
                                                              "acknowledgement goes there and to the unit's "
                                                              "e-mail).")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="โทรศัพท์ / The contact's phone.")] = None,
    position: Annotated[str | None, typer.Option("--position", help="ตำแหน่ง / The contact's position.")] = None,
    score: Annotated[list[str] | None, typer.Option("--score", help="คะแนนประเมินตนเอง ตัวชี้วัด=คะแนน (ซ้ำได้) / "
                                                                    "A self-assessment score, INDICATOR=SCORE "
                                                                    "(repeat it).")] = None,
    scores_file: Annotated[Path | None, typer.Option("--scores", help="คะแนนประเมินตนเอง: YAML ตัวชี้วัด: คะแนน / "
                                                                      "Self-assessment scores: a YAML mapping of "
                                                                      "indicator: score.")] = None,
) -> None:
    """สมัครเข้าร่วมโครงการ / Apply a unit to a programme.

    สมัครเข้าร่วมโครงการ สมัครซ้ำคือแก้ไข ครั้งแรกได้หนังสือตอบรับ (หนังสือประทับตรา เลขทะเบียนส่งของเจ้าของ
    โครงการ) และอีเมล / Apply a unit to a programme; a second application updates the first. The first is
    acknowledged by a หนังสือประทับตรา numbered in the owner's send register, and by e-mail."""
    from saraban.programmes.applications import apply

    settings, db = open_data()
    key = unit_key(db, unit)
    given = {"name": contact, "email": email, "phone": phone, "position": position}
    result = _guard(lambda: apply(db, settings, programme, key, contact={k: v for k, v in given.items() if v},
                                  scores=_scores(score or [], scores_file), actor=current_actor()))
    if result.new:
        typer.echo(f"บันทึกใบสมัครแล้ว หนังสือตอบรับ ที่ {result.ack_ref} / application {result.application_id} "
                   f"recorded; acknowledgement: letter {result.ack_letter_id}, ที่ {result.ack_ref}")
    else:
        typer.echo(f"แก้ไขใบสมัครแล้ว ไม่ออกหนังสือตอบรับใหม่ / application {result.application_id} updated "
                   f"(revision {result.revision}); no new acknowledgement letter (ที่ {result.ack_ref})")
    if result.provisional_level:
        typer.echo(f"ระดับเบื้องต้น (ประเมินตนเอง) / provisional level (self-assessment): {result.provisional_level}")
    if result.mail is None:
        typer.echo("อีเมล: ไม่มีที่อยู่ (ระบุ --email หรือตั้งอีเมลของหน่วยงาน) / e-mail: no address (give --email or "
                   "set the unit's e-mail)")
    elif result.mail.ok:
        typer.echo(f"ส่งอีเมลแล้ว / e-mail sent to {', '.join(result.mail.to)}")
    else:
        typer.secho(f"ไม่ได้ส่งอีเมล / e-mail not sent: {result.mail.error}", fg=typer.colors.YELLOW)


@app.command("late-application")
def late_application_command(
    programme: Annotated[str, typer.Argument(help="รหัสโครงการ / The programme's key, e.g. eco-town-2565.")],
    unit: Annotated[str, typer.Option("--unit", help=f"หน่วยงานที่สมัคร / The applying unit: {UNIT_HELP}.")],
    reason: Annotated[str, typer.Option("--reason", help="เหตุที่รับใบสมัครนอกช่วงเวลา (บันทึกในประวัติ) / Why the "
                                                         "late application is accepted (kept in the event log).")],
    received_on: Annotated[str, typer.Option("--received-on", help="วันที่ได้รับใบสมัคร (กระดาษ) เช่น "
                                                                   "'๑๒ มกราคม ๒๕๖๕' หรือ 2022-01-12 / The day the "
                                                                   "paper application was received.")],
    contact: Annotated[str, typer.Option("--contact", help="ชื่อผู้ประสานงาน / The contact person's name.")],
    email: Annotated[str | None, typer.Option("--email", help="อีเมลผู้ประสานงาน / The contact's e-mail.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="โทรศัพท์ / The contact's phone.")] = None,
    position: Annotated[str | None, typer.Option("--position", help="ตำแหน่ง / The contact's position.")] = None,
    score: Annotated[list[str] | None, typer.Option("--score", help="คะแนนประเมินตนเอง ตัวชี้วัด=คะแนน (ซ้ำได้) / "
                                                                    "A self-assessment score, INDICATOR=SCORE "
                                                                    "(repeat it).")] = None,
) -> None:
    """บันทึกใบสมัครที่มาช้า (เจ้าของโครงการ) / Record a late paper application (the owner).

    เจ้าของโครงการบันทึกใบสมัครกระดาษที่ได้รับนอกช่วงรับสมัคร พร้อมเหตุผล (บันทึกในประวัติ) / The programme's owner
    records a paper application received outside the window, with the reason (kept in the event log). While
    the window is open, units apply as usual (saraban apply)."""
    from saraban.programmes.applications import record_late_application
    from thai_text import ThaiDateError, parse_thai_date

    try:
        when = parse_thai_date(received_on)
    except ThaiDateError as e:
        _fail([f"--received-on: {e}"])
    settings, db = open_data()
    key = unit_key(db, unit)
    given = {"name": contact, "email": email, "phone": phone, "position": position}
    result = _guard(lambda: record_late_application(
        db, settings, programme, key, contact={k: v for k, v in given.items() if v}, reason=reason,
        received_on=when, scores=_scores(score or [], None), actor=current_actor()))
    word = "บันทึกใบสมัครที่มาช้าแล้ว / late application recorded" if result.new else \
        "แก้ไขใบสมัครแล้ว (มาช้า) / application updated (late)"
    typer.echo(f"{word}: application {result.application_id}, หนังสือตอบรับ / acknowledgement ที่ {result.ack_ref}")
