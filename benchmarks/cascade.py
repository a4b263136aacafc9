"""The national cascade: one circular from the department to every provincial office, district office
and local administration, numbered, received and forwarded at every hop.

    .venv/bin/python benchmarks/cascade.py [--database URL] [--pdf-sample N] [--no-prefect]

The directory is the built-in skeleton (76 provincial offices, 878 district offices, 76 PAOs) plus a
SYNTHETIC layer of one local administration per subdistrict (7,256 outside Bangkok), on a fresh
database (SQLite in data/bench/cascade by default). The cascade runs through the Prefect flow (one task
per province) unless --no-prefect. PDF throughput is measured on a sample of the letters made.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SARABAN_DATA_DIR", str(ROOT / "data" / "bench" / "cascade"))
DATA = Path(os.environ["SARABAN_DATA_DIR"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file in the data folder); "
                                           "a PostgreSQL database is emptied first")
    parser.add_argument("--pdf-sample", type=int, default=40, help="letters whose PDFs (and copies) to time")
    parser.add_argument("--no-prefect", action="store_true", help="call saraban's core directly")
    args = parser.parse_args()

    from fresh_data import fresh_data  # benchmarks/, the script's own folder

    fresh_data(DATA, args.database, "cascade.db")

    from sqlalchemy import func, select

    from saraban.chain.circulars import make_files
    from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
    from saraban.kernel.settings import load_settings
    from saraban.records.db import open_database
    from saraban.records.models import Delivery, Letter, RegisterEntry

    settings = load_settings()
    db = open_database(settings)
    t = time.perf_counter()
    ensure_directory(db)
    with db.transaction() as s:
        synthetic = add_synthetic_local_layer(s)
    print(f"directory: skeleton + {synthetic} synthetic local administrations in {time.perf_counter() - t:.1f} s",
          file=sys.stderr)
    spec = str(ROOT / "examples" / "03-department-circular.yaml")

    if args.no_prefect:
        from saraban.chain.circulars import carry_down, issue_circular, receive_many, recipients_of
        from saraban.kernel.clock import today
        from saraban.letters.spec import load_spec

        start = time.perf_counter()
        issued = issue_circular(db, settings, load_spec(Path(spec)).model_copy(update={"ref": None, "date": today()}),
                                sender_key="dla.env.2", to="all:province_office")
        receive_many(db, settings, issued.letter_id)
        for i, key in enumerate(recipients_of(db, issued.letter_id), 1):
            carry_down(db, settings, issued.letter_id, key)
            if i % 10 == 0:
                print(f"  {i}/76 provinces, {time.perf_counter() - start:.1f} s", file=sys.stderr)
        elapsed = time.perf_counter() - start
    else:
        from saraban.kernel.clock import today
        from workflows.cascade import cascade_flow
        from workflows.letters import render_letters_flow

        render_letters_flow([], str(DATA / "warm"), pdf=False)  # start Prefect's server before timing
        start = time.perf_counter()
        cascade_flow(spec, "dla.env.2", "all:province_office", dated=today())
        elapsed = time.perf_counter() - start

    with db.transaction() as s:
        deliveries = s.scalar(select(func.count()).select_from(Delivery))
        received = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.received_at.is_not(None)))
        letters = s.scalar(select(func.count()).select_from(Letter))
        lines = s.scalar(select(func.count()).select_from(RegisterEntry))
        sample = list(s.scalars(select(Letter.id).order_by(Letter.id.desc()).limit(args.pdf_sample)))
        sample_copies = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.letter_id.in_(sample)))
    print(f"letters {letters}, deliveries {deliveries} (received {received}), register lines {lines}, "
          f"docx files {letters + deliveries}")

    t = time.perf_counter()
    make_files(db, settings, sample, pdf=True)
    pdf_time = time.perf_counter() - t
    print(f"pdf: {len(sample)} letters and their {sample_copies} copies (stamped where received) in {pdf_time:.1f} s, "
          f"{(len(sample) + sample_copies) / pdf_time:.1f} files/s; at that rate the whole cascade's PDFs would "
          f"take {(letters + deliveries) / ((len(sample) + sample_copies) / pdf_time):.0f} s")
    print(f"cascade: {deliveries} deliveries in {elapsed:.1f} s, {letters / elapsed:.1f} letters/s (docx)")


if __name__ == "__main__":
    main()
