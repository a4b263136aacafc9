"""`saraban user`: the web face's accounts — add, import, disable, reset a password, list.

A password made here is printed once (to hand to its owner) and never stored in clear. Problems → a red
message (Thai / English), exit code 2, nothing changed. The core is imported inside each command (see
common.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, current_actor, fail, open_data

if TYPE_CHECKING:
    from saraban.records.db import Database

app = typer.Typer(help="ผู้ใช้ของหน้าเว็บ: หน่วยงาน บทบาท รหัสผ่าน / Accounts of the web face: office, role, password.",
                  no_args_is_help=True, rich_markup_mode=None)

ROLE_HELP = "สารบรรณ (clerk), หัวหน้า (head), เจ้าหน้าที่ (staff), ผู้ดูแลระบบ (admin)"


def _db() -> Database:
    return open_data(guard=False)[1]


def _shown_once(username: str, password: str) -> None:
    typer.echo(f"รหัสผ่านของ {username} / password of {username}: {password}")
    typer.echo("  (แสดงครั้งเดียว ส่งให้เจ้าของบัญชี / shown once: hand it to the account's owner)")


@app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="ชื่อผู้ใช้ (a-z 0-9 . _ -) / The login name.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="ชื่อที่แสดง / The person's name as shown.",
                                      show_default=False)],
    unit: Annotated[str, typer.Option("--unit", help=f"หน่วยงาน / The office: {UNIT_HELP}.", show_default=False)],
    role: Annotated[str, typer.Option("--role", help=f"บทบาท / The role: {ROLE_HELP}.", show_default=False)],
    email: Annotated[str | None, typer.Option("--email", help="อีเมล / E-mail address.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="อ่านรหัสผ่านจาก stdin (ไม่ใช้: สุ่มให้) / "
                                                 "Read the password from stdin (else a random one is printed "
                                                 "once).")] = False,
) -> None:
    """เพิ่มผู้ใช้ / Add an account.

    เพิ่มผู้ใช้หนึ่งคนของหน่วยงานหนึ่ง ไม่ระบุรหัสผ่าน: สุ่มให้และแสดงครั้งเดียว / Add one person of one office; without
    --password-stdin a random password is made and printed once."""
    from saraban.accounts.users import AccountError, NewUser, add_user, role_name

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("ไม่ได้รับรหัสผ่านจาก stdin / no password on stdin")
    db = _db()
    try:
        user, made = add_user(db, NewUser(username=username, display_name=name, unit=unit, role=role,
                                          password=password, email=email), actor=current_actor())
    except AccountError as e:
        fail(str(e))
    typer.echo(f"เพิ่มผู้ใช้ {user.username} ({role_name(user.role)}) แล้ว / added {user.username} ({user.role}) of "
               f"{_unit_name(db, user.unit_id)}")
    if password is None:
        _shown_once(user.username, made)


def _unit_name(db: Database, unit_id: int) -> str:
    from saraban.records.models import Unit

    with db.reading() as s:
        unit = s.get(Unit, unit_id)
        return f"{unit.name} [{unit.key}]" if unit else str(unit_id)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="ไฟล์ .csv (หัวตาราง username,display_name,unit,role[,email][,password]) "
                                              "/ A UTF-8 CSV with the header username,display_name,unit,role"
                                              "[,email][,password].", show_default=False)],
) -> None:
    """นำเข้าผู้ใช้จาก CSV / Import accounts from a CSV.

    ทุกแถวหรือไม่มีเลย: แถวที่ผิดบอกบรรทัด และไม่มีการเพิ่มใคร / All rows or none: a bad row is named by its line
    and nothing is added. Passwords not in the file are made and printed once."""
    from saraban.accounts.users import AccountError, import_users, read_users_csv

    if not file.is_file():
        fail(f"{file}: ไม่พบไฟล์ / no such file")
    try:
        rows = read_users_csv(file)
    except UnicodeDecodeError:
        fail(f"{file}: ไม่ใช่ไฟล์ UTF-8 / not a UTF-8 file")
    except AccountError as e:
        fail(f"{file}: {e}")
    if not rows:
        fail(f"{file}: ไม่มีแถวผู้ใช้ / no accounts in the file")
    db = _db()
    try:
        added = import_users(db, rows, actor=current_actor())
    except AccountError as e:
        message = f" {e} "
        line = next((i for i, r in enumerate(rows, start=2) if any(
            f"{r.username.strip().lower()}{end}" in message for end in (": ", " "))), None)
        where = f"บรรทัด {line} / line {line}: " if line else ""
        fail(f"{file}: {where}{e} — ไม่มีการเพิ่มผู้ใช้ / nothing was added")
    typer.echo(f"เพิ่มผู้ใช้ {len(added)} คน / added {len(added)} account(s)")
    given = {r.username.strip().lower() for r in rows if r.password}
    for user, password in added:
        if user.username not in given:
            _shown_once(user.username, password)


@app.command("disable")
def disable_command(
    username: Annotated[str, typer.Argument(help="ชื่อผู้ใช้ / The login name.", show_default=False)],
) -> None:
    """ปิดบัญชีผู้ใช้ / Disable an account (its open sessions end at once)."""
    from saraban.accounts.users import AccountError, disable_user

    try:
        user = disable_user(_db(), username, actor=current_actor())
    except AccountError as e:
        fail(str(e))
    typer.echo(f"ปิดบัญชี {user.username} แล้ว / disabled {user.username}")


@app.command("reset-password")
def reset_password_command(
    username: Annotated[str, typer.Argument(help="ชื่อผู้ใช้ / The login name.", show_default=False)],
) -> None:
    """ตั้งรหัสผ่านใหม่ / Reset a password.

    สุ่มรหัสผ่านใหม่ แสดงครั้งเดียว ปลดล็อก และออกจากระบบทุกที่ / Make a new random password (printed once), unlock
    the account and end its open sessions."""
    from saraban.accounts.users import AccountError, reset_password

    try:
        password = reset_password(_db(), username, actor=current_actor())
    except AccountError as e:
        fail(str(e))
    _shown_once(username.strip().lower(), password)


@app.command("list")
def list_command(
    unit: Annotated[str | None, typer.Option("--unit", help=f"เฉพาะหน่วยงานนี้ / Only this office: {UNIT_HELP}.")]
    = None,
) -> None:
    """รายชื่อผู้ใช้ / List the accounts (of one office with --unit)."""
    from sqlalchemy import select

    from saraban.accounts.users import role_name
    from saraban.directory.levels import DirectoryError
    from saraban.directory.units import resolve_unit
    from saraban.kernel.clock import now
    from saraban.records.models import Unit, User

    db = _db()
    with db.reading() as s:
        query = select(User, Unit).join(Unit, Unit.id == User.unit_id).order_by(Unit.key, User.username)
        if unit is not None:
            try:
                query = query.where(User.unit_id == resolve_unit(s, unit).id)
            except DirectoryError as e:
                fail(str(e))
        rows = s.execute(query).all()
    at = now()
    if not rows:
        typer.echo("ไม่มีผู้ใช้ / no accounts")
    for user, office in rows:
        state = ("ปิดใช้งาน/disabled" if user.disabled else "ล็อก/locked" if user.locked_until and user.locked_until > at
                 else "ใช้งาน/active")
        typer.echo(f"{user.username:<20} {role_name(user.role)} ({user.role})  {office.name} [{office.key}]  "
                   f"{user.display_name}  {state}")
