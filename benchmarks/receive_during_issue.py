"""A clerk's ลงรับ while a national circular is being issued: does it wait for the issue?

    .venv/bin/python benchmarks/receive_during_issue.py [--database URL] [--receipts N] [--every SECONDS]

On a fresh database (SQLite in data/bench/receive-during-issue by default; a PostgreSQL database given by
URL is emptied first) with the built-in directory and the SYNTHETIC layer of local administrations (as
benchmarks/cascade.py), the department first issues a small circular to every provincial office. Then one
thread issues a national circular (every provincial office, district office and local administration: some
9,000 deliveries, numbered, recorded and rendered), and while it runs the main thread times N ลงรับ of the
small circular, each by another provincial office, one every ``--every`` seconds. Prints::

    receive-during-issue: <db> p50 <ms> ms, max <ms> ms over <n> receipts while issuing <N> deliveries
    (issue took <s> s)      [on one line]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SARABAN_DATA_DIR", str(ROOT / "data" / "bench" / "receive-during-issue"))
DATA = Path(os.environ["SARABAN_DATA_DIR"])
NATIONAL = ("all:province_office,all:district_office,all:pao,all:city_municipality,all:town_municipality,"
            "all:subdistrict_municipality,all:sao")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file in the data folder); "
                                           "a PostgreSQL database is emptied first")
    parser.add_argument("--receipts", type=int, default=60, help="ลงรับ to time (at most 76: one per province)")
    parser.add_argument("--every", type=float, default=0.1, help="seconds between two ลงรับ")
    args = parser.parse_args()

    from fresh_data import fresh_data  # benchmarks/, the script's own folder

    url = fresh_data(DATA, args.database, "bench.db")

    import yaml

    from saraban.chain.circulars import issue_circular, receive, recipients_of
    from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
    from saraban.kernel.clock import today
    from saraban.kernel.settings import load_settings
    from saraban.letters.spec import parse_spec
    from saraban.records.db import open_database

    settings = load_settings()
    db = open_database(settings)
    ensure_directory(db)
    with db.transaction() as s:
        add_synthetic_local_layer(s)
    data = yaml.safe_load((ROOT / "examples" / "03-department-circular.yaml").read_text(encoding="utf-8"))
    data.pop("ref")
    data["date"] = today().isoformat()

    def spec(subject: str):
        return parse_spec(data | {"subject": subject})

    small = issue_circular(db, settings, spec("ขอความร่วมมือตอบแบบสำรวจ"), sender_key="dla.env.2",
                           to="all:province_office")
    receivers = recipients_of(db, small.letter_id)[:args.receipts]

    issue_time: list[float] = []
    issued: list = []
    errors: list[BaseException] = []

    def national() -> None:
        start = time.perf_counter()
        try:
            issued.append(issue_circular(db, settings, spec(data["subject"]), sender_key="dla.env.2", to=NATIONAL))
        except BaseException as e:  # reported by the main thread
            errors.append(e)
        issue_time.append(time.perf_counter() - start)

    thread = threading.Thread(target=national)
    thread.start()
    times = []
    during = 0
    for key in receivers:
        time.sleep(args.every)
        running = thread.is_alive()
        start = time.perf_counter()
        receipt = receive(db, settings, small.letter_id, key)
        times.append(time.perf_counter() - start)
        during += running
        assert receipt.new, key
    thread.join()
    if errors:
        raise errors[0]
    ms = sorted(t * 1000 for t in times)
    print(f"  {during} of {len(ms)} receipts began while the issue was running; slowest five: "
          f"{', '.join(f'{t:.0f}' for t in ms[-5:])} ms", file=sys.stderr)
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"receive-during-issue: {kind} p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} "
          f"receipts while issuing {issued[0].recipients} deliveries (issue took {issue_time[0]:.1f} s)")


if __name__ == "__main__":
    main()
