"""One formatter and one e-mail rule for every model clerks fill in: a letter spec, a programme definition
and a row of the directory say what was expected, Thai first, never pydantic's own English."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from saraban.directory.imports import NewUnit, UnitChanges
from saraban.kernel.email_address import check_email, is_email
from saraban.kernel.problems import problem_list
from saraban.letters.spec import SpecError, parse_spec
from saraban.programmes.definitions import ProgrammeError, check_programme

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LETTER = yaml.safe_load((EXAMPLES / "03-department-circular.yaml").read_text(encoding="utf-8"))
PROGRAMME = yaml.safe_load((EXAMPLES / "programmes" / "eco-town-2565.yaml").read_text(encoding="utf-8"))


def letter_problems(**changes: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(LETTER | changes)
    return caught.value.problems


def programme_problems(change: Any) -> list[str]:
    data = copy.deepcopy(PROGRAMME)
    change(data)
    with pytest.raises(ProgrammeError) as caught:
        check_programme(data)
    return caught.value.problems


def row_problems(model: type[NewUnit] | type[UnitChanges], values: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return problem_list(caught.value.errors(), model)


def test_a_letter_says_what_was_expected_in_thai_first() -> None:
    assert letter_problems(subject=5) == ["subject: ต้องเป็นข้อความ / expected text"]
    assert letter_problems(circular="maybe") == ["circular: ต้องเป็น true หรือ false / expected true or false (a boolean)"]
    assert letter_problems(body="ย่อหน้าเดียว") == ["body: ต้องเป็นรายการ (- ...) / expected a list (- ...)"]
    assert letter_problems(digits="Thai") == [
        "digits: ต้องเป็น 'thai' หรือ 'arabic' (ได้ 'Thai') / expected 'thai' or 'arabic'; got 'Thai'"]


def test_a_programme_says_what_was_expected_in_thai_first() -> None:
    def wrong(data: dict) -> None:
        data["year"] = "สองพัน"
        data["structure"]["components"][0]["weight"] = 0
        data["structure"]["levels"][0]["min_percent"] = 150
        data["structure"]["scale"] = {"min": "ต่ำ"}

    assert programme_problems(wrong) == [
        "year: ต้องเป็นจำนวนเต็ม / expected a whole number",
        "structure.scale.min: ต้องเป็นตัวเลข / expected a number",
        "structure.components[0].weight: ต้องมากกว่า 0 / must be greater than 0",
        "structure.levels[0].min_percent: ต้องไม่เกิน 100 / must be at most 100",
    ]


def test_a_directory_row_says_what_was_expected_in_thai_first() -> None:
    assert row_problems(NewUnit, {"key": "sao.1", "name": "ก" * 256}) == [
        "name: ยาวเกิน 255 ตัวอักษร / longer than 255 characters",
        "level: ต้องระบุ level / missing level (required)",
    ]
    assert row_problems(UnitChanges, {"name": "", "leval": "sao"}) == [
        "name: ต้องไม่ว่าง / must not be empty",
        "leval: ไม่รู้จักคีย์นี้ (หมายถึง 'level' หรือไม่?) / unknown key (did you mean 'level'?)",
    ]


def test_no_message_is_pydantic_own() -> None:
    problems = [*letter_problems(subject=[1], to=None, date={"d": 1}, qr="x", owner=[1]),
                *row_problems(NewUnit, {"key": 1, "name": None, "level": [1], "letter_code_certain": 3})]
    assert problems and not any("Input should" in p or "Field required" in p for p in problems), problems


GOOD = ["saraban@dla.go.th", "a.b+c@krabi.example.go.th"]
BAD = ["saraban@krabiyai", "saraban.dla.go.th", "a b@dla.go.th", "a@b@dla.go.th", "สารบรรณ@dla.go.th"]


@pytest.mark.parametrize("address", GOOD + BAD)
def test_one_e_mail_rule_for_letters_and_the_directory(address: str) -> None:
    good = address in GOOD
    assert is_email(address) == good
    owner = LETTER["owner"] | {"email": address}
    if good:
        assert check_email(address) == address
        assert parse_spec(LETTER | {"owner": owner}).owner.email == address
        assert UnitChanges.model_validate({"email": address}).email == address
    else:
        message = f"bad e-mail '{address}'"
        assert any(message in p for p in letter_problems(owner=owner))
        assert any(p.startswith("email: ") and message in p for p in row_problems(UnitChanges, {"email": address}))
