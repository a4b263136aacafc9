"""The cascade flow: a circular from the department down to the local administrations.

Issue at the top, receive at the first level, then one task per first-level recipient (per province)
that carries the letter down its part of the chain. Every step in saraban/ is idempotent, so a flow
that died halfway can simply be run again: nothing is numbered twice, no recipient gets two copies.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task

from saraban.chain.circulars import carry_down, issue_circular, make_files, receive_many, recipients_of
from saraban.chain.emailing import check_emailing, email_copies
from saraban.kernel.settings import load_settings
from saraban.letters.spec import load_spec
from saraban.records.db import open_database
from workflows.data_folder import guard_data_folder


@task(name="issue-circular", retries=2, retry_delay_seconds=1)
def issue(spec_file: str, sender_key: str, to: str, dated: date | None = None) -> int:
    """``dated``: issue an example under today's date and a new number instead of the printed ones."""
    settings = load_settings()
    spec = load_spec(Path(spec_file))
    if dated is not None:
        spec = spec.model_copy(update={"ref": None, "date": dated})
    return issue_circular(open_database(settings), settings, spec, sender_key=sender_key, to=to).letter_id


@task(name="receive-at-recipients", retries=2, retry_delay_seconds=1)
def receive_all(letter_id: int) -> int:
    settings = load_settings()
    return len(receive_many(open_database(settings), settings, letter_id))


@task(name="carry-down-one-branch", retries=2, retry_delay_seconds=1)
def carry_branch(letter_id: int, unit_key: str, auto_receive: bool) -> list[int]:
    """One province (or other first-level recipient) and everything below it."""
    settings = load_settings()
    return carry_down(open_database(settings), settings, letter_id, unit_key, auto_receive=auto_receive)


@task(name="make-pdfs", retries=1)
def make_pdfs(letter_ids: list[int]) -> int:
    settings = load_settings()
    make_files(open_database(settings), settings, letter_ids, pdf=True)
    return len(letter_ids)


@task(name="email-copies", retries=1, retry_delay_seconds=5)
def email_batch(letter_ids: list[int]) -> dict[str, int]:
    """E-mail the copies of a batch of letters still to send (safe to repeat: a copy sent is never sent again)."""
    settings = load_settings()
    return email_copies(open_database(settings), settings, letter_ids, actor="flow").counts


@flow(name="circular-cascade")
def cascade_flow(spec_file: str, sender_key: str, to: str, *, wait_for_receipts: bool = False,
                 pdf: bool = False, branches: list[str] | None = None,
                 dated: date | None = None, email: bool = False) -> dict[str, int | list[int]]:
    """Issue ``spec_file`` from ``sender_key`` to ``to`` and carry it down the chain.

    With ``wait_for_receipts`` nobody receives automatically: only units whose clerks have received
    (``saraban receive``) pass the letter on; run the flow again later to go further. ``branches`` limits
    the carrying down to some first-level recipients (e.g. ``["prov.81"]``). ``email``: every letter's copies
    are also e-mailed to their units (refused at the start when no mail server is configured).
    """
    log = get_run_logger()
    guard_data_folder()
    if email:
        settings = load_settings()
        check_emailing(open_database(settings), settings)
    letter_id = issue(spec_file, sender_key, to, dated)
    if not wait_for_receipts:
        receive_all(letter_id)
    letters = [letter_id]
    keys = recipients_of(open_database(load_settings()), letter_id)
    for i, key in enumerate(k for k in keys if branches is None or k in branches):
        letters += carry_branch(letter_id, key, not wait_for_receipts)
        if i % 10 == 9:
            log.info("carried down %d of %d branches", i + 1, len(branches or keys))
    if pdf or email:
        for start in range(0, len(letters), 200):
            make_pdfs(letters[start:start + 200])
    if email:
        for start in range(0, len(letters), 200):
            log.info("e-mailed: %s", email_batch(letters[start:start + 200]))
    return {"letter": letter_id, "letters": letters}
