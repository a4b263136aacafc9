"""The cascade through a work pool, as an office with several machines runs it: a Prefect server and a
process worker that the test starts on loopback (`prefect server start`, `prefect worker start`), PostgreSQL
as the database, the clerk's `saraban flows deploy` and `saraban flows run cascade`.

Independent of the session's Prefect test server: the client talks to its own server (temporary_settings).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.directory.skeleton import ensure_directory
from saraban.kernel.clock import today
from saraban.records.db import open_database
from saraban.records.models import Delivery, Letter, RegisterEntry
from tests.conftest import EXAMPLES, ROOT
from tests.dbs import POSTGRES_ENV, fresh_database, postgres_url

pytestmark = pytest.mark.prefect
POOL = "saraban-test"
SECRET = "0123456789abcdef" * 4  # shared by every process that signs links


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without Prefect's or saraban's settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SARABAN_"))}
    return env | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"} | extra


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A Prefect command in a process group of its own (so that teardown ends its children too)."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "prefect", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)


def stop(process: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGKILL, 10)):  # Ctrl-C, as at a terminal; then for sure
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on a free loopback port with its own home; its API URL."""
    if not postgres_url():
        pytest.skip(f"{POSTGRES_ENV} is not set: the work pool runs on PostgreSQL (sh scripts/test-postgres.sh)")
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    log = home / "server.log"
    process = start(["server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    clean_environment(PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false"), log)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"the Prefect server stopped:\n{tail(log)}"
            assert time.monotonic() < deadline, f"the Prefect server did not answer in 180 s:\n{tail(log)}"
            time.sleep(0.5)
        yield url
    finally:
        stop(process)


@pytest.fixture
def worker(server: str, tmp_path: Path) -> Iterator[Path]:
    """A fresh PostgreSQL database with the directory, and `prefect worker start` on the pool with saraban's
    settings in its environment (as on a worker machine: its own data folder, the shared file store); the
    file store."""
    db = fresh_database("postgresql", tmp_path)
    ensure_directory(db)
    db.engine.dispose()
    files = tmp_path / "shared-files"
    log = tmp_path / "worker.log"
    env = clean_environment(
        PREFECT_API_URL=server, PREFECT_HOME=str(tmp_path / "worker-home"), PREFECT_WORKER_QUERY_SECONDS="1",
        SARABAN_DATABASE_URL=postgres_url(), SARABAN_DATA_DIR=str(tmp_path / "worker-data"),
        SARABAN_FILES=str(files), SARABAN_SECRET=SECRET,
        PYTHONPATH=str(ROOT))  # the checkout's saraban and workflows, as an installed saraban would give
    process = start(["worker", "start", "--pool", POOL, "--type", "process"], env, log)
    try:
        yield files
    finally:
        stop(process)
        if log.exists():
            print(tail(log))  # shown by pytest when the test failed


def assert_registers_gapless(db) -> None:
    """Every register (unit, year, series) numbered 1, 2, 3 ... with no gap and no number twice."""
    with db.transaction() as s:
        lines = s.execute(select(RegisterEntry.unit_id, RegisterEntry.year, RegisterEntry.series,
                                 RegisterEntry.number)).all()
    numbers: dict[tuple, list[int]] = {}
    for unit, year, series, number in lines:
        numbers.setdefault((unit, year, series), []).append(number)
    for key, taken in numbers.items():
        assert sorted(taken) == list(range(1, len(taken) + 1)), (key, taken)


def test_the_cascade_runs_on_a_work_pool_of_a_prefect_server(server, worker, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from saraban.faces.cli.app import app

    spec = yaml.safe_load((EXAMPLES / "03-department-circular.yaml").read_text(encoding="utf-8"))
    spec.pop("ref")  # the department's send register numbers it
    spec["date"] = today().isoformat()
    spec_file = tmp_path / "circular.yaml"  # on a shared folder in an office: every worker reads it
    spec_file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    # The clerk's machine: the same database and file store, a data folder of its own.
    monkeypatch.setenv("SARABAN_DATABASE_URL", postgres_url())
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "clerk"))
    monkeypatch.setenv("SARABAN_FILES", str(worker))
    monkeypatch.setenv("SARABAN_SECRET", SECRET)
    runner = CliRunner()
    with temporary_settings(updates={PREFECT_API_URL: server}):
        deployed = runner.invoke(app, ["flows", "deploy", "--pool", POOL])
        assert deployed.exit_code == 0, deployed.output
        assert "circular-cascade/cascade" in deployed.output
        ran = runner.invoke(app, ["flows", "run", "cascade", str(spec_file), "--from", "dla.env.2",
                                  "--to", "all:province_office", "--branch", "prov.70", "--timeout", "300"])
    assert ran.exit_code == 0, ran.output
    assert "Completed" in ran.output

    db = open_database(url=postgres_url())  # the same database, not emptied
    try:
        with db.transaction() as s:
            letters = s.scalar(select(func.count()).select_from(Letter))
            deliveries = s.scalar(select(func.count()).select_from(Delivery))
            unreceived = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.received_at.is_(None)))
            per_unit = Counter(s.scalars(select(Letter.unit_id)))
        # the department's circular to the 76 provinces; Ratchaburi's to its 10 districts, its PAO and its
        # town; Ban Pong district's to its 2 local administrations
        assert (letters, deliveries, unreceived) == (3, 76 + 12 + 2, 0)
        assert max(per_unit.values()) == 1  # no office issued or forwarded it twice
        assert_registers_gapless(db)
    finally:
        db.engine.dispose()
    # the worker made the files in the shared store: each letter and every recipient's copy
    made = [p for p in worker.rglob("*.docx") if p.is_file()]
    assert sum(p.name == "letter.docx" for p in made) == 3
    assert len([p for p in made if p.parent.name == "copies"]) == 76 + 12 + 2


def test_the_flows_commands_refuse_without_a_server(tmp_path, monkeypatch):
    """No PREFECT_API_URL (a deployment on a throwaway local server would reach no worker), or a server that
    does not answer: one line each, exit code 2, nothing numbered."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from saraban.faces.cli.app import app

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        unset = runner.invoke(app, ["flows", "deploy"])
    assert unset.exit_code == 2
    assert "PREFECT_API_URL is not set" in unset.output
    nobody = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: nobody}):
        refused = runner.invoke(app, ["flows", "run", "cascade", str(EXAMPLES / "03-department-circular.yaml"),
                                      "--from", "dla.env.2", "--to", "all:province_office"])
    assert refused.exit_code == 2
    assert f"cannot reach the Prefect server at {nobody}" in refused.output
    db = open_database(url=f"sqlite:///{tmp_path}/data/saraban.db")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Letter)) == 0
    db.engine.dispose()
