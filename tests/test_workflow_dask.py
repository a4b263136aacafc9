"""The cascade on a real Dask cluster (prefect-dask's DaskTaskRunner on a 2-worker LocalCluster): the same
registers and files as Prefect's default runner, a worker killed mid-cascade and the flow run again, and
no run without SARABAN_SECRET.

One LocalCluster for the module (it costs seconds to start). Its workers are processes started with this
process's environment, as in production: so the module fixes SARABAN_DATABASE_URL (PostgreSQL when
SARABAN_TEST_POSTGRES_URL is set, else a SQLite file), SARABAN_DATA_DIR and SARABAN_SECRET before starting
it, and each test empties that database and data folder rather than making new ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saraban.chain.expectations import expected_to_forward
from saraban.directory.skeleton import ensure_directory
from saraban.kernel.settings import SettingsError, load_settings
from saraban.records.db import Database, open_database
from saraban.records.models import Delivery, Letter, RegisterEntry, Unit
from tests.conftest import EXAMPLES
from tests.dbs import empty_postgres, postgres_url
from tests.test_workflow_cascade import assert_no_duplicates

pytestmark = pytest.mark.prefect
SPEC = str(EXAMPLES / "03-department-circular.yaml")
BRANCHES = ["prov.70", "prov.81"]
SECRET = "dask-test-" + "s" * 32
TOKEN = re.compile(r"/t/[A-Za-z0-9_-]{22}")  # a tracking link: each run draws its own tokens


class Place:
    """The database and data folder the cluster's workers were started with."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url, self.data_dir = url, data_dir

    def reset(self) -> Database:
        """An empty, migrated database with the built-in directory, and an empty data folder but for LibreOffice's
        profiles (made once: a first start costs seconds). Emptied in place: the workers keep their engine on
        this URL."""
        empty_postgres(self.url)  # drops every table: works on a SQLite file as well
        for entry in self.data_dir.glob("*"):
            if not entry.name.startswith("libreoffice"):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        db = open_database(url=self.url)
        ensure_directory(db)
        return db


@pytest.fixture(scope="module")
def place(tmp_path_factory, prefect_server) -> Iterator[Place]:
    folder = tmp_path_factory.mktemp("dask")
    url = postgres_url() or f"sqlite:///{folder}/dask.db"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SARABAN_DATABASE_URL", url)
        env.setenv("SARABAN_DATA_DIR", str(folder / "data"))
        env.setenv("SARABAN_SECRET", SECRET)
        yield Place(url, folder / "data")


@pytest.fixture(scope="module")
def cluster(place):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, \
            Client(local) as client:
        client.wait_for_workers(2)
        yield local, client


def run(task_runner=None, branches=BRANCHES, **kwargs):
    from saraban.kernel.clock import today
    from workflows.cascade import cascade_flow

    flow = cascade_flow.with_options(task_runner=task_runner) if task_runner is not None else cascade_flow
    return flow(SPEC, "dla.env.2", "all:province_office", dated=today(), branches=branches, return_state=True,
                **kwargs)


def dask_runner(cluster):
    from workflows.runners import task_runner

    return task_runner("dask", address=cluster[0].scheduler_address)


def registers(db: Database) -> list[tuple]:
    """Every register line as a clerk reads it (not when it was written)."""
    with db.reading() as s:
        return sorted(s.execute(select(Unit.key, RegisterEntry.year, RegisterEntry.series, RegisterEntry.number,
                                       RegisterEntry.ref_text, RegisterEntry.subject, RegisterEntry.from_text,
                                       RegisterEntry.to_text, RegisterEntry.action)
                                .join(Unit, Unit.id == RegisterEntry.unit_id)).all())


def files(data_dir: Path) -> dict[str, Path]:
    """The letters' and copies' files made, by their name under the data folder."""
    return {p.relative_to(data_dir).as_posix(): p for p in data_dir.rglob("*")
            if p.suffix in (".docx", ".pdf") and not p.name.startswith(".")
            and not set(p.relative_to(data_dir).parts) & {"prefect", "locks", "libreoffice-profile"}}


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    return TOKEN.sub("/t/<token>", "\n".join(p.text for p in document.paragraphs))


def missing_files(db: Database) -> list[str]:
    """The letters and copies whose .docx is not recorded, or recorded and not there."""
    settings = load_settings()
    with db.reading() as s:
        rows = [*s.scalars(select(Letter)), *s.scalars(select(Delivery))]
    try:
        from saraban.records.file_store import file_store

        store, column = file_store(settings), "docx_key"
        exists = store.exists
    except ImportError:  # files by path (before the file store)
        column = "docx_path"

        def exists(path: str) -> bool:
            return Path(path).exists()
    return [f"{type(r).__name__} {r.id}" for r in rows if not (getattr(r, column) and exists(getattr(r, column)))]


def test_the_cascade_on_dask_gives_the_registers_and_files_of_the_default_runner(place, cluster):
    """The same two provinces, with every PDF, once on Prefect's default runner (threads in this process) and
    once on the Dask workers, each into an emptied database and data folder. The tracking tokens differ
    (random per delivery) and so do the QR codes and the PDFs' bytes: compared are the register lines, the
    names of the files made, and the text of the letters and copies with each token masked."""
    runs = {}
    for name, runner in (("default", None), ("dask", dask_runner(cluster))):
        db = place.reset()
        state = run(runner, pdf=True)
        assert state.is_completed(), state.message
        made = files(place.data_dir)
        texts = {n: docx_text(p) for n, p in made.items() if p.suffix == ".docx"}
        runs[name] = registers(db), sorted(made), texts
        assert_no_duplicates(db)
        assert missing_files(db) == []
        db.engine.dispose()
    (lines, names, texts), (dask_lines, dask_names, dask_texts) = runs["default"], runs["dask"]
    assert len(lines) == 4 + 76 + 12 + 10 + 2  # four letters sent; every copy received
    assert dask_lines == lines
    assert dask_names == names
    assert sum(n.endswith(".pdf") for n in names) >= 4 + 100  # each letter's PDF, each copy's
    assert dask_texts == texts


def test_the_flow_refuses_to_start_on_dask_without_a_shared_secret(place, cluster, monkeypatch):
    db = place.reset()
    monkeypatch.delenv("SARABAN_SECRET")
    state = run(dask_runner(cluster))
    assert state.is_failed()
    assert "SARABAN_SECRET must be set when more than one process signs tracking links" in str(
        state.result(raise_on_failure=False))
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 0
        assert s.scalar(select(func.count()).select_from(RegisterEntry)) == 0
    db.engine.dispose()


@pytest.mark.skipif(not postgres_url(), reason="SARABAN_TEST_POSTGRES_URL is not set (sh scripts/test-postgres.sh)")
def test_a_worker_killed_mid_cascade_and_the_flow_run_again(place, cluster):
    """SIGKILL one Dask worker process while the provinces are being carried down (on PostgreSQL); whatever the
    first run's end, the flow run again leaves every register gapless, every delivery forwarded once, every
    expected forward made and every letter's and copy's file there."""
    db = place.reset()
    with db.reading() as s:
        branches = [*s.scalars(select(Unit.key).where(Unit.level == "province_office", Unit.key != "prov.70")
                               .order_by(Unit.key).limit(7)), "prov.70"]  # Ratchaburi: a district forwards too
    _, client = cluster
    pids = list(client.run(os.getpid).values())
    killed: dict[str, int] = {}

    def kill_when_carrying() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.reading() as s:
                letters = s.scalar(select(func.count()).select_from(Letter))
            if letters >= 2:  # a province has forwarded: branches are being carried down
                os.kill(pids[0], signal.SIGKILL)
                killed["letters"] = letters
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_carrying)
    killer.start()
    first = run(dask_runner(cluster), branches=branches)
    killer.join()
    assert killed, "no worker was killed"
    again = run(dask_runner(cluster), branches=branches)
    assert again.is_completed(), again.message
    assert_no_duplicates(db)
    with db.reading() as s:
        letters = s.scalar(select(func.count()).select_from(Letter))
        unreceived = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.received_at.is_(None)))
        department = s.scalar(select(Letter.id).order_by(Letter.id))
        # Every copy whose unit has someone below it was forwarded (the department's: in the branches chosen).
        not_forwarded = s.scalar(select(func.count()).select_from(Delivery).join(Unit, Unit.id == Delivery.unit_id)
                                 .where(Delivery.forwarded_letter_id.is_(None), expected_to_forward(Unit),
                                        (Delivery.letter_id != department) | Unit.key.in_(branches)))
    assert killed["letters"] < letters, "the worker was killed after the cascade"
    assert unreceived == 0
    assert not_forwarded == 0
    assert letters == 1 + len(branches) + 1  # the department's, the provinces', Ban Pong's
    assert missing_files(db) == []
    print(f"first run: {first.type.value}; letters at the kill: {killed['letters']}, in the end: {letters}")
    db.engine.dispose()


def test_the_task_runner_is_chosen_by_the_environment(monkeypatch):
    from workflows.runners import chunk_size, runner_from_environment

    monkeypatch.setenv("SARABAN_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    assert runner_from_environment().address == "tcp://10.0.0.5:8786"
    monkeypatch.delenv("SARABAN_DASK_ADDRESS")
    monkeypatch.setenv("SARABAN_TASK_WORKERS", "3")
    assert type(runner_from_environment()).__name__ == "ThreadPoolTaskRunner"
    monkeypatch.setenv("SARABAN_TASK_RUNNER", "dask")
    assert runner_from_environment().cluster_kwargs["n_workers"] == 3
    for name, value in (("SARABAN_TASK_RUNNER", "ray"), ("SARABAN_TASK_WORKERS", "0")):
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=f"{name} must be"):
            runner_from_environment()
        monkeypatch.setenv(name, {"SARABAN_TASK_RUNNER": "dask", "SARABAN_TASK_WORKERS": "3"}[name])
    assert [chunk_size(n, 2) for n in (1, 76, 878, 10_000)] == [1, 19, 147, 200]  # every worker gets work


def test_the_provinces_are_carried_in_a_few_groups_the_first_and_last_smaller(tmp_path):
    """A task on a Dask worker costs Prefect ~0.2 s of its own: the 77 first-level branches of a national
    circular go in a few groups per worker, cut in their order by the units below each: the first group small
    (the workers start on its files soon), the last two smaller (they finish together)."""
    from saraban.directory.units import subtree_sizes
    from workflows.runners import pipeline_groups

    db = open_database(url=f"sqlite:///{tmp_path / 'd.db'}")
    ensure_directory(db)
    with db.reading() as s:
        provinces = list(s.scalars(select(Unit.key).where(Unit.level == "province_office").order_by(Unit.key)))
        sizes = subtree_sizes(s, [*provinces, "no.such.unit"])
        districts = s.scalar(select(func.count()).select_from(Unit).where(Unit.level == "district_office"))
    assert sizes["no.such.unit"] == 1
    assert sum(sizes[p] for p in provinces) >= len(provinces) + districts  # each province and its districts
    groups = pipeline_groups({p: sizes[p] for p in provinces}, 8)
    assert len(groups) == 8
    assert [k for g in groups for k in g] == provinces  # every province once, in the order given
    totals = [sum(sizes[k] for k in g) for g in groups]
    middle = sum(totals[1:-2]) / 5
    biggest = max(sizes[p] for p in provinces)
    assert all(abs(t - middle) <= biggest for t in totals[1:-2])  # about equal
    assert totals[0] < middle / 2 + biggest and totals[-1] < middle / 2 + biggest and totals[-2] < middle
    assert pipeline_groups({"a": 5}, 3) == [["a"]] and pipeline_groups({}, 3) == []
    db.engine.dispose()
