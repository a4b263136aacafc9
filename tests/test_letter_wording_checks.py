"""Issue 12 §2 and smaller defects: Arabic digits inside Latin text in a Thai-digit letter, the closing
that follows the salutation, ``letter check``'s warnings, the message for an unquoted ': ' in YAML."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from docx import Document
from docx.oxml.ns import qn
from typer.testing import CliRunner

from saraban.faces.cli.app import app
from saraban.letters.render import render_docx_bytes
from saraban.letters.spec import SpecError, load_spec, parse_spec
from tests.conftest import example_dict

runner = CliRunner()
ZOOM = "Meeting ID 912 345 6789 Passcode 2563"


def docx_text(spec_dict: dict, settings) -> str:
    """Every paragraph of the .docx as python-docx reads it, tables (the ที่ line) included."""
    doc = Document(io.BytesIO(render_docx_bytes(parse_spec(spec_dict), settings)))
    return "\n".join("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in doc.element.body.iter(qn("w:p")))


def invitation(**changes) -> dict:
    spec = example_dict("03-department-circular") | {"kind": "external", "to": "นายกเทศมนตรีเมืองกระบี่",
                                                     "salutation": "เรียน", "circular": False}
    spec["ref"] = "มท 0820.2/1144"
    spec["signer"] = {"name": "นายสมชาย ใจดี", "position": "อธิบดีกรมส่งเสริมการปกครองท้องถิ่น"}
    spec["body"] = [
        "ด้วยสำนักงานนโยบายและแผนทรัพยากรธรรมชาติและสิ่งแวดล้อม ในฐานะหน่วยประสานงานหลักของ ASEAN ESC Award "
        "2021 จะจัดประชุมชี้แจงตัวชี้วัดเพื่อลดฝุ่นละออง PM2.5 และ PM10 ครั้งที่ 1/2567",
        f"ในวันที่ 4 มิถุนายน 2567 เวลา 08.30 น. ผ่านระบบ Zoom {ZOOM} ติดต่อ โทร. 0 7561 1234",
        "จึงเรียนมาเพื่อโปรดทราบ",
    ]
    return spec | changes


def test_latin_codes_keep_arabic_digits_in_a_thai_digit_letter(settings):
    text = docx_text(invitation(), settings)
    assert "ที่ มท ๐๘๒๐.๒/๑๑๔๔" in text
    assert "๒๙ มีนาคม ๒๕๖๗" in text  # the date
    assert "ASEAN ESC Award 2021" in text
    assert "PM2.5 และ PM10 ครั้งที่ ๑/๒๕๖๗" in text
    assert f"ในวันที่ ๔ มิถุนายน ๒๕๖๗ เวลา ๐๘.๓๐ น. ผ่านระบบ Zoom {ZOOM} ติดต่อ โทร. ๐ ๗๕๖๑ ๑๒๓๔" in text
    for wrong in ("PM๒", "Award ๒๐๒๑", "๙๑๒ ๓๔๕", "Passcode ๒"):
        assert wrong not in text


def test_spans_kept_as_typed_print_as_typed_and_count_in_the_hash(settings):
    spec = invitation(keep_as_typed=["ครั้งที่ 1/2567"])
    text = docx_text(spec, settings)
    assert "PM2.5 และ PM10 ครั้งที่ 1/2567" in text
    assert "๔ มิถุนายน ๒๕๖๗" in text
    assert parse_spec(spec).hash() != parse_spec(invitation()).hash()
    # a spec that keeps nothing has the hash it had before the field existed (letters already issued)
    assert parse_spec(invitation(keep_as_typed=[])).hash() == parse_spec(invitation()).hash()
    with pytest.raises(SpecError, match=r"keep_as_typed\[0\]"):
        parse_spec(invitation(keep_as_typed=[""]))


@pytest.mark.parametrize(("salutation", "closing"), [
    ("เรียน", "ขอแสดงความนับถือ"), ("กราบเรียน", "ขอแสดงความนับถืออย่างยิ่ง"), ("นมัสการ", "ขอนมัสการด้วยความเคารพ")])
def test_the_closing_follows_the_salutation(settings, salutation, closing):
    spec = example_dict("01-project-letter") | {"salutation": salutation}
    del spec["closing"]
    paragraphs = docx_text(spec, settings).split("\n")
    assert closing in paragraphs
    assert f"{closing}อย่างยิ่ง" not in paragraphs


def write(tmp_path: Path, data: dict | str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_check_warns_of_a_closing_that_does_not_go_with_the_salutation(tmp_path):
    spec = example_dict("01-project-letter") | {"salutation": "กราบเรียน", "closing": "ขอแสดงความนับถือ",
                                                "keep_as_typed": ["ไม่มีในหนังสือ"]}
    result = runner.invoke(app, ["letter", "check", str(write(tmp_path, spec))])
    assert result.exit_code == 0, result.output
    assert "ok  spec: หนังสือภายนอก" in result.stdout
    assert ("closing: คำขึ้นต้น 'กราบเรียน' ใช้คำลงท้าย ขอแสดงความนับถืออย่างยิ่ง ไม่ใช่ 'ขอแสดงความนับถือ'"
            in result.stderr)
    assert "the salutation 'กราบเรียน' takes the closing 'ขอแสดงความนับถืออย่างยิ่ง'" in result.stderr
    assert "keep_as_typed[0]: ไม่พบ 'ไม่มีในหนังสือ' ในหนังสือ" in result.stderr
    fine = example_dict("01-project-letter") | {"salutation": "กราบเรียน", "closing": "ขอแสดงความนับถืออย่างยิ่ง"}
    quiet = runner.invoke(app, ["letter", "check", str(write(tmp_path, fine, "fine.yaml"))])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr


def test_an_unquoted_colon_in_a_paragraph_says_how_to_write_it(tmp_path):
    text = write(tmp_path, example_dict("03-department-circular")).read_text(encoding="utf-8")
    text = text.replace("body:\n", "body:\n- วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ\n", 1)
    with pytest.raises(SpecError) as e:
        load_spec(write(tmp_path, text))
    (problem,) = e.value.problems
    assert problem.startswith("body[0]: ข้อความมี ': ' จึงถูกอ่านเป็น คีย์: ค่า ('วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ')")
    assert 'put the whole text in quotes "...", or write \'- |\'' in problem
    # quoted, or as a block, it is a paragraph
    for fixed in ('- "วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ"\n', "- |\n  วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ\n"):
        spec = load_spec(write(tmp_path, text.replace("- วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ\n", fixed)))
        assert spec.body[0] == "วาระที่ 1: เรื่องที่ประธานแจ้งให้ทราบ"


def test_an_unquoted_colon_in_a_value_names_the_line(tmp_path):
    text = write(tmp_path, example_dict("03-department-circular")).read_text(encoding="utf-8")
    subject = next(line for line in text.splitlines() if line.startswith("subject:"))
    path = write(tmp_path, text.replace(subject, "subject: ขอเชิญประชุม: ด่วน"))
    result = runner.invoke(app, ["letter", "check", str(path)])
    assert result.exit_code == 2
    line = text.splitlines().index(subject) + 1
    assert (f"{path}: บรรทัด {line}: 'subject: ขอเชิญประชุม: ด่วน' มี ': ' ในค่า ให้ครอบค่านั้นด้วยเครื่องหมายคำพูด"
            in result.stderr)
