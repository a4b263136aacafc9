"""The command line as clerks use it: units named in Thai, `receive --external`, `letter issue`, Thai-first
messages with Thai numbers, and a `--help` that imports none of the heavy parts (real SQLite, real PDFs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from typer.testing import CliRunner

from saraban.directory.levels import DirectoryError
from saraban.directory.selectors import select_units
from saraban.directory.skeleton import ensure_directory
from saraban.directory.units import AmbiguousUnit, resolve_unit
from saraban.faces.cli.app import app
from saraban.kernel.clock import today
from saraban.records.db import Database, open_database
from saraban.records.models import RegisterEntry, Unit
from tests.conftest import ROOT, example_dict
from thai_text import be_year, to_thai_digits

HEAVY = ("sqlalchemy", "alembic", "prefect", "docx", "docxtpl", "openpyxl", "pypdf", "pythainlp")  # not pydantic: Typer


@pytest.fixture
def loaded(tmp_path: Path) -> Database:
    db = open_database(url=f"sqlite:///{tmp_path}/units.db")
    ensure_directory(db)
    yield db
    db.engine.dispose()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch):
    """Run ``saraban ARGS`` on a fresh SQLite database and data folder."""
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SARABAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def _pdf(path: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    with path.open("wb") as f:
        writer.write(f)
    return path


def _spec(tmp_path: Path, name: str, **changes) -> Path:
    spec = example_dict(name) | {"date": today().isoformat()} | changes  # dated the day it is numbered
    spec.pop("ref", None)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def _receive_lines(db_url: str, key: str) -> list[tuple[int, str]]:
    db = open_database(url=db_url)
    try:
        with db.transaction() as s:
            unit_id = s.scalar(select(Unit.id).where(Unit.key == key))
            return [(e.number, e.ref_text) for e in s.scalars(select(RegisterEntry).where(
                RegisterEntry.unit_id == unit_id, RegisterEntry.series == "receive").order_by(RegisterEntry.number))]
    finally:
        db.engine.dispose()


# --------------------------------------------------------------------------------------- the resolver


@pytest.mark.parametrize(("text", "key"), [
    ("prov.81", "prov.81"),
    ("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่", "prov.81"),  # exact name
    ("สถจ.กระบี่", "prov.81"),  # exact short name
    ("จังหวัดกระบี่", "prov.81"),  # exact sender name: wins over the PAO whose name contains it
    ("กรมส่งเสริมการปกครองท้องถิ่น", "dla"),  # a name wins over the divisions that print it as their sender
    ("กลุ่มงานสิ่งแวดล้อม", "dla.env.2"),
    ("เกาะลันตา", "amphoe.8103"),  # a unique part of a name
    ("  อำเภอเกาะลันตา ", "amphoe.8103"),  # spaces around it
])
def test_a_unit_is_found_by_key_name_or_a_unique_part(loaded: Database, text: str, key: str) -> None:
    with loaded.transaction() as s:
        assert resolve_unit(s, text).key == key


def test_an_ambiguous_name_lists_the_candidates_with_their_keys(loaded: Database) -> None:
    with loaded.transaction() as s, pytest.raises(AmbiguousUnit) as e:
        resolve_unit(s, "กระบี่")
    assert [u.key for u in e.value.candidates] == ["prov.81", "amphoe.8101", "pao.81", "muni.8101.krabi"]
    message = str(e.value)
    assert message.startswith("'กระบี่' ตรงกับ 4 หน่วยงาน") and "matches 4 units" in message
    assert "  pao.81\tองค์การบริหารส่วนจังหวัดกระบี่" in message
    with loaded.transaction() as s, pytest.raises(AmbiguousUnit) as e:
        resolve_unit(s, "อำเภอ")  # the 878 district offices: the first few, and how many are left
    assert len(e.value.candidates) == 12 and e.value.total == 878 and "อีก 866 หน่วย / 866 more" in str(e.value)


def test_an_unknown_unit_is_thai_first_with_did_you_mean(loaded: Database) -> None:
    with loaded.transaction() as s, pytest.raises(DirectoryError) as e:
        resolve_unit(s, "prov.811")
    assert str(e.value).startswith("ไม่พบหน่วยงาน 'prov.811'") and "unknown unit 'prov.811'; did you mean prov.81" \
        in str(e.value)


def test_selectors_take_names_as_items_and_in_rules(loaded: Database) -> None:
    with loaded.transaction() as s:
        assert [u.key for u in select_units(s, "สถจ.กระบี่, children:จังหวัดกระบี่:pao")] == ["pao.81", "prov.81"]
        assert len(select_units(s, "under:อำเภอเมืองกระบี่")) == 1
        with pytest.raises(AmbiguousUnit, match="muni.8101.krabi"):
            select_units(s, "เมืองกระบี่")


# --------------------------------------------------------------------------------------- the CLI


def test_clerks_name_units_in_thai_everywhere(cli, tmp_path: Path) -> None:
    year = be_year(today())
    issued = cli("circular", "issue", _spec(tmp_path, "03-department-circular"), "--from", "กลุ่มงานสิ่งแวดล้อม",
                 "--to", "ทุกจังหวัด")
    assert issued.exit_code == 0, issued.output
    assert issued.output.startswith("ออกหนังสือแล้ว / issued: letter 1, ที่ มท 0820.2/ว 1, 76 recipients")

    ambiguous = cli("receive", "1", "--unit", "กระบี่")
    assert ambiguous.exit_code == 2 and "matches 4 units" in ambiguous.output
    assert "prov.81" in ambiguous.output and "pao.81" in ambiguous.output

    got = cli("receive", "1", "--unit", "สถจ.กระบี่")
    assert got.exit_code == 0, got.output
    assert got.output.startswith(f"ลงรับแล้ว / received: เลขรับ ๑/{to_thai_digits(year)} (")
    assert " น.)" in got.output  # the time as Thai clerks write it
    again = cli("receive", "มท 0820.2/ว 1", "--unit", "จังหวัดกระบี่")
    assert again.output.startswith(f"ลงรับไว้แล้ว / already received: เลขรับ ๑/{to_thai_digits(year)}")

    fwd = cli("circular", "forward", "1", "--unit", "จังหวัดกระบี่", "--to", "อบจ.กระบี่,อำเภอเกาะลันตา")
    assert fwd.exit_code == 0 and "ส่งต่อแล้ว / forwarded:" in fwd.output and "2 recipients" in fwd.output

    shown = cli("directory", "show", "สถจ.กระบี่", "--depth", "0")
    assert shown.exit_code == 0 and "[prov.81]" in shown.output
    changed = cli("directory", "set", "อบจ.กระบี่", "--email", "saraban@pao.example.org", "--parent", "จังหวัดกระบี่")
    assert changed.exit_code == 0 and "[pao.81]" in changed.output and "<saraban@pao.example.org>" in changed.output

    out = tmp_path / "registers"
    exported = cli("register", "export", "จังหวัดกระบี่", "--series", "รับ", "--year", year, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert exported.output.split() == [str(out / f"register-receive-prov.81-{year}.xlsx"),
                                       str(out / f"register-receive-prov.81-{year}.docx")]
    sent = cli("register", "export", "prov.81", "--series", "ว", "--year", year, "--out", out, "--format", "xlsx")
    assert sent.exit_code == 0 and sent.output.split() == [str(out / f"register-circular-prov.81-{year}.xlsx")]
    wrong = cli("register", "export", "prov.81", "--series", "incoming", "--out", out)
    assert wrong.exit_code == 2 and wrong.output.startswith("ไม่รู้จักทะเบียน 'incoming'")


def test_receive_external_numbers_and_stamps_a_letter_from_outside(cli, tmp_path: Path) -> None:
    year = be_year(today())
    args = ["receive", "--external", "ทลส. ๐๐๑/๒๕๖๗", "--unit", "สลก.สถ.", "--date", "๕ มีนาคม ๒๕๖๗",
            "--from", "โครงการท้องถิ่นนำร่องลดมลพิษ", "--subject", "ส่งมอบคู่มือท้องถิ่นพัฒนาอุตสาหกรรมสีเขียว"]
    missing = cli(*args, "--pdf", tmp_path / "nowhere.pdf")
    assert missing.exit_code == 2 and "nothing was received" in missing.output
    not_pdf = tmp_path / "letter.pdf"
    not_pdf.write_text("not a PDF", encoding="utf-8")
    refused = cli(*args, "--pdf", not_pdf)
    assert refused.exit_code == 2 and "is not a PDF, nothing was received" in refused.output
    assert cli("receive", "--external", "ทลส.001/2567", "--unit", "dla.registry").exit_code == 2  # no date ...

    scan = _pdf(tmp_path / "scan.pdf")
    got = cli(*args, "--pdf", scan)
    assert got.exit_code == 0, got.output
    assert got.output.startswith(f"ลงรับหนังสือจากภายนอกแล้ว / received: เลขรับ ๑/{to_thai_digits(year)} (")
    stamped = tmp_path / "data" / "out" / "received" / f"dla.registry-{year}-r1.pdf"
    assert f"stamped copy: {stamped}" in got.output
    assert len(PdfReader(stamped).pages) == 1 and stamped.read_bytes() != scan.read_bytes()
    assert b"/Font" in stamped.read_bytes()  # the stamp's text is on the page

    first_stamp = stamped.read_bytes()
    again = cli(*args)
    assert again.output.startswith(f"ลงรับไว้แล้ว / already received: เลขรับ ๑/{to_thai_digits(year)}")
    with_pdf = cli(*args, "--pdf", scan)  # the clerk scans it in again: the first stamped copy stays
    assert with_pdf.exit_code == 0, with_pdf.output
    assert with_pdf.output.startswith(f"ลงรับไว้แล้ว / already received: เลขรับ ๑/{to_thai_digits(year)}")
    assert f"stamped copy: {stamped}" in with_pdf.output and stamped.read_bytes() == first_stamp
    assert _receive_lines(f"sqlite:///{tmp_path}/cli.db", "dla.registry") == [(1, "ทลส.001/2567")]


def test_letter_issue_numbers_an_ordinary_letter_from_the_send_register(cli, tmp_path: Path) -> None:
    spec = _spec(tmp_path, "01-project-letter")
    issued = cli("letter", "issue", spec, "--from", "กลุ่มงานสิ่งแวดล้อม")
    assert issued.exit_code == 0, issued.output
    lines = issued.output.splitlines()
    assert lines[0].startswith("ออกเลขหนังสือแล้ว ทะเบียนหนังสือส่ง เลขที่ ๑/")
    assert lines[0].endswith("/ issued: letter 1, ที่ มท 0820.2/1, 0 recipients")
    docx = Path(lines[1].removeprefix("หนังสือ / letter: "))
    assert docx.exists() and docx.name == "letter.docx"
    again = cli("letter", "issue", spec, "--from", "dla.env.2")
    assert "already issued (nothing new numbered): letter 1, ที่ มท 0820.2/1" in again.output

    memo = _spec(tmp_path, "02-department-memo")
    to_krabi = cli("letter", "issue", memo, "--from", "dla.env.2", "--to", "สถจ.กระบี่")
    assert to_krabi.exit_code == 0, to_krabi.output
    assert "issued: letter 2, ที่ มท 0820.2/2, 1 recipients" in to_krabi.output
    assert "recipients' copies:" in to_krabi.output
    received = cli("receive", "มท 0820.2/2", "--unit", "prov.81")
    assert received.exit_code == 0 and "เลขรับ ๑/" in received.output

    circular = cli("letter", "issue", _spec(tmp_path, "03-department-circular"), "--from", "dla.env.2")
    assert circular.exit_code == 2 and "use saraban circular issue" in circular.output
    numbered = cli("letter", "issue", ROOT / "examples" / "01-project-letter.yaml", "--from", "dla.env.2")
    assert numbered.exit_code == 2 and "ref: leave it out" in numbered.output
    no_code = cli("letter", "issue", spec, "--from", "กรมส่งเสริมคุณภาพสิ่งแวดล้อม")
    assert no_code.exit_code == 2 and no_code.output.startswith("กรมส่งเสริมคุณภาพสิ่งแวดล้อม (deqp) ยังไม่มีรหัสหนังสือ")
    assert "has no letter code" in no_code.output


def test_help_imports_none_of_the_heavy_parts(tmp_path: Path) -> None:
    program = ("import sys\nsys.argv = ['saraban', *sys.argv[1:]]\nfrom saraban.faces.cli.app import app\n"
               "try:\n    app()\nexcept SystemExit:\n    pass\n"
               f"print('heavy:', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")
    env = {"PATH": "/usr/bin:/bin", "SARABAN_DATA_DIR": str(tmp_path / "data"),
           "SARABAN_DATABASE_URL": f"sqlite:///{tmp_path}/help.db"}
    for args in (["--help"], ["circular", "issue", "--help"], ["receive", "--help"]):
        done = subprocess.run([sys.executable, "-c", program, *args], env=env, cwd=ROOT, capture_output=True,
                              text=True, check=True)
        assert "heavy: []" in done.stderr, (args, done.stderr)
        assert "/ " in done.stdout and "Usage: saraban" in done.stdout
    subprocess.run([sys.executable, "-c", program, "directory", "show", "dla.env"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # creates the database
    shown = subprocess.run([sys.executable, "-c", program, "directory", "show", "dla.env"], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert "[dla.env.2]" in shown.stdout
    loaded = shown.stderr.split("heavy: ", 1)[1]
    assert not {"alembic", "prefect", "docx", "docxtpl", "openpyxl", "pypdf", "pythainlp"} & set(
        ast.literal_eval(loaded.strip()))
