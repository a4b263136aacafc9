"""The daily reminders flow: ทวงถาม letters and e-mails to units that are late (saraban/reminders.py).

One task makes every reminder due; it is safe to run again at any time (after a crash, twice a day, by
hand with ``saraban remind --now``): each reminder is made once per unit, kind and step. ``serve`` starts
the deployment that runs it every day at 08:00 Thai time (``saraban serve``).
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.schedules import Cron

from saraban.kernel.settings import load_settings
from saraban.programmes.reminders import make_reminders, policy_from_env, resend_acknowledgements
from saraban.records.db import open_database
from saraban.records.events import acting_via
from workflows.data_folder import guard_data_folder

DEPLOYMENT = "daily-reminders"
CRON = "0 8 * * *"
TIME_ZONE = "Asia/Bangkok"


@task(name="make-reminders", retries=1, retry_delay_seconds=5)
def make(at_iso: str | None, dry_run: bool, receipt_after_days: list[int] | None,
         deadline_before_days: list[int] | None, to_parent: bool | None, actor: str = "saraban") -> list[dict]:
    settings = load_settings()
    policy = policy_from_env(
        receipt_after_days=tuple(receipt_after_days) if receipt_after_days is not None else None,
        deadline_before_days=tuple(deadline_before_days) if deadline_before_days is not None else None,
        to_parent=to_parent)
    at = datetime.fromisoformat(at_iso) if at_iso else None
    with acting_via("flow"):
        results = make_reminders(open_database(settings), settings, at, policy, dry_run=dry_run, actor=actor)
    return [r.as_dict() for r in results]


@task(name="resend-acknowledgements")
def resend(at_iso: str | None, actor: str = "saraban") -> list[dict]:
    """Acknowledgement e-mails whose last send failed, sent once more (not retried within the run)."""
    settings = load_settings()
    at = datetime.fromisoformat(at_iso) if at_iso else None
    with acting_via("flow"):
        return [r.as_dict() for r in resend_acknowledgements(open_database(settings), settings, at, actor=actor)]


@flow(name="daily-reminders")
def reminders_flow(at_iso: str | None = None, dry_run: bool = False, receipt_after_days: list[int] | None = None,
                   deadline_before_days: list[int] | None = None, to_parent: bool | None = None,
                   actor: str = "saraban") -> list[dict]:
    """Make the reminders due ``at_iso`` (default: now; naive means Thai time), then send again the
    acknowledgement e-mails whose last send failed (not in a dry run). The days default to
    ``SARABAN_REMIND_AFTER_DAYS`` / ``SARABAN_REMIND_BEFORE_DAYS`` (3,7 and 14,7,3,1). ``actor``: who runs
    it (the scheduled run: saraban; ``saraban remind --now``: the operating-system user)."""
    guard_data_folder()
    results = make(at_iso, dry_run, receipt_after_days, deadline_before_days, to_parent, actor)
    if not dry_run:
        results += resend(at_iso, actor)
    log = get_run_logger()
    made = [r for r in results if r["status"] in ("made", "completed")]
    errors = [r for r in results if r["status"] == "error"]
    failed = [r for r in results if r["mail_status"] in ("failed", "refused")]
    log.info("reminders: %d made or completed, %d errors, %d e-mails failed, %d listed", len(made), len(errors),
             len(failed), len(results))
    for r in errors:
        log.warning("reminder to %s (%s, %s) not made: %s", r["unit_key"], r["kind"], r["step"], r["error"])
    return results


def serve(cron: str = CRON) -> None:
    """Start the deployment (blocks): the flow runs on ``cron`` in Thai time, one run at a time."""
    reminders_flow.serve(name=DEPLOYMENT, schedule=Cron(cron, timezone=TIME_ZONE), limit=1,
                         description="ทวงถาม: reminders to units that have not received a letter or not applied")
