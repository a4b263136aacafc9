"""Tracking links: one per delivery, printed as a QR code on that recipient's copy.

A token is 16 random-looking bytes (22 characters): 9 random bytes and the first 7 bytes of an HMAC of
them with the office's secret, so a token can be checked without the database and cannot be guessed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select, update

from saraban.kernel.clock import at_or_now
from saraban.kernel.settings import Settings, SettingsError
from saraban.records.db import Database
from saraban.records.events import record_event
from saraban.records.models import Delivery, Letter, Unit

TOKEN_LENGTH = 22
_NONCE, _MAC = 9, 7


def secret_key(settings: Settings) -> bytes:
    """``SARABAN_SECRET`` or, by default, a random key kept in the data folder (created once).

    The file is written whole under a temporary name and then linked into place, so processes starting
    at once all read the same complete key and none fails; it is readable by its owner only."""
    if settings.secret:
        return settings.secret.encode("utf-8")
    path: Path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked its key first: use that one
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip().encode("utf-8")


def require_shared_secret(settings: Settings, signers: str) -> None:
    """Refuse to go on when links will be signed in more than one process (``signers``: who they are, e.g.
    "the Dask task runner's workers") and ``SARABAN_SECRET`` is not set: the key made per data folder is one
    per machine, so a link signed on one worker would be refused by a face on another."""
    if not settings.secret:
        raise SettingsError(
            f"ต้องตั้ง SARABAN_SECRET เมื่อมีหลายกระบวนการลงนามลิงก์ติดตาม ({signers}) ตั้งค่าเดียวกันทุกเครื่อง / "
            f"SARABAN_SECRET must be set when more than one process signs tracking links ({signers}): make one "
            "with: python3 -c 'import secrets; print(secrets.token_hex(32))' and set the same value on every "
            "machine (workers, the web face, the flows)")


def _mac(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, nonce, hashlib.sha256).digest()[:_MAC]


def new_token(key: bytes) -> str:
    nonce = secrets.token_bytes(_NONCE)
    return base64.urlsafe_b64encode(nonce + _mac(key, nonce)).decode().rstrip("=")


def token_is_genuine(token: str, key: bytes) -> bool:
    """True when the token was made with this key (a typo or a made-up token is False)."""
    if len(token) != TOKEN_LENGTH:
        return False
    try:
        raw = base64.urlsafe_b64decode(token + "==")
    except ValueError:
        return False
    return len(raw) == _NONCE + _MAC and hmac.compare_digest(raw[_NONCE:], _mac(key, raw[:_NONCE]))


def tracking_url(base_url: str, token: str) -> str:
    return f"{base_url}/t/{token}"


def longest_tracking_link(base_url: str) -> str:
    """A tracking link as long as any recipient's copy carries (every token has the same length): what a
    letter is checked and previewed with before its tokens exist."""
    return tracking_url(base_url, "x" * TOKEN_LENGTH)


# --- what the tracking link shows (the web face's /t/<token>) -------------------------------------------


@dataclass(frozen=True)
class TrackedCopy:
    """What anyone scanning a copy's QR code may see: that the letter is genuine, and to whom this copy went.

    ``subject`` is None for a secret letter (ลับ, ลับมาก, ลับที่สุด): only that it exists and to whom."""

    delivery_id: int
    letter_id: int
    unit_id: int  # the office this copy was sent to
    to_name: str
    ref_text: str
    letter_date: date
    sender_name: str
    subject: str | None
    secrecy: str | None
    received_at: datetime | None
    receipt_number: int | None
    receipt_year: int | None
    opened_at: datetime | None
    cancelled: bool


def tracked_copy(db: Database, token: str, key: bytes) -> TrackedCopy | None:
    """The copy a tracking token names, or None for a token that is not genuine (checked with ``key`` before
    the database is asked) or not known."""
    from saraban.chain.cancellations import cancellation_of

    if not isinstance(token, str) or not token_is_genuine(token, key):
        return None
    with db.reading() as s:
        row = s.execute(select(Delivery, Letter).join(Letter, Letter.id == Delivery.letter_id)
                        .where(Delivery.token == token)).one_or_none()
        if row is None:
            return None
        delivery, letter = row
        to_unit, sender = s.get(Unit, delivery.unit_id), s.get(Unit, letter.unit_id)
        cancelled = cancellation_of(s, letter.id) is not None
    spec = letter.spec or {}
    secrecy = spec.get("secrecy") or None
    sender_name = (spec.get("sender") or {}).get("name") or (sender.printed_sender if sender else "")
    return TrackedCopy(delivery.id, letter.id, delivery.unit_id, to_unit.name if to_unit else "", letter.ref_text,
                       letter.letter_date, sender_name, None if secrecy else letter.subject, secrecy,
                       delivery.received_at, delivery.receipt_number, delivery.receipt_year, delivery.opened_at,
                       cancelled)


def note_opened(db: Database, delivery_id: int, *, actor: str, at: datetime | None = None) -> bool:
    """Record that the addressed office opened its copy (``Delivery.opened_at``, event "delivery.opened"):
    the first opening only, once, however many open it at the same moment (the conditional update lets
    one through). True when this call recorded it."""
    at = at_or_now(at)
    with db.transaction() as s:
        done = s.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.opened_at.is_(None))
                         .values(opened_at=at))
        if done.rowcount != 1:
            return False
        unit_id, letter_id = s.execute(select(Delivery.unit_id, Delivery.letter_id)
                                       .where(Delivery.id == delivery_id)).one()
        record_event(s, "delivery.opened", actor=actor, at=at, unit_id=unit_id, office_id=unit_id,
                     letter_id=letter_id, delivery_id=delivery_id, after={"opened_at": at.isoformat()})
    return True
