"""`saraban flows deploy` and `saraban flows run cascade`: the flows on the office's Prefect server, run by
the workers of a work pool (workflows/deployments.py). Prefect is imported inside each command (see common.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.faces.cli.common import UNIT_HELP, fail, open_data, unit_key

app = typer.Typer(help="งานบน Prefect server ของสำนักงาน (หลายเครื่อง) / The flows on the office's Prefect server, "
                       "run by workers on several machines.", no_args_is_help=True, rich_markup_mode=None)
run_app = typer.Typer(help="สั่งงานให้ worker ทำ / Start a flow run on the pool's workers.", no_args_is_help=True,
                      rich_markup_mode=None)
app.add_typer(run_app, name="run")

Pool = Annotated[str, typer.Option("--pool", help="ชื่อ work pool / The work pool's name.")]


def _server(action):
    """Run ``action``; no server, or nothing deployed → its message, exit code 2."""
    from workflows.deployments import ServerError

    try:
        return action()
    except ServerError as e:
        fail(str(e))


@app.command("deploy")
def deploy_command(pool: Pool = "saraban") -> None:
    """ลงทะเบียนงานบน Prefect server / Deploy the flows to a work pool.

    สร้าง work pool (ถ้ายังไม่มี) และลงทะเบียนงานส่งหนังสือเวียนตามสายงานและงานทำหนังสือบน Prefect server ที่
    PREFECT_API_URL ชี้ไป ทำซ้ำได้ / Create the work pool (type process) if missing and register the cascade
    and letters flows on the Prefect server at PREFECT_API_URL; safe to repeat. Each worker machine then runs:
    prefect worker start --pool <pool>."""
    from workflows.deployments import deploy

    names = _server(lambda: deploy(pool))
    for name in names:
        typer.echo(f"ลงทะเบียนแล้ว / deployed: {name}  (pool {pool})")
    typer.echo(f"เครื่องที่ทำงาน สั่ง / on each worker machine run:  prefect worker start --pool {pool}")


@run_app.command("cascade")
def run_cascade_command(
    spec: Annotated[Path, typer.Argument(help="spec ของหนังสือเวียน (.yaml) ไม่ต้องมี 'ref' ในโฟลเดอร์ที่ทุก worker "
                                              "อ่านได้ / The circular's spec, without 'ref', in a folder every "
                                              "worker can read.")],
    sender: Annotated[str, typer.Option("--from", help=f"หน่วยงานที่ออกหนังสือ / The issuing unit: {UNIT_HELP}.")],
    to: Annotated[str, typer.Option("--to", help="ผู้รับชั้นแรก / The first-level recipients, e.g. "
                                                 "'all:province_office' (ทุกจังหวัด).")],
    branch: Annotated[list[str] | None, typer.Option("--branch", help="ส่งต่อลงเฉพาะสาขานี้ (ซ้ำได้) / Carry it "
                                                     "down only this first-level recipient's branch (repeatable), "
                                                     "e.g. prov.81.", show_default=False, metavar="<key>")] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="ทำ PDF ทุกฉบับด้วย / Also make every PDF.")] = False,
    wait_for_receipts: Annotated[bool, typer.Option(
        "--wait-for-receipts", help="ส่งต่อเฉพาะหน่วยงานที่ลงรับแล้ว / Only units whose clerks have received it "
                                    "pass it on.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="รอจนเสร็จ / Wait until the flow run ends.")] = True,
    timeout: Annotated[float | None, typer.Option("--timeout", help="รอนานสุดกี่วินาที / Wait at most this many "
                                                  "seconds (default: until it ends).", show_default=False,
                                                  min=0)] = None,
) -> None:
    """ส่งหนังสือเวียนลงตามสายงานด้วย worker / Run the cascade on the workers.

    ออกเลขหนังสือเวียนและส่งต่อลงตามสายงาน โดย worker ของ work pool (saraban flows deploy ก่อน) / Issue a
    circular and carry it down the chain on the work pool's workers (run `saraban flows deploy` first).
    exit code: 0 เสร็จ / completed; 1 งานล้มเหลว สั่งซ้ำได้ / the flow run failed (run it again: nothing is
    done twice); 2 ข้อมูลผิด / bad input."""
    from saraban.letters.spec import SpecError, load_spec
    from workflows.deployments import run_cascade

    _, db = open_data()
    key = unit_key(db, sender)
    try:
        load_spec(spec)  # a wrong spec is refused here, before a worker numbers anything
    except SpecError as e:
        fail("\n".join(["spec มีข้อผิดพลาด ไม่มีการออกเลข / the spec has problems — nothing was issued:",
                        *[f"  - {p}" for p in e.problems]]))
    run = _server(lambda: run_cascade(str(spec.resolve()), key, to, branches=branch or None, pdf=pdf,
                                      wait_for_receipts=wait_for_receipts, timeout=timeout if wait else 0))
    state = run.state
    typer.echo(f"flow run {run.name} ({run.id}): {state.name if state else 'Scheduled'}")
    if not wait or (state is not None and state.is_completed()):
        return
    if state is None or not state.is_final():
        typer.secho(f"ยังไม่เสร็จภายใน {timeout or 0:g} วินาที งานยังทำต่อ / not finished within {timeout or 0:g} s: the flow "
                    "run goes on (see it on the Prefect server)", err=True, fg=typer.colors.YELLOW)
    else:
        typer.secho(f"งานไม่สำเร็จ สั่งซ้ำได้ ไม่มีการออกเลขซ้ำ / the flow run did not complete: {state.message} — run "
                    "it again (nothing is numbered twice)", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)
