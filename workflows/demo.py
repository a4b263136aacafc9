"""The demo: the seed chain of field-examples §1, end to end, on the embedded default.

The example letters are rendered; the department's registry receives the project's letter (§1.1-1.2);
the department issues its circular to every provincial office (§1.3); Krabi's office receives it and
forwards it to its districts, its PAO and the town municipality (§1.4); the district of Mueang Krabi
forwards it to the local administrations of its area (§1.5; synthetic ones, one per subdistrict).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task

from saraban.circulars import receive_incoming
from saraban.config import load_settings
from saraban.db import open_database
from saraban.directory import add_synthetic_local_layer, ensure_directory
from saraban.letter_spec import load_spec
from saraban.reports import write_status_report
from saraban.status import as_text, letter_status
from workflows.cascade import cascade_flow
from workflows.letters import render_letters_flow

DEMO_DISTRICT = "amphoe.8101"  # อำเภอเมืองกระบี่


@task(name="prepare-directory")
def prepare_directory() -> int:
    db = open_database(load_settings())
    added = ensure_directory(db)
    with db.transaction() as s:
        return added + add_synthetic_local_layer(s, district=DEMO_DISTRICT)


@task(name="receive-project-letter")
def receive_project_letter(spec_file: str) -> int:
    """§1.2: the letter from outside saraban, entered in the department registry's receive register."""
    spec = load_spec(Path(spec_file))
    receipt = receive_incoming(open_database(load_settings()), "dla.registry", ref=spec.ref.format("arabic"),
                               letter_date=spec.date, sender=spec.sender.name, subject=spec.subject)
    return receipt.number


@task(name="status-report")
def status_report(letter_id: int, out_dir: str) -> dict[str, str | list[str]]:
    settings = load_settings()
    status = letter_status(open_database(settings), letter_id)
    paths = write_status_report(status, Path(out_dir), settings)
    return {"text": as_text(status, max_children=12), "reports": [str(p) for p in paths]}


@flow(name="seed-chain-demo")
def seed_chain_flow(examples_dir: str, out_dir: str) -> dict:
    examples = Path(examples_dir)
    letters = render_letters_flow([str(p) for p in sorted(examples.glob("*.yaml"))], out_dir, pdf=True)
    prepare_directory()
    receipt = receive_project_letter(str(examples / "01-project-letter.yaml"))
    chain = cascade_flow(str(examples / "03-department-circular.yaml"), "dla.env.2", "all:province_office",
                         pdf=True, branches=["prov.81"], dated=date.today())
    report = status_report(chain["letter"], out_dir)
    return {"letters": letters, "project_receipt": receipt, "chain": chain, **report}
