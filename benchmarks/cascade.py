"""The national cascade: one circular from the department to every provincial office, district office
and local administration, numbered, received and forwarded at every hop; with --pdf, every PDF too.

    .venv/bin/python benchmarks/cascade.py [--pdf] [--runner threads|dask] [--workers N]
                                           [--database URL] [--provinces N] [--no-prefect]

The directory is the built-in skeleton (76 provincial offices, 878 district offices, 76 PAOs) plus a
SYNTHETIC layer of one local administration per subdistrict (7,256 outside Bangkok), on a fresh
database (SQLite in data/bench/cascade by default; a PostgreSQL database given by URL is emptied first).
The cascade runs through the Prefect flow on the task runner chosen (``threads``: Prefect's default, in
this process; ``dask``: a LocalCluster of --workers processes, started and its workers warmed before the timing
as a deployment's are before a circular is issued, or SARABAN_DASK_ADDRESS) unless
--no-prefect. Printed, each measured in this run:

    naive: <ms> ms per copy                       (plain docxtpl + a fresh qrcode per copy: benchmarks/naive.py;
                                                  median of 2 rounds just before the cascade and 2 just after)
    cascade: <N> deliveries in <S> s, <R> letters/s (docx)   (and its ratio to the naive way)
    lo-one: <ms> ms per document in one batched LibreOffice conversion of 40 of the cascade's letters
                                                  (each with its attached pages, as one document; median of
                                                  2 rounds just before the PDFs and 2 just after)
    cascade-pdf: <N> files in <S> s               (every letter's PDF, every copy's, every stamped copy)
    lo-bound: <S> s = <letters> letters x <ms> ms / <cores> cores; the PDFs took <x> times the bound

The bound's unit is a letter printed as a LibreOffice document of its own, as the issue defines it; the
cascade itself prints letters several to a document (saraban.letters.paper.bundle), about twice as fast.
On standard error beside them: how busy the cores were during the cascade (``cpu:``) and, with the cluster
started here, the cascade's time with the cluster's start and warm-up added (a run that starts its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SARABAN_DATA_DIR", str(ROOT / "data" / "bench" / "cascade"))
# More than one process signs tracking links on the Dask runner: they must share the key.
os.environ.setdefault("SARABAN_SECRET", "benchmark-cascade-" + "0" * 32)
DATA = Path(os.environ["SARABAN_DATA_DIR"])
SPEC = ROOT / "examples" / "03-department-circular.yaml"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bound_documents(db, settings, folder: Path, letters: int = 40) -> list[Path]:
    """``letters`` of the cascade's letters (taken evenly over all of them) as LibreOffice is given each when
    printed alone: the letter print-ready, its attached pages (recipients list) after it, one document."""
    from sqlalchemy import select

    from saraban.letters.paper.pdf import for_printing
    from saraban.letters.paper.typeset import print_ready
    from saraban.records.models import Letter

    with db.reading() as s:
        every = list(s.scalars(select(Letter.id).order_by(Letter.id)))
    letter_ids = every[::max(1, len(every) // letters)][:letters]  # spread over the cascade: its mix of letters
    docs = []
    for i, letter_id in enumerate(letter_ids):
        data, attached = letter_bytes(db, settings, letter_id)
        docs.append(folder / f"{i:03d}.docx")
        docs[-1].write_bytes(for_printing(data, None if attached is None else print_ready(attached)))
    return docs


def lo_rounds(docs: list[Path], folder: Path, settings, rounds: int) -> list[float]:
    """Seconds per document of one batched LibreOffice conversion of ``docs``, one document each, on one
    profile (the unit of the bound), ``rounds`` times."""
    from saraban.letters.paper.pdf import soffice_convert

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=folder) as out:
            soffice_convert(docs, Path(out), settings, workers=1, bundle=False)
        times.append((time.perf_counter() - start) / len(docs))
    return times


def letter_bytes(db, settings, letter_id: int) -> tuple[bytes, bytes | None]:
    """The .docx of a letter (as the file store holds it: paged) and of its attached pages (or None)."""
    from saraban.letters.attachments import attachment_path
    from saraban.records.file_store import file_store
    from saraban.records.models import Letter

    with db.reading() as s:
        key = s.get(Letter, letter_id).docx_key
    store = file_store(settings)
    extra = attachment_path(PurePosixPath(key)).as_posix()
    return store.read_bytes(key), store.read_bytes(extra) if store.exists(extra) else None


def count_pdfs(db, settings) -> int:
    """Every PDF the cascade issued: the letters', the copies', the stamped copies' (table issued_files)."""
    from sqlalchemy import func, select

    from saraban.records.models import IssuedFile

    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(IssuedFile))


def tree_cpu() -> float:
    """CPU seconds used so far by this process and every process under it (the Dask workers, Prefect's server,
    LibreOffice), as the kernel counts them (/proc): with the wall time, how busy the cores were."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry)] = int(fields[1])
            used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    ours, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        ours.add(pid)
        todo += [child for child, parent in parents.items() if parent == pid and child not in ours]
    return sum(used.get(pid, 0.0) for pid in ours)


def running_cluster(workers: int | None):  # noqa: ANN201 (distributed.LocalCluster)
    """A LocalCluster started and its workers warmed before the timing: a deployment's workers are running
    when a circular is issued (Prefect's server is started before the timing too). Its start is printed."""
    import importlib

    from distributed import Client

    from workflows.runners import local_cluster

    start = time.perf_counter()
    cluster = local_cluster(workers)
    started = time.perf_counter() - start
    with Client(cluster) as client:  # each worker imports what its first task would
        for module in ("workflows.cascade", "saraban.letters.paper.copies", "saraban.letters.render"):
            client.run(importlib.import_module, module)
    cluster.start_seconds = time.perf_counter() - start
    log(f"dask: a LocalCluster of {len(cluster.workers)} workers started in {started:.1f} s, its workers warmed "
        f"in {cluster.start_seconds - started:.1f} s (before the timing; the runs below use it)")
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file in the data folder); "
                                           "a PostgreSQL database is emptied first")
    parser.add_argument("--pdf", action="store_true", help="make and time every PDF of the cascade too")
    parser.add_argument("--runner", choices=["threads", "dask"], default="threads",
                        help="Prefect's task runner: threads in this process (default) or Dask")
    parser.add_argument("--workers", type=int, default=None, help="Dask workers (default: the cores)")
    parser.add_argument("--provinces", type=int, default=None, help="carry down only the first N provinces")
    parser.add_argument("--naive-copies", type=int, default=20, help="copies the naive way is timed on")
    parser.add_argument("--no-prefect", action="store_true", help="call saraban's core directly (docx only)")
    args = parser.parse_args()

    from fresh_data import fresh_data  # benchmarks/, the script's own folder
    from naive import naive_rounds

    url = fresh_data(DATA, args.database, "cascade.db")

    from sqlalchemy import func, select

    from saraban.chain.circulars import recipients_of
    from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
    from saraban.kernel.clock import today
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database
    from saraban.records.models import Delivery, Letter, RegisterEntry, Unit

    settings = load_settings()
    db = open_database(settings)
    t = time.perf_counter()
    ensure_directory(db)
    with db.transaction() as s:
        synthetic = add_synthetic_local_layer(s)
    log(f"directory: skeleton + {synthetic} synthetic local administrations in {time.perf_counter() - t:.1f} s")
    # The naive way measured just before the cascade and again just after (the machine's speed wanders).
    naive_before = naive_rounds(args.naive_copies, 2)

    cluster = None
    if args.no_prefect:
        from saraban.chain.circulars import carry_down, issue_circular, receive_many
        from saraban.letters.spec import load_spec

        start = time.perf_counter()
        issued = issue_circular(db, settings, load_spec(SPEC).model_copy(update={"ref": None, "date": today()}),
                                sender_key="dla.env.2", to="all:province_office")
        receive_many(db, settings, issued.letter_id)
        keys = recipients_of(db, issued.letter_id)[:args.provinces]
        for i, key in enumerate(keys, 1):
            carry_down(db, settings, issued.letter_id, key)
            if i % 10 == 0:
                log(f"  {i}/{len(keys)} provinces, {time.perf_counter() - start:.1f} s")
        elapsed = time.perf_counter() - start
        letter_ids: list[int] = []
        runner = "no prefect"
        cpu = None
    else:
        from workflows.cascade import cascade_flow, pdfs_flow
        from workflows.letters import render_letters_flow
        from workflows.runners import task_runner

        render_letters_flow([], str(DATA / "warm"), pdf=False)  # start Prefect's server before timing
        address = os.environ.get("SARABAN_DASK_ADDRESS")
        if args.runner == "dask" and not address:
            cluster = running_cluster(args.workers)
            address = cluster.scheduler_address
        branches = None
        if args.provinces is not None:
            with db.transaction() as s:
                branches = sorted(s.scalars(select(Unit.key).where(Unit.level == "province_office")))
            branches = branches[:args.provinces]
        runner = args.runner if args.runner == "threads" else f"dask, {args.workers or os.cpu_count()} workers"
        flow = cascade_flow.with_options(task_runner=task_runner(args.runner, args.workers, address))
        start, cpu = time.perf_counter(), tree_cpu()
        result = flow(str(SPEC), "dla.env.2", "all:province_office", dated=today(), branches=branches)
        elapsed, cpu = time.perf_counter() - start, tree_cpu() - cpu
        letter_ids = list(result["letters"])

    naive_after = naive_rounds(args.naive_copies, 2)
    naive = statistics.median(naive_before + naive_after)
    print(f"naive: {naive:.1f} ms per copy (rounds before the cascade {' '.join(f'{t:.0f}' for t in naive_before)}, "
          f"after {' '.join(f'{t:.0f}' for t in naive_after)} ms)", flush=True)
    with db.reading() as s:
        deliveries = s.scalar(select(func.count()).select_from(Delivery))
        received = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.received_at.is_not(None)))
        letters = s.scalar(select(func.count()).select_from(Letter))
        lines = s.scalar(select(func.count()).select_from(RegisterEntry))
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    log(f"letters {letters}, deliveries {deliveries} (received {received}), register lines {lines}, "
        f"docx files {letters + deliveries}; {kind}, {runner}")
    print(f"cascade: {deliveries} deliveries in {elapsed:.1f} s, {letters / elapsed:.1f} letters/s (docx); "
          f"{naive * deliveries / 1000 / elapsed:.1f}x the naive way ({naive * deliveries / 1000:.0f} s)", flush=True)
    if cpu is not None:
        log(f"cpu: {cpu:.1f} s used by the processes of the run in those {elapsed:.1f} s, "
            f"{cpu / elapsed / (os.cpu_count() or 1):.0%} of {os.cpu_count()} cores")
    if cluster is not None:  # what a run that starts its own cluster (--runner dask, no address) waits for
        cold = elapsed + cluster.start_seconds
        log(f"cascade with the cluster's start: {cold:.1f} s, {naive * deliveries / 1000 / cold:.1f}x the naive way")

    if args.pdf and letter_ids:
        # The bound's unit measured just before the PDFs and again just after (this machine's speed wanders
        # from one minute to the next): the median of the four rounds.
        with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
            docs = bound_documents(db, settings, Path(tmp))
            lo_rounds(docs[:1], Path(tmp), settings, 1)  # the first start is slow
            before = lo_rounds(docs, Path(tmp), settings, 2)
            flow = pdfs_flow.with_options(task_runner=task_runner(args.runner, args.workers, address))
            start = time.perf_counter()
            flow(letter_ids)
            pdf_time = time.perf_counter() - start
            after = lo_rounds(docs, Path(tmp), settings, 2)
        per_document = statistics.median(before + after)
        print(f"lo-one: {1000 * per_document:.0f} ms per document in one batched LibreOffice conversion of "
              f"{len(docs)} of the cascade's letters (each with its attached pages), one letter a document "
              f"(rounds before the PDFs {' '.join(f'{1000 * t:.0f}' for t in before)}, after "
              f"{' '.join(f'{1000 * t:.0f}' for t in after)} ms)", flush=True)
        files = count_pdfs(db, settings)
        cores = os.cpu_count() or 1
        bound = letters * per_document / cores
        print(f"cascade-pdf: {files} files in {pdf_time:.1f} s ({runner})")
        print(f"lo-bound: {bound:.1f} s = {letters} letters x {1000 * per_document:.0f} ms / {cores} cores; "
              f"the PDFs took {pdf_time / bound:.2f} times the bound")
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":
    main()
