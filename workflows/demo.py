"""The demo: the seed chain of field-examples §1 and a programme year of §2, on the embedded default.

The example letters are rendered; the department's registry receives the project's letter (§1.1-1.2);
the department issues its circular to every provincial office (§1.3); Krabi's office receives it and
forwards it to its districts, its PAO and the town municipality (§1.4); the district of Mueang Krabi
forwards it to the local administrations of its area (§1.5; synthetic ones, one per subdistrict).

Then the programme year (§2), on the programme's own dates: DEQP opens โครงการเมืองน่าอยู่คู่อุตสาหกรรม
เชิงนิเวศ ประจำปี ๒๕๖๕ and invites local administrations; two apply in time, one applies late and one is
not eligible (both refused); three days before the deadline the reminder flow writes ทวงถาม letters
and e-mails them through a mail server on loopback that the demo runs itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, task

from saraban.chain.circulars import receive_incoming
from saraban.chain.status import as_text, letter_status
from saraban.directory.imports import import_units, update_unit
from saraban.directory.selectors import select_units
from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory
from saraban.kernel.clock import BANGKOK, today
from saraban.kernel.settings import EXAMPLES_DIR, load_settings
from saraban.letters.spec import load_spec
from saraban.programmes.applications import apply, create_programme, get_programme, send_invitation
from saraban.programmes.definitions import ProgrammeError
from saraban.records.db import open_database
from saraban.reports.programmes import write_programme_report
from saraban.reports.status import write_status_report
from workflows.cascade import cascade_flow
from workflows.letters import render_letters_flow
from workflows.reminders import reminders_flow

DEMO_DISTRICT = "amphoe.8101"  # อำเภอเมืองกระบี่
INVITED = "under:amphoe.8101,under:amphoe.7005"  # Mueang Krabi's local administrations, Ban Pong's municipalities
# The programme's own timeline (its window is 1 Dec 2021 - 28 Feb 2022).
INVITED_AT = datetime(2021, 12, 1, 9, 0, tzinfo=BANGKOK)
REMINDERS_AT = "2022-02-25T09:00:00+07:00"


@task(name="prepare-directory")
def prepare_directory() -> int:
    db = open_database(load_settings())
    added = ensure_directory(db)
    with db.transaction() as s:
        # Krabi's working group (§1.4), whose name the province's forwarding letter prints in its owner block
        added += len(import_units(s, EXAMPLES_DIR / "krabi-working-group.csv").created)
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


@task(name="open-programme")
def open_programme(definition: str) -> str:
    """Create the programme and invite the local administrations of the demo's two districts."""
    settings = load_settings()
    db = open_database(settings)
    with db.transaction() as s:
        # The built-in directory does not know DEQP's letter code: the demo sets one, marked uncertain.
        update_unit(s, "deqp", letter_code="ทส 0903", letter_code_certain=False)
        for unit in select_units(s, INVITED):  # addresses for the demo's e-mails
            update_unit(s, unit.key, email=f"{unit.key}@example.org")
    programme = create_programme(db, definition)
    send_invitation(db, settings, programme.key, to=INVITED, at=INVITED_AT)
    return programme.key


@task(name="applications")
def applications(key: str) -> list[str]:
    """Two applications in time, one late and one from a unit that is not eligible (both refused)."""
    settings = load_settings()
    db = open_database(settings)
    lines = []
    tries = [
        ("muni.7005.boekphrai", datetime(2022, 1, 20, 10, 15, tzinfo=BANGKOK),
         {"1.1": 4, "1.2": 5, "2.1": 4, "3.1": 5}),
        ("syn.810101", datetime(2022, 2, 10, 14, 0, tzinfo=BANGKOK), None),
        ("muni.7005.krapyai", datetime(2022, 3, 1, 8, 30, tzinfo=BANGKOK), None),  # a day late
        # a district office is not a local administration
        ("amphoe.8101", datetime(2022, 1, 5, 9, 0, tzinfo=BANGKOK), None),
    ]
    for unit, at, scores in tries:
        contact = {"name": "นางสาวผู้ประสานงาน ตัวอย่าง", "email": f"contact.{unit}@example.org"}
        try:
            r = apply(db, settings, key, unit, contact=contact, scores=scores, at=at)
            level = f", ระดับเบื้องต้น {r.provisional_level}" if r.provisional_level else ""
            lines.append(f"  accepted {unit}: ตอบรับ ที่ {r.ack_ref}{level}")
        except ProgrammeError as e:
            lines.append(f"  refused  {unit}: {e}")
    return lines


@task(name="programme-report")
def programme_report(key: str, out_dir: str) -> list[str]:
    settings = load_settings()
    db = open_database(settings)
    with db.transaction() as s:
        programme = get_programme(s, key)
        return [str(p) for p in write_programme_report(s, programme, Path(out_dir), settings)]


@flow(name="seed-chain-demo")
def seed_chain_flow(examples_dir: str, out_dir: str) -> dict:
    examples = Path(examples_dir)
    letters = render_letters_flow([str(p) for p in sorted(examples.glob("*.yaml"))], out_dir, pdf=True)
    prepare_directory()
    receipt = receive_project_letter(str(examples / "01-project-letter.yaml"))
    chain = cascade_flow(str(examples / "03-department-circular.yaml"), "dla.env.2", "all:province_office",
                         pdf=True, branches=["prov.81"], dated=today())
    report = status_report(chain["letter"], out_dir)
    key = open_programme(str(examples / "programmes" / "eco-town-2565.yaml"))
    applied = applications(key)
    reminders = reminders_flow(at_iso=REMINDERS_AT)
    programme_files = programme_report(key, out_dir)
    return {"letters": letters, "project_receipt": receipt, "chain": chain, **report, "programme": key,
            "applications": applied, "reminders": reminders, "programme_reports": programme_files}
