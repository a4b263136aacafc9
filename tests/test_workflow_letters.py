"""The letters flow, run by Prefect (its local test server, started once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from docx import Document
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, example_dict

pytestmark = pytest.mark.prefect


def test_flow_renders_a_batch_of_specs(prefect_server, tmp_path: Path):
    from workflows.letters import render_letters_flow

    files = [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    state = render_letters_flow(files, str(tmp_path), pdf=True, batch_size=2, return_state=True)
    assert state.is_completed()
    results = state.result()
    assert [r["name"] for r in results] == [p.stem for p in sorted(EXAMPLES.glob("*.yaml"))]
    for r in results:
        assert Path(r["docx"]).exists() and Path(r["pdf"]).exists()
    assert Document(results[2]["docx"]).paragraphs[0].text == "ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔"


def test_flow_refuses_a_batch_with_a_bad_spec_and_writes_nothing(prefect_server, tmp_path: Path):
    from workflows.letters import render_letters_flow

    bad = example_dict("03-department-circular") | {"kind": "letter"}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    state = render_letters_flow([str(EXAMPLES / "01-project-letter.yaml"), str(tmp_path / "bad.yaml")],
                                str(out), pdf=False, return_state=True)
    assert state.is_failed()
    message = str(state.message) + repr(state.result(raise_on_failure=False))
    assert ("kind: ต้องเป็น 'external', 'stamped' หรือ 'memo' (ได้ 'letter') / "
            "expected 'external', 'stamped' or 'memo'") in message
    assert not out.exists()


def test_demo_runs_the_seed_chain_and_says_where_everything_is(prefect_server, tmp_path: Path, monkeypatch):
    from saraban.faces.cli.app import app

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SARABAN_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    made = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {f"{p.stem}.{ext}" for p in EXAMPLES.glob("*.yaml") for ext in ("docx", "pdf")} <= made
    assert {"status-1.docx", "status-1.xlsx"} <= made
    out = result.output
    assert "ทลส.001/2567 was received by the department: เลขรับ ๑/" in out
    assert "ที่ มท 0820.2/ว 1" in out and "→ ที่ กบ 0023.6/ว 1" in out and "→ ที่ กบ 8101/ว 1" in out
    letters = tmp_path / "data" / "demo" / "out" / "letters"  # the demo's own data folder
    stamped = sorted(letters.glob("prov.81-*/copies/*-received.pdf"))
    assert len(stamped) == 8 + 1 + 1  # Krabi's districts, PAO and town municipality, each stamped
    assert len(list(letters.glob("dla.env.2-*/copies/prov.*-received.pdf"))) == 76
    # §2: the programme year, on its own dates
    assert "accepted muni.7005.boekphrai: ตอบรับ ที่ ทส 0903/1" in out
    assert "refused  muni.7005.krapyai: ไม่อยู่ในช่วงรับสมัคร" in out and "๒๘ กุมภาพันธ์ ๒๕๖๕" in out
    assert "refused  amphoe.8101:" in out and "ไม่มีสิทธิ์สมัคร" in out
    mails = sorted((tmp_path / "demo" / "mail").glob("*.eml"))
    assert mails and f"E-mails received by the demo's own mail server: {len(mails)}" in out
    assert {"programme-eco-town-2565.xlsx", "programme-eco-town-2565.docx"} <= made
    assert f"open the files in {tmp_path / 'demo'}" in out
