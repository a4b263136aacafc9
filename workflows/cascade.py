"""The cascade flow: a circular from the department down to the local administrations.

Issue at the top, receive at the first level, then the letter is carried down the chain below the first-level
recipients (provinces), a group of provinces at a time: each group's hops are recorded here, in the flow's
process, one group after the other (numbered, received, forwarded: short transactions, and SQLite takes one
writer at a time), and each group's files (every letter's .docx and its copies': most of the work) are made by
a task submitted to the flow's task runner (threads by default; a Dask cluster: workflows.runners) while the
next group is recorded. The PDFs are made a generation at a time (the department's letter, then the
provinces', then the districts': a forwarding letter's PDF carries its unit's stamped copy of the letter
above), each generation in chunks run in parallel. Every step in saraban/ is idempotent, so a flow that died
halfway (or lost a worker) can simply be run again: nothing is numbered twice, no recipient gets two copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner

from saraban.chain.circulars import (
    carry_down,
    issue_circular,
    make_files,
    pdf_generations,
    receive_many,
    recipients_of,
)
from saraban.chain.emailing import check_emailing, email_copies
from saraban.chain.tracking import require_shared_secret
from saraban.directory.units import subtree_sizes
from saraban.kernel.settings import load_settings
from saraban.letters.spec import load_spec
from saraban.records.db import shared_database
from workflows.data_folder import guard_data_folder
from workflows.runners import chunk_size, in_process, parallelism, pipeline_groups, runner_from_environment

R = TypeVar("R")
GROUPS_PER_WORKER = 4  # a task on a Dask worker costs ~0.2 s of Prefect's own: a few large ones (_carry_all)


@task(name="issue-circular", retries=2, retry_delay_seconds=1)
def issue(spec_file: str, sender_key: str, to: str, dated: date | None = None) -> int:
    """``dated``: issue an example under today's date and a new number instead of the printed ones."""
    settings = load_settings()
    spec = load_spec(Path(spec_file))
    if dated is not None:
        spec = spec.model_copy(update={"ref": None, "date": dated})
    return issue_circular(shared_database(settings), settings, spec, sender_key=sender_key, to=to).letter_id


@task(name="receive-at-recipients", retries=2, retry_delay_seconds=1)
def receive_all(letter_id: int) -> int:
    settings = load_settings()
    return len(receive_many(shared_database(settings), settings, letter_id))


@task(name="carry-down-records", retries=2, retry_delay_seconds=1)
def carry_records(letter_id: int, unit_keys: list[str], auto_receive: bool) -> list[int]:
    """Some provinces (or other first-level recipients) and everything below each, one after the other: every
    hop numbered, received and forwarded, no file made (make_docx). One that fails does not stop the others;
    the first failure is raised at the end (a retry, or the flow run again, finds the others done)."""
    settings = load_settings()
    db = shared_database(settings)
    made: list[int] = []
    failure: Exception | None = None
    for key in unit_keys:
        try:
            made += carry_down(db, settings, letter_id, key, auto_receive=auto_receive, files=False)
        except Exception as e:  # noqa: BLE001 (raised below, after the other branches)
            failure = failure or e
    if failure is not None:
        raise failure
    return made


@task(name="make-docx", retries=1)
def make_docx(letter_ids: list[int]) -> int:
    """The .docx files of letters recorded (each letter's file copy and its recipients' copies) that are missing."""
    settings = load_settings()
    make_files(shared_database(settings), settings, letter_ids)
    return len(letter_ids)


@task(name="make-pdfs", retries=1)
def make_pdfs(letter_ids: list[int]) -> int:
    """The PDFs of letters whose received copies (if they forward one) have theirs already."""
    settings = load_settings()
    make_files(shared_database(settings), settings, letter_ids, pdf=True)
    return len(letter_ids)


@task(name="email-copies", retries=1, retry_delay_seconds=5)
def email_batch(letter_ids: list[int]) -> dict[str, int]:
    """E-mail the copies of a batch of letters still to send (safe to repeat: a copy sent is never sent again)."""
    settings = load_settings()
    return email_copies(shared_database(settings), settings, letter_ids, actor="flow").counts


def _task_runner() -> TaskRunner | None:
    context = FlowRunContext.get()
    return context.task_runner if context else None


def _refuse_without_shared_secret() -> None:
    """Tasks in other processes sign tracking links too: they must share SARABAN_SECRET (checked before the
    data folder, before anything is numbered)."""
    runner = _task_runner()
    if not in_process(runner):
        require_shared_secret(load_settings(), f"{type(runner).__name__}")
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None and context.flow_run.deployment_id is not None:
        # Run by a work pool's worker: a process of another machine, beside the web face that checks the links.
        require_shared_secret(load_settings(), "a work pool's worker")


def _results(futures: Sequence[PrefectFuture[R]], what: str) -> list[R]:
    """Every future's result in the order submitted, progress logged as they finish. A failure is raised once
    all have finished: what the others made is kept, and a run again does only the rest."""
    log = get_run_logger()
    step = max(1, len(futures) // 10)
    for done, _ in enumerate(as_completed(list(futures)), 1):
        if done % step == 0 or done == len(futures):
            log.info("%s: %d of %d done", what, done, len(futures))
    results: list[R] = []
    failure: BaseException | None = None
    for future in futures:
        try:
            results.append(future.result())
        except Exception as e:  # noqa: BLE001 (raised below, after the rest were collected)
            failure = failure or e
    if failure is not None:
        raise failure
    return results


def _carry_all(letter_id: int, keys: list[str], auto_receive: bool) -> list[int]:
    """The first-level recipients' branches in a few groups per worker (a task on a Dask worker costs ~0.2 s of
    Prefect's own: a new API client with its TLS context, its settings read again; 76 provinces one task each
    would lose seconds a worker), the first and the last ones smaller (runners.pipeline_groups): each group's
    hops recorded here, one group after the other, and its files made by a task submitted at once, beside the
    next groups' records. Returns the letters made. A group that fails does not stop the others; the first
    failure is raised once every file task submitted has finished (what they made is kept, and a run again
    does only the rest)."""
    log = get_run_logger()
    settings = load_settings()
    with shared_database(settings).reading() as s:
        sizes = subtree_sizes(s, keys)
    groups = pipeline_groups(sizes, GROUPS_PER_WORKER * parallelism(_task_runner()))
    made: list[int] = []
    files: list[PrefectFuture[int]] = []
    failure: Exception | None = None
    for done, group in enumerate(groups, 1):
        try:
            letters = carry_records(letter_id, group, auto_receive)
        except Exception as e:  # noqa: BLE001 (raised below, once the files submitted are made)
            failure = failure or e
            continue
        made += letters
        if letters:
            files.append(make_docx.submit(letters))
        log.info("recorded: %d of %d groups of branches, %d letters", done, len(groups), len(made))
    _results(files, "groups' files made")
    if failure is not None:
        raise failure
    return made


def _make_all_pdfs(letter_ids: list[int]) -> int:
    """Each generation's letters in chunks that keep every worker busy; a generation after the one above."""
    workers = parallelism(_task_runner())
    settings = load_settings()
    done = 0
    for generation in pdf_generations(shared_database(settings), letter_ids, settings):
        size = chunk_size(len(generation), workers)
        chunks = [generation[start:start + size] for start in range(0, len(generation), size)]
        done += sum(_results(make_pdfs.map(chunks), f"PDFs of {len(generation)} letters, {len(chunks)} chunks"))
    return done


@flow(name="circular-cascade", task_runner=runner_from_environment())
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
    _refuse_without_shared_secret()
    guard_data_folder()  # and the migrations, once: the tasks open the database without them
    settings = load_settings()
    db = shared_database(settings)
    if email:
        check_emailing(db, settings)
    letter_id = issue(spec_file, sender_key, to, dated)
    if not wait_for_receipts:
        receive_all(letter_id)
    keys = [k for k in recipients_of(db, letter_id) if branches is None or k in branches]
    letters = [letter_id, *_carry_all(letter_id, keys, not wait_for_receipts)]
    if pdf or email:
        _make_all_pdfs(letters)
    if email:
        for start in range(0, len(letters), 200):
            log.info("e-mailed: %s", email_batch(letters[start:start + 200]))
    return {"letter": letter_id, "letters": letters}


@flow(name="cascade-pdfs", task_runner=runner_from_environment())
def pdfs_flow(letter_ids: list[int]) -> int:
    """The PDFs of letters already made (e.g. a cascade's ``letters``): each file copy's, every recipient's copy,
    stamped where received, a generation at a time. Safe to repeat: what is made is not made again."""
    guard_data_folder()
    return _make_all_pdfs(list(letter_ids))
