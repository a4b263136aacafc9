"""A mail server on loopback for the demo: it keeps every message it receives, to show what was sent."""

from __future__ import annotations

import os
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackMailbox:
    """``with LoopbackMailbox() as box:`` points saraban's SMTP settings (environment) at a local server."""

    def __init__(self) -> None:
        self.handler = _Keep()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> LoopbackMailbox:
        self.controller.start()
        for key, value in {"SARABAN_SMTP_HOST": "127.0.0.1", "SARABAN_SMTP_PORT": str(self.port),
                           "SARABAN_SMTP_SECURITY": "none"}.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _, raw in self.handler.messages]

    def save(self, folder: Path) -> list[Path]:
        """Each message as an .eml file a mail program opens."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, (_, raw) in enumerate(self.handler.messages, 1):
            path = folder / f"{i:03d}.eml"
            path.write_bytes(raw)
            paths.append(path)
        return paths
