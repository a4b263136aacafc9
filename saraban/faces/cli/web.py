"""`saraban web`: serve the web face (FastAPI on uvicorn). The core is imported inside (see common.py)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from saraban.faces.cli.common import fail


def demo_environment() -> None:
    """Point this process at the demo's own data folder and database (``saraban demo`` makes them)."""
    from saraban.kernel.settings import load_settings

    home = load_settings().data_dir / "demo"
    if not (home / "demo.db").exists():
        fail(f"ยังไม่มีข้อมูลตัวอย่าง เรียก make demo (หรือ saraban demo) ก่อน / no demo data in {home}: run make demo "
             "(or saraban demo) first")
    os.environ["SARABAN_DATA_DIR"] = str(home)
    os.environ["SARABAN_DATABASE_URL"] = f"sqlite:///{home / 'demo.db'}"


def web_command(
    host: Annotated[str, typer.Option("--host", help="ที่อยู่ที่รับ / Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="พอร์ต / Port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="จำนวน process / Worker processes.", min=1)] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="ใช้ข้อมูลของ make demo / Serve the demo's data (make demo "
                                                      "first).")] = False,
) -> None:
    """เปิดหน้าเว็บสารบรรณ / Serve the web face.

    เปิดหน้าเว็บให้เจ้าหน้าที่สารบรรณ (ลงรับ ส่งต่อ ออกหนังสือ ติดตาม ทะเบียน) / Serve the clerks' web pages with
    uvicorn. QR codes on the letters point at SARABAN_BASE_URL."""
    import uvicorn

    from saraban.kernel.settings import load_settings

    if demo:
        demo_environment()
    from saraban.directory.skeleton import ensure_directory
    from saraban.records.db import open_database

    settings = load_settings()
    db = open_database(settings)  # migrated, and the directory loaded, once: before the workers start
    ensure_directory(db)
    db.engine.dispose()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"เปิดเบราว์เซอร์ที่ / Open http://{shown}:{port}/   (QR codes point at {settings.base_url}; "
               f"data: {settings.data_dir}; Ctrl+C to stop)")
    if settings.base_url.rstrip("/") != f"http://{shown}:{port}":
        typer.echo(f"หมายเหตุ: QR บนหนังสือชี้ไปที่ {settings.base_url} ตั้ง SARABAN_BASE_URL ให้ตรง / note: the QR "
                   "codes point elsewhere; set SARABAN_BASE_URL to this server's address", err=True)
    uvicorn.run("saraban.faces.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")
