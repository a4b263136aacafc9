"""`saraban remind` (once, or a dry run) and `saraban serve` (the daily deployment). The core is imported
inside each command (see common.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from saraban.faces.cli.common import current_actor, fail, open_data

if TYPE_CHECKING:
    from saraban.programmes.reminders import ReminderResult

STATUS_NAMES = {"made": "ออกหนังสือแล้ว", "completed": "ทำต่อจากครั้งก่อนจนเสร็จ", "already": "ส่งไปแล้ว", "planned": "จะส่ง",
                "pending": "ค้างส่ง (จะส่งอีเมล/หนังสือที่ค้าง)", "error": "ผิดพลาด"}
MAIL_NAMES = {"sent": "ส่งอีเมลแล้ว", "refused": "ปลายทางปฏิเสธ", "failed": "ส่งไม่สำเร็จ (จะลองใหม่)",
              "no-address": "ไม่มีอีเมล", None: "-"}
KIND_NAMES = {"receipt": "ยังไม่ลงรับ", "deadline": "ยังไม่สมัคร", "acknowledgement": "ส่งอีเมลตอบรับซ้ำ"}


def _when(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        fail(f"--at: ต้องเป็นวันเวลาแบบ ISO เช่น 2024-04-08T08:00 / expected an ISO date and time such as "
             f"2024-04-08T08:00, got {at!r}")


def table(results: list[ReminderResult]) -> str:
    """The results as a plain-text table in Thai."""
    from saraban.reports.programmes import step_text
    from thai_text import to_thai_digits

    head = ("หน่วยงานที่ค้าง", "ถึง", "เรื่อง", "ขั้น", "หนังสือ ที่", "อีเมล", "สถานะ")
    rows = [(f"{r.unit_name} ({r.unit_key})", r.addressee_name if r.addressee_key != r.unit_key else "(หน่วยงานเดียวกัน)",
             KIND_NAMES.get(r.kind, r.kind), step_text(r.step), to_thai_digits(r.ref) if r.ref else "-",
             MAIL_NAMES.get(r.mail_status, r.mail_status) if r.status != "planned" else (r.email or "ไม่มีอีเมล"),
             STATUS_NAMES.get(r.status, r.status) + (f": {r.error}" if r.error else "")) for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in (head, *rows)]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def remind_command(
    now: Annotated[bool, typer.Option("--now", help="ทำหนังสือทวงถามที่ถึงกำหนดเดี๋ยวนี้ (ผ่าน Prefect) / Run the "
                                                    "reminders flow once, now (through Prefect).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="แสดงสิ่งที่จะส่ง ไม่เขียนไม่ส่ง / List what would be "
                                                            "sent; write and send nothing.")] = False,
    at: Annotated[str | None, typer.Option("--at", help="สมมติว่าเป็นเวลานี้ (ISO เวลาไทย) / Pretend it is this time "
                                                         "(ISO, Thai time), e.g. 2024-04-08T08:00.")] = None,
    to_parent: Annotated[bool | None, typer.Option("--to-parent/--to-unit", help="ส่งถึงหน่วยงานต้นสังกัดของหน่วยงาน"
                                                   "ที่ค้าง / Address the late unit's parent office (default: "
                                                   "SARABAN_REMIND_TO_PARENT, else the unit).",
                                                   show_default=False)] = None,
) -> None:
    """ทวงถามที่ถึงกำหนด / Send the reminders due.

    ทวงถาม: หนังสือประทับตราและอีเมลถึงหน่วยงานที่ยังไม่ลงรับ (๓ และ ๗ วันหลังส่ง) หรือยังไม่สมัครโครงการ
    (๑๔ ๗ ๓ ๑ วันก่อนปิดรับ) ครั้งเดียวต่อขั้น / A stamped reminder letter and an e-mail to every unit that
    has not received a letter (3 and 7 days after it was sent) or not applied to an open programme (14, 7,
    3, 1 days before it closes). Each reminder is made once, however often this runs. ส่งอีเมลตอบรับการสมัคร
    ที่ส่งไม่สำเร็จซ้ำอีกครั้ง / Acknowledgement e-mails whose last send failed are sent once more.

    exit code: 0 ทุกอย่างสำเร็จ / all done; 1 มีอีเมลส่งไม่สำเร็จหรือหนังสือทวงถามผิดพลาด (ไม่ใช่ข้อมูลผิด ลองใหม่ภายหลัง
    ครั้งต่อไปจะส่งที่ค้างเอง) / an e-mail failed or a reminder could not be made (not bad input: the next run
    sends what is left); 2 ข้อมูลที่ระบุผิด / bad input."""
    from saraban.programmes.reminders import (
        ReminderError,
        ReminderResult,
        failed_sends,
        make_reminders,
        policy_from_env,
    )

    if not now and not dry_run:
        fail("ระบุ --now เพื่อทำหนังสือทวงถามที่ถึงกำหนด หรือ --dry-run เพื่อดูก่อน / give --now to make the reminders "
             "due now, or --dry-run to see them first (`saraban serve` runs them every day)")
    when = _when(at)
    try:
        policy = policy_from_env(to_parent=to_parent)
    except ReminderError as e:
        fail(str(e))
    if dry_run:
        settings, db = open_data()
        results = make_reminders(db, settings, when, policy, dry_run=True)
        if not results:
            typer.echo("ไม่มีหนังสือทวงถามที่ต้องส่ง / nothing to remind")
            return
        typer.echo(table(results))
        typer.echo(f"\nจะส่ง {len(results)} ฉบับ (ทดลอง: ไม่มีการบันทึก) / {len(results)} reminder(s) would be sent "
                   "(dry run: nothing was written)")
        return
    from workflows.reminders import reminders_flow

    typer.echo("กำลังทำหนังสือทวงถามด้วย Prefect (ครั้งแรกใช้เวลาราว ๒๐ วินาที) / Running the reminders flow with "
               "Prefect (local ephemeral server; the first start takes ~20 s) ...")
    raw = reminders_flow(at_iso=when.isoformat() if when else None, to_parent=to_parent, actor=current_actor())
    results = [ReminderResult(**r) for r in raw]
    if not results:
        typer.echo("ไม่มีหนังสือทวงถามที่ต้องส่ง / nothing to remind")
        return
    typer.echo(table(results))
    errors = sum(r.status == "error" for r in results)
    failed = failed_sends(results)
    typer.echo(f"\nทำแล้ว {len(results) - errors} ฉบับ ผิดพลาด {errors} ส่งอีเมลไม่สำเร็จ {failed} / "
               f"{len(results) - errors} reminder(s) made or completed, {errors} error(s), {failed} e-mail(s) failed")
    if errors or failed:
        typer.secho("มีรายการไม่สำเร็จ ครั้งต่อไปจะส่งที่ค้างอีกครั้ง / not everything went through: the next run "
                    "tries what is left again", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1)


def serve_command(
    cron: Annotated[str, typer.Option("--cron", help="เวลาที่ทำงาน (เวลาไทย) / When to run, in Thai time "
                                                     "(Asia/Bangkok).")] = "0 8 * * *",
) -> None:
    """เริ่มงานทวงถามประจำวัน / Serve the daily reminders.

    เริ่มงานทวงถามประจำวัน (ทำงานจนกด Ctrl-C) / Start the daily reminders deployment (blocks until stopped
    with Ctrl-C)."""
    from workflows.reminders import serve

    typer.echo(f"เริ่มงานทวงถามประจำวัน '{cron}' เวลาไทย กด Ctrl-C เพื่อหยุด / Serving the daily-reminders "
               f"deployment: '{cron}' Asia/Bangkok. Stop with Ctrl-C.")
    serve(cron)
