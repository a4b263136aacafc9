"""`saraban data check|adopt`: whether the database and the output folder belong together, and giving a new
(empty) output folder the database's id. Nothing here renumbers anything."""

from __future__ import annotations

import typer

app = typer.Typer(help="ฐานข้อมูลกับโฟลเดอร์ผลงาน / The database and the output folder.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("check")
def check_command() -> None:
    """ตรวจว่าฐานข้อมูลกับโฟลเดอร์ผลงานเป็นชุดเดียวกัน / Check the data folder.

    แสดงรหัสของฐานข้อมูลและของโฟลเดอร์ผลงาน เลขที่ออกไปแล้ว และสิ่งที่ต้องทำ ไม่ตรงกัน → exit code 2 / Show the
    database's id and the output folder's, the numbers issued, and what to do; exit code 2 when they do not
    belong together."""
    from saraban.faces.cli.common import fail, open_data
    from saraban.records.data_folder import MANIFEST, folder_state

    settings, db = open_data(guard=False)
    state = folder_state(db, settings)
    typer.echo(f"ฐานข้อมูล / database: {db.engine.url.render_as_string(hide_password=True)} "
               f"(id {state.database_id or '-'}{', ว่าง / empty' if state.database_is_new else ''})")
    typer.echo(f"โฟลเดอร์ผลงาน / output folder: {state.output_dir} (id {state.manifest_id or '-'}, "
               f"{MANIFEST}: {'มี / yes' if state.has_manifest else 'ไม่มี / no'}, หนังสือที่ออกแล้ว / issued files: "
               f"{'มี / yes' if state.has_issued_files else 'ไม่มี / no'})")
    typer.echo(f"ทะเบียนบรรทัดสุดท้าย / last register line: ในโฟลเดอร์ / seen by the folder {state.seen_line}, "
               f"ในฐานข้อมูล / in the database {state.last_line}")
    problem = state.problem()
    if problem:
        fail(problem + "\nทางแก้ / what to do: ใช้ฐานข้อมูลที่ถูกต้อง (หรือกู้สำรองล่าสุด) หรือย้ายโฟลเดอร์ผลงานออกไปแล้ว"
             " saraban data adopt / use the right database (or restore the newest backup), or move the output "
             "folder aside and run saraban data adopt; nothing is ever renumbered")
    typer.echo("ตรงกัน / ok: the database and the output folder belong together")


@app.command("adopt")
def adopt_command() -> None:
    """ให้โฟลเดอร์ผลงานใหม่ (ว่าง) ใช้รหัสของฐานข้อมูลนี้ / Give an empty output folder this database's id.

    ใช้เมื่อเริ่มโฟลเดอร์ผลงานใหม่ (หรือย้ายโฟลเดอร์เดิมออกไปแล้ว) โฟลเดอร์ที่มีหนังสือที่ออกแล้วจะไม่ถูกเปลี่ยน / For a
    new output folder (or after moving the old one aside); a folder that holds issued letters is refused."""
    from saraban.faces.cli.common import open_data
    from saraban.records.data_folder import adopt

    settings, db = open_data(guard=False)
    ident = adopt(db, settings)
    typer.echo(f"โฟลเดอร์ {settings.output_dir} เป็นของฐานข้อมูลนี้แล้ว / {settings.output_dir} now belongs to this "
               f"database (id {ident})")
