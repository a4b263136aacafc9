"""Accounts: add, import, disable, reset a password, and log in with throttling and lock-out.

Every act on an account is an event (who, which office, what, when, from which address). A login that
fails counts against the account (after ``MAX_FAILURES`` in a row it is locked for ``LOCK_MINUTES``) and
against the client's address (more than ``MAX_ADDRESS_FAILURES`` in ``ADDRESS_WINDOW_MINUTES``: refused
before the password is even checked); both are kept in the database, so every worker sees them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from saraban.accounts.authority import Actor
from saraban.accounts.passwords import hash_password, needs_rehash, new_password, password_problem, verify_password
from saraban.accounts.roles import ROLES, UnknownRole, resolve_role
from saraban.directory.levels import DirectoryError
from saraban.directory.units import resolve_unit
from saraban.kernel.clock import at_or_now
from saraban.kernel.email_address import check_email
from saraban.kernel.text_input import TextInputError, clean_text
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import LoginFailure, User
from thai_text import to_thai_digits

MAX_FAILURES = 5
LOCK_MINUTES = 15
MAX_ADDRESS_FAILURES = 20
ADDRESS_WINDOW_MINUTES = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Hashed once so that an unknown username costs the same time as a wrong password (no user enumeration).
_UNKNOWN_USER_HASH = hash_password(new_password())


class AccountError(ValueError):
    """A request on accounts that the rules refuse; the message says why (Thai / English)."""


class LoginRefused(AccountError):
    """Wrong username or password, a locked or disabled account, or too many attempts from an address.
    ``locked_until`` says when a locked account opens again."""

    def __init__(self, message: str, *, locked_until: datetime | None = None, throttled: bool = False) -> None:
        super().__init__(message)
        self.locked_until = locked_until
        self.throttled = throttled


WRONG = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง / wrong username or password"


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    unit: str  # key, exact Thai name, or a unique part of one
    role: str
    password: str | None = None  # None: a random one is made and returned once
    email: str | None = None


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, unit_id=user.unit_id, role=user.role,
                 disabled=user.disabled)


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(f"ชื่อผู้ใช้ '{username}' ใช้ไม่ได้ ใช้อักษรอังกฤษตัวเล็ก ตัวเลข . _ - ยาว 2–64 ตัว / username "
                           f"'{username}' is not valid: 2–64 of a-z, 0-9, '.', '_', '-', from a letter or digit")
    return name


def _prepare(session: Session, new: NewUser) -> tuple[dict, str]:
    username = _check_username(new.username)
    try:
        display_name = clean_text(new.display_name, field="display_name")
        role = resolve_role(new.role)
        unit = resolve_unit(session, new.unit)
    except (TextInputError, UnknownRole, DirectoryError) as e:
        raise AccountError(f"{username}: {e}") from None
    if not display_name:
        raise AccountError(f"{username}: ต้องมีชื่อที่แสดง / a display name is required")
    email = None
    if new.email:
        try:
            email = check_email(new.email)
        except ValueError as e:
            raise AccountError(f"{username}: {e}") from None
    password = new.password or new_password()
    if problem := password_problem(password):
        raise AccountError(f"{username}: {problem}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"มีผู้ใช้ชื่อ {username} อยู่แล้ว / a user named {username} already exists")
    values = {"username": username, "display_name": display_name, "unit_id": unit.id, "role": role,
              "email": email}
    return values, password


def _add(session: Session, values: dict, password: str, actor: str, at: datetime) -> User:
    user = User(**values, password_hash=hash_password(password), disabled=False, failed_logins=0,
                session_version=1, created_at=at, password_changed_at=at)
    session.add(user)
    session.flush()
    record_event(session, "account.added", actor=actor, at=at, unit_id=user.unit_id, office_id=user.unit_id,
                 after={"username": user.username, "role": user.role, "display_name": user.display_name})
    return user


def add_user(db: Database, new: NewUser, *, actor: str = "saraban", at: datetime | None = None) -> tuple[User, str]:
    """Add one account; returns it and its password (the one given, or a new random one to hand out once)."""
    at = at_or_now(at)
    with db.transaction() as s:
        values, password = _prepare(s, new)
        return _add(s, values, password, actor, at), password


IMPORT_COLUMNS = ("username", "display_name", "unit", "role", "email", "password")


def read_users_csv(path: Path | str | io.TextIOBase) -> list[NewUser]:
    """The rows of a users CSV (UTF-8, header ``username,display_name,unit,role[,email][,password]``); a bad
    row raises :class:`AccountError` naming its line."""
    text = path.read() if isinstance(path, io.TextIOBase) else Path(path).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in IMPORT_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise AccountError(f"ไฟล์ขาดคอลัมน์ {', '.join(missing)} / the CSV lacks the column(s) {', '.join(missing)} "
                           f"(header: {','.join(IMPORT_COLUMNS)})")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise AccountError(f"บรรทัด {line}: จำนวนช่องไม่ตรงกับหัวตาราง / line {line}: the number of fields does "
                               "not match the header")
        rows.append(NewUser(username=row["username"], display_name=row["display_name"], unit=row["unit"],
                            role=row["role"], email=(row.get("email") or "").strip() or None,
                            password=(row.get("password") or "") or None))
    return rows


def import_users(db: Database, rows: list[NewUser], *, actor: str = "saraban",
                 at: datetime | None = None) -> list[tuple[User, str]]:
    """Add every row or none: the first bad row raises :class:`AccountError` (with its username) and nothing is
    added. Returns each account with its password."""
    at = at_or_now(at)
    seen: set[str] = set()
    with db.transaction() as s:
        prepared = []
        for new in rows:
            values, password = _prepare(s, new)
            if values["username"] in seen:
                raise AccountError(f"ชื่อผู้ใช้ {values['username']} ซ้ำในไฟล์ / the username {values['username']} "
                                   "appears twice in the file")
            seen.add(values["username"])
            prepared.append((values, password))
        return [(_add(s, values, password, actor, at), password) for values, password in prepared]


def _user(session: Session, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == username.strip().lower())
    user = session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise AccountError(f"ไม่พบผู้ใช้ {username} / no user named {username}")
    return user


def disable_user(db: Database, username: str, *, actor: str = "saraban", at: datetime | None = None) -> User:
    """Disable an account: it can no longer log in, and its open sessions end at once."""
    at = at_or_now(at)
    with db.transaction() as s:
        user = _user(s, username, lock=True)
        if not user.disabled:
            user.disabled = True
            user.session_version += 1
            record_event(s, "account.disabled", actor=actor, at=at, unit_id=user.unit_id, office_id=user.unit_id,
                         before={"disabled": False}, after={"disabled": True}, data={"username": user.username})
        return user


def reset_password(db: Database, username: str, password: str | None = None, *, actor: str = "saraban",
                   at: datetime | None = None) -> str:
    """Set a new password (given, or a random one returned to hand out once), unlock the account and end its
    open sessions."""
    at = at_or_now(at)
    password = password or new_password()
    if problem := password_problem(password):
        raise AccountError(problem)
    with db.transaction() as s:
        user = _user(s, username, lock=True)
        user.password_hash = hash_password(password)
        user.password_changed_at = at
        user.failed_logins = 0
        user.locked_until = None
        user.session_version += 1
        record_event(s, "account.password_reset", actor=actor, at=at, unit_id=user.unit_id,
                     office_id=user.unit_id,
                     data={"username": user.username})
    return password


def _address_failures(session: Session, address: str, at: datetime) -> int:
    """The address's failures within the window (older ones are dropped when a login is recorded)."""
    since = at - timedelta(minutes=ADDRESS_WINDOW_MINUTES)
    return session.scalar(select(func.count()).select_from(LoginFailure)
                          .where(LoginFailure.address == address, LoginFailure.at > since)) or 0


def _locked_message(until: datetime) -> str:
    when = to_thai_digits(until.strftime("%H.%M"))
    return (f"บัญชีถูกล็อกชั่วคราวเพราะใส่รหัสผ่านผิดหลายครั้ง ลองใหม่หลังเวลา {when} น. หรือติดต่อผู้ดูแลระบบ / the account "
            f"is locked after repeated failures until {until.strftime('%H:%M')}; try again later or ask the "
            "administrator to reset the password")


def authenticate(db: Database, username: str, password: str, *, address: str,
                 at: datetime | None = None) -> User:
    """The account for ``username`` and ``password``, or :class:`LoginRefused`. Failures are counted (per
    account and per address) and recorded as events; success resets the account's count.

    The password is checked (argon2: tens of milliseconds, on purpose) outside any write transaction, so
    logins do not queue on SQLite's write lock; the outcome is then recorded in a short one, which looks
    at the account again (a reset or a lock-out meanwhile wins). The refusal is raised after its
    transaction commits: a failure rolled back would count for nothing."""
    at = at_or_now(at)
    name = username.strip().lower()[:64]
    with db.reading() as s:
        throttled = _address_failures(s, address, at) >= MAX_ADDRESS_FAILURES
        user = s.scalar(select(User).where(User.username == name))
    locked = user is not None and user.locked_until is not None and user.locked_until > at
    checked_hash = user.password_hash if user is not None and not (throttled or locked) else _UNKNOWN_USER_HASH
    ok = verify_password(checked_hash, password) and user is not None and not (throttled or locked)
    with db.transaction() as s:
        outcome = _record_login(s, name, password, address, at, throttled=throttled, ok=ok, checked_hash=checked_hash)
    if isinstance(outcome, LoginRefused):
        raise outcome
    return outcome


def _record_login(s: Session, name: str, password: str, address: str, at: datetime, *, throttled: bool, ok: bool,
                  checked_hash: str) -> User | LoginRefused:
    """Record the outcome of a login whose password was checked (``ok``) against ``checked_hash``."""
    s.execute(delete(LoginFailure).where(LoginFailure.address == address,
                                         LoginFailure.at <= at - timedelta(minutes=ADDRESS_WINDOW_MINUTES)))
    if throttled:
        record_event(s, "account.login_throttled", actor=name or "?", at=at, data={"username": name})
        wait = to_thai_digits(ADDRESS_WINDOW_MINUTES)
        return LoginRefused(f"มีการเข้าระบบผิดพลาดจากเครื่องนี้หลายครั้ง กรุณารอ {wait} นาที / too many "
                            f"failed logins from this address; wait {ADDRESS_WINDOW_MINUTES} minutes", throttled=True)
    user = s.scalar(select(User).where(User.username == name).with_for_update())
    if user is not None and user.locked_until is not None and user.locked_until > at:
        s.add(LoginFailure(at=at, address=address, username=name))
        record_event(s, "account.login_refused", actor=name, at=at, unit_id=user.unit_id, office_id=user.unit_id,
                     data={"reason": "locked"})
        return LoginRefused(_locked_message(user.locked_until), locked_until=user.locked_until)
    if ok and user is not None and user.password_hash != checked_hash:  # the password was reset meanwhile
        ok = verify_password(user.password_hash, password)
    if user is not None and ok and not user.disabled:
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        record_event(s, "account.login", actor=user.username, at=at, unit_id=user.unit_id, office_id=user.unit_id)
        return user
    s.add(LoginFailure(at=at, address=address, username=name))
    if user is None or user.disabled:
        record_event(s, "account.login_failed", actor=name or "?", at=at, unit_id=user.unit_id if user else None,
                     office_id=user.unit_id if user else None,
                     data={"reason": "disabled" if user else "unknown user"})
        return LoginRefused(WRONG)
    user.failed_logins += 1
    record_event(s, "account.login_failed", actor=name, at=at, unit_id=user.unit_id, office_id=user.unit_id,
                 data={"reason": "wrong password", "failures": user.failed_logins})
    if user.failed_logins < MAX_FAILURES:
        return LoginRefused(WRONG)
    user.locked_until = at + timedelta(minutes=LOCK_MINUTES)
    user.failed_logins = 0
    record_event(s, "account.locked", actor=name, at=at, unit_id=user.unit_id, office_id=user.unit_id,
                 data={"until": user.locked_until.isoformat()})
    return LoginRefused(_locked_message(user.locked_until), locked_until=user.locked_until)


def session_user(db: Database, user_id: int, session_version: int) -> User | None:
    """The account a signed session names, while it is enabled and its sessions have not been ended."""
    with db.reading() as s:
        user = s.get(User, user_id)
    if user is None or user.disabled or user.session_version != session_version:
        return None
    return user


def office_users(session: Session, unit_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.unit_id == unit_id).order_by(User.username)))


def role_name(role: str) -> str:
    return ROLES.get(role, role)


__all__ = ["AccountError", "LoginRefused", "NewUser", "actor_of", "add_user", "authenticate", "disable_user",
           "import_users", "office_users", "read_users_csv", "reset_password", "role_name",
           "session_user"]
