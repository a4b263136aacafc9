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
from pathlib import Path

from saraban.kernel.settings import Settings

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
