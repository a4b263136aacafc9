"""Settings: where saraban keeps its data and which office look it uses.

Everything comes from environment variables (``SARABAN_*``) with defaults that work on a fresh
machine: data in ``./data`` next to where you run saraban, the templates shipped with the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# The folder that holds saraban/, templates/ and examples/: the checkout, or site-packages for a wheel.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = PACKAGE_ROOT / "templates"
EXAMPLES_DIR = PACKAGE_ROOT / "examples"  # the field examples the demo runs


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    templates_dir: Path = TEMPLATES_DIR
    # The font named in the .docx; the office's own Thai font (TH SarabunIT๙ by default).
    # PDF rendering substitutes Google's Sarabun (same design family, OFL) when it is not installed.
    font_name: str = "TH SarabunIT๙"
    # The emblem printed at the head of a letter (ตราครุฑ); a neutral placeholder ships with saraban.
    emblem: Path = TEMPLATES_DIR / "images" / "emblem-placeholder.png"
    soffice: str = "soffice"
    database_url: str | None = None  # None: SQLite in the data folder
    # Signs tracking links; set SARABAN_SECRET in production (the default is per data folder).
    secret: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    # Outgoing e-mail (SMTP). No host: e-mails are not sent, and the status says so.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_timeout: float = 10.0  # seconds for the connection and for each SMTP command
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "none"  # none | starttls | tls
    mail_from: str = "saraban@localhost"
    # The largest file a person may upload (evidence of an application), in bytes (SARABAN_UPLOAD_MAX_MB).
    upload_max_bytes: int = 10 * 1024 * 1024
    # LibreOffice instances converting at once on this machine, each with its own profile (SARABAN_PDF_WORKERS).
    pdf_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Where issued files are kept, by key (saraban.records.file_store): a local folder or an fsspec URL
    # (SARABAN_FILES); None: the output folder.
    files: str | None = None

    @property
    def output_dir(self) -> Path:
        return self.data_dir / "out"

    @property
    def files_url(self) -> str:
        return self.files or str(self.output_dir)

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"

    def libreoffice_profile(self, worker: int = 0) -> Path:
        """LibreOffice profile ``worker``: one per running instance (a machine has max(pdf_workers, cores) of
        them: saraban.letters.paper.pdf.free_profile)."""
        return self.data_dir / f"libreoffice-profile-{worker}"


def template_file(settings: Settings, relative: str) -> Path:
    """A template (e.g. ``reports/status.docx``): the office's own copy in its templates folder when it has
    one, else the one shipped with saraban."""
    own = settings.templates_dir / relative
    return own if own.exists() else TEMPLATES_DIR / relative


MIN_SECRET_BYTES = 32  # an HMAC key shorter than its hash (SHA-256) is weaker than the links it signs


class SettingsError(ValueError):
    """A setting that cannot work: the message names the variable and says how to fix it."""


def _secret(value: str | None) -> str | None:
    if value and len(value.encode("utf-8")) < MIN_SECRET_BYTES:
        raise SettingsError(f"SARABAN_SECRET สั้นเกินไป ต้องยาวอย่างน้อย {MIN_SECRET_BYTES} ไบต์ / SARABAN_SECRET is too "
                            f"short: it must be at least {MIN_SECRET_BYTES} bytes (make one with: "
                            "python3 -c 'import secrets; print(secrets.token_hex(32))')")
    return value or None


def _base_url(value: str) -> str:
    """The address tracking links and e-mails point at: an http(s) URL with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"SARABAN_BASE_URL ต้องเป็นที่อยู่เว็บ http:// หรือ https:// / SARABAN_BASE_URL must be an "
                            f"http(s) address such as https://saraban.example.go.th, not {value!r}")
    return value.strip().rstrip("/")


def _files(value: str | None) -> str | None:
    """SARABAN_FILES: a local folder (made absolute) or a URL of a file system fsspec knows and can load."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        return str(Path(value).expanduser().resolve())
    protocol = value.split("://", 1)[0].lower()
    if protocol == "file":
        return str(Path(value.split("://", 1)[1]).expanduser().resolve())
    import fsspec  # only when a URL is set: the commands that never touch files stay fast

    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise SettingsError(f"SARABAN_FILES: ไม่รู้จักที่เก็บไฟล์ชนิด '{protocol}://' / unknown file store protocol "
                            f"'{protocol}://' in {value!r}: give a local folder or an fsspec URL "
                            "(s3://, gs://, sftp://, memory:// ...)") from None
    except ImportError as e:
        raise SettingsError(f"SARABAN_FILES: ที่เก็บไฟล์ '{protocol}://' ต้องติดตั้งแพ็กเกจเพิ่ม / the file store "
                            f"'{protocol}://' needs a package that is not installed: {e}") from None
    return value


def _number(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise SettingsError(f"{name} ต้องเป็นตัวเลขระหว่าง {low:g} ถึง {high:g} / {name} must be a number from {low:g} "
                            f"to {high:g}, not {value!r}")
    return number


def _workers(value: str | None) -> int:
    """SARABAN_PDF_WORKERS: LibreOffice instances at once, a whole number from 1 to 64 (default: the cores)."""
    if value is None or not value.strip():
        return os.cpu_count() or 1
    number = _number("SARABAN_PDF_WORKERS", value, 1, 64)
    if number != int(number):
        raise SettingsError(f"SARABAN_PDF_WORKERS ต้องเป็นจำนวนเต็มตั้งแต่ 1 ถึง 64 / SARABAN_PDF_WORKERS must be a whole "
                            f"number from 1 to 64, not {value!r}")
    return int(number)


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The data folder when SARABAN_DATA_DIR is not set: one per user, wherever the command is run from
    (``$XDG_DATA_HOME/saraban``, else ``~/.local/share/saraban``) — a folder relative to the current one
    would give a second database, and the same numbers again, to a clerk who runs saraban from elsewhere."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "saraban"


def load_settings() -> Settings:
    """Read the settings from the environment (``SARABAN_DATA_DIR``, ``SARABAN_FONT`` ...); a setting that
    cannot work raises :class:`SettingsError`."""
    env = os.environ
    data_dir = Path(env.get("SARABAN_DATA_DIR") or default_data_dir(env)).expanduser().resolve()
    templates_dir = Path(env.get("SARABAN_TEMPLATES_DIR", str(TEMPLATES_DIR))).resolve()
    return Settings(
        data_dir=data_dir,
        templates_dir=templates_dir,
        font_name=env.get("SARABAN_FONT", "TH SarabunIT๙"),
        emblem=Path(env.get("SARABAN_EMBLEM", str(templates_dir / "images" / "emblem-placeholder.png"))),
        soffice=env.get("SARABAN_SOFFICE", "soffice"),
        database_url=env.get("SARABAN_DATABASE_URL") or None,
        secret=_secret(env.get("SARABAN_SECRET")),
        base_url=_base_url(env.get("SARABAN_BASE_URL", "http://127.0.0.1:8000")),
        smtp_host=env.get("SARABAN_SMTP_HOST") or None,
        smtp_port=int(_number("SARABAN_SMTP_PORT", env.get("SARABAN_SMTP_PORT", "25"), 1, 65535)),
        smtp_timeout=_number("SARABAN_SMTP_TIMEOUT", env.get("SARABAN_SMTP_TIMEOUT", "10"), 0.1, 600),
        smtp_user=env.get("SARABAN_SMTP_USER") or None,
        smtp_password=env.get("SARABAN_SMTP_PASSWORD") or None,
        smtp_security=env.get("SARABAN_SMTP_SECURITY", "none"),
        mail_from=env.get("SARABAN_MAIL_FROM", "saraban@localhost"),
        upload_max_bytes=int(_number("SARABAN_UPLOAD_MAX_MB", env.get("SARABAN_UPLOAD_MAX_MB", "10"), 0.01, 1024)
                             * 1024 * 1024),
        pdf_workers=_workers(env.get("SARABAN_PDF_WORKERS")),
        files=_files(env.get("SARABAN_FILES")),
    )


def prefect_environment(settings: Settings | None = None) -> dict[str, str]:
    """The Prefect settings saraban runs with: a local ephemeral server whose home is in the data
    folder, analytics off, and a startup timeout that a cold start on 2 cores fits in."""
    settings = settings or load_settings()
    return {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
