"""Deployments on a work pool: the cascade (and the letters flow) run by Prefect workers on any machine.

An office with several machines runs one Prefect server (``prefect server start``); each machine that does
the work installs saraban and runs ``prefect worker start --pool saraban``. ``deploy`` creates the pool
(type ``process``: each flow run is a process on the worker's machine) and registers the flows by their
module path (``workflows.cascade.cascade_flow``): a worker imports them from its own installed saraban, so
nothing is pulled, built or copied. The worker's environment (``SARABAN_DATABASE_URL``, ``SARABAN_SECRET``
...) is the flow run's: settings live on each machine, not in the deployment.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment
from prefect.deployments.runner import EntrypointType
from prefect.deployments.runner import deploy as deploy_all
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.workers.process import ProcessWorker

from workflows.cascade import cascade_flow
from workflows.letters import render_letters_flow

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

POOL = "saraban"
CASCADE = "cascade"
LETTERS = "letters"
# What run_deployment names: "<flow name>/<deployment name>".
CASCADE_DEPLOYMENT = f"{cascade_flow.name}/{CASCADE}"
LETTERS_DEPLOYMENT = f"{render_letters_flow.name}/{LETTERS}"


class ServerError(RuntimeError):
    """No Prefect server to deploy to or run on (not set, not answering, nothing deployed yet)."""


def server_url() -> str:
    """The office's Prefect server (``PREFECT_API_URL``); refused when not set: a deployment on the local
    ephemeral server would vanish with this process, and no worker could reach it."""
    url = PREFECT_API_URL.value()
    if not url:
        raise ServerError("ยังไม่ได้ตั้ง PREFECT_API_URL ให้ชี้ไปที่ Prefect server ของสำนักงาน / PREFECT_API_URL is not "
                          "set: point it at the office's Prefect server, e.g. http://10.0.0.5:4200/api "
                          "(started there with: prefect server start --host 0.0.0.0)")
    return url


def check_server() -> None:
    """Refuse (:class:`ServerError`) when the office's server is not set or does not answer."""
    url = server_url()
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise ServerError(f"ติดต่อ Prefect server ที่ {url} ไม่ได้ / cannot reach the Prefect server at {url}: "
                          f"{problem}")


def ensure_pool(pool: str = POOL) -> bool:
    """Create the work pool (type ``process``) unless it exists; True when it was created."""
    check_server()
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type=ProcessWorker.type,
                base_job_template=ProcessWorker.get_default_base_job_template(),
                description="saraban: หนังสือเวียนตามสายงาน / circulars down the chain"))
            return True


def deploy(pool: str = POOL) -> list[str]:
    """Create the pool if missing and (re)register the cascade and letters deployments on it; their names.
    Safe to repeat: a deployment of the same name is updated."""
    ensure_pool(pool)
    deployments = [
        cascade_flow.to_deployment(CASCADE, entrypoint_type=EntrypointType.MODULE_PATH,
                                   description="หนังสือเวียนลงตามสายงาน / a circular down the chain"),
        render_letters_flow.to_deployment(LETTERS, entrypoint_type=EntrypointType.MODULE_PATH,
                                          description="ทำหนังสือจาก spec / render letter specs"),
    ]
    deploy_all(*deployments, work_pool_name=pool, build=False, push=False, print_next_steps_message=False,
               ignore_warnings=True)
    return [CASCADE_DEPLOYMENT, LETTERS_DEPLOYMENT]


def run_cascade(spec_file: str, sender_key: str, to: str, *, branches: list[str] | None = None,
                dated: date | None = None, pdf: bool = False, wait_for_receipts: bool = False,
                timeout: float | None = None) -> FlowRun:
    """Start the cascade on the pool's workers; wait ``timeout`` seconds for it (None: until it ends, 0: not
    at all) and return the flow run as it then is. ``spec_file`` is read by the worker: give a path every
    worker machine can read (the shared folder)."""
    parameters: dict[str, object] = {"spec_file": spec_file, "sender_key": sender_key, "to": to, "pdf": pdf,
                                     "wait_for_receipts": wait_for_receipts}
    if branches is not None:
        parameters["branches"] = branches
    if dated is not None:
        parameters["dated"] = dated
    check_server()
    try:
        return run_deployment(CASCADE_DEPLOYMENT, parameters=parameters, timeout=timeout, poll_interval=2,
                              as_subflow=False)
    except ObjectNotFound:
        raise ServerError(f"ยังไม่มี {CASCADE_DEPLOYMENT} บน server: สั่ง saraban flows deploy ก่อน / "
                          f"{CASCADE_DEPLOYMENT} is not deployed on {server_url()}: run `saraban flows deploy` "
                          "first") from None
