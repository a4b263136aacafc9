"""The letter spec: what a clerk (or a flow) fills in, and the one clear message each mistake gets.

Every test starts from a valid spec (one of the example letters), breaks one thing, and checks that
``SpecError.problems`` holds exactly one message for it, naming the key and what was expected.
Two broken things give two messages. On the command line a wrong spec exits with code 2 and
nothing is written.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from saraban.faces.cli.app import app
from saraban.letters.spec import SpecError, load_spec, parse_spec
from thai_text import RefNo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DROP = object()  # as a value in ``edited``: remove the key


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


CIRCULAR = example("03-department-circular")  # stamped, circular, ว series, Thai digits, QR
EXTERNAL = example("01-project-letter")  # external, Arabic digits, signer, closing, enclosures
MEMO = example("02-department-memo")
BASES = {"circular": CIRCULAR, "external": EXTERNAL, "memo": MEMO}
SIGNER = {"name": "นายสมชาย ตัวอย่าง", "position": "อธิบดี"}


def edited(spec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` with each dotted path (``owner.email``, ``qr.0.url``) set or DROPped."""
    out = copy.deepcopy(spec)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if value is DROP:
            del node[key]
        else:
            node[key] = value
    return out


def problems_of(data: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    return caught.value.problems


def assert_one_problem(problems: list[str], key: str, expected: str) -> None:
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}: "), problems
    assert expected in problems[0], problems


# --- valid specs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_example_specs_are_valid(path: Path) -> None:
    spec = parse_spec(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert spec.kind in ("external", "stamped", "memo")


def test_a_spec_is_read_into_its_parts() -> None:
    spec = parse_spec(CIRCULAR)
    assert (spec.kind, spec.circular, spec.kind_name) == ("stamped", True, "หนังสือประทับตรา")
    assert spec.ref == RefNo("มท", "0820.2", 1144, circular=True)
    assert spec.sender.name == "กรมส่งเสริมการปกครองท้องถิ่น"
    assert spec.owner is not None and spec.owner.email == "saraban@dla.go.th"
    assert [q.url for q in spec.qr] == ["https://example.org/greenlocal/handbook.pdf"]
    assert spec.signer is None and spec.closing is None


def test_digits_default_to_thai() -> None:
    assert "digits" not in CIRCULAR
    assert parse_spec(CIRCULAR).digits == "thai"
    assert parse_spec(EXTERNAL).digits == "arabic"


@pytest.mark.parametrize("written", ["2024-03-29", "๒๙ มีนาคม ๒๕๖๗", "29 มีนาคม 2567", "๒๙ มี.ค. ๒๕๖๗",
                                     "วันที่ ๒๙ มีนาคม พ.ศ. ๒๕๖๗", date(2024, 3, 29)])
def test_a_date_is_iso_or_thai(written: str | date) -> None:
    spec = parse_spec(edited(CIRCULAR, {"date": written}))
    assert spec.date.isoformat() == "2024-03-29"
    assert spec.hash() == parse_spec(CIRCULAR).hash()


@pytest.mark.parametrize("written", ["มท ๐๘๒๐.๒/ว ๑๑๔๔", "มท 0820.2/ว 1144", "ที่ มท ๐๘๒๐.๒/ว๑๑๔๔"])
def test_a_ref_in_thai_or_arabic_digits_is_the_same_number(written: str) -> None:
    spec = parse_spec(edited(CIRCULAR, {"ref": written}))
    assert spec.ref == RefNo("มท", "0820.2", 1144, circular=True)
    assert spec.hash() == parse_spec(CIRCULAR).hash()


def test_the_hash_is_stable_and_follows_every_character_of_the_body() -> None:
    spec = parse_spec(CIRCULAR)
    assert spec.hash() == parse_spec(copy.deepcopy(CIRCULAR)).hash()
    assert len(spec.hash()) == 64
    first = CIRCULAR["body"][0]
    one_char_off = edited(CIRCULAR, {"body.0": first[:-1] + "ว"})
    assert first[-1] != "ว"
    assert parse_spec(one_char_off).hash() != spec.hash()


@pytest.mark.parametrize(("key", "value"), [
    ("urgency", "ด่วนที่สุด"), ("urgency", "ด่วนมาก"), ("urgency", "ด่วน"),
    ("urgency", "ด่วนภายใน ๓๐ มีนาคม ๒๕๖๗ เวลา ๑๐.๐๐ น."),
    ("secrecy", "ลับที่สุด"), ("secrecy", "ลับมาก"), ("secrecy", "ลับ"),
    ("qr.0.url", "mailto:saraban@dla.go.th"), ("qr.0.url", "tel:+6622419000"),
    ("qr.0.url", "http://example.org/handbook.pdf"),
])
def test_accepted_values(key: str, value: str) -> None:
    parse_spec(edited(CIRCULAR, {key: value}))


HOSTILE = ['<w:t>แผน & งบ</w:t>', 'ราคา "๑๐๐" บาท & <ภาษี>', "{{ x }}", "{% if %}ใช่{% endif %}", "{#", "}}"]


def test_hostile_text_is_accepted_as_it_is() -> None:
    """Markup and template syntax are text like any other: the letter prints them literally."""
    spec = parse_spec(edited(CIRCULAR, {"subject": "{{ subject }} & <b>", "body": HOSTILE,
                                        "to": '"ทุกจังหวัด" {% raw %}', "qr.0.caption": "{{ qr }}"}))
    assert spec.body == HOSTILE
    assert spec.subject == "{{ subject }} & <b>"
    assert spec.to == '"ทุกจังหวัด" {% raw %}'
    assert spec.qr[0].caption == "{{ qr }}"


# --- one broken thing, one message naming the key and what was expected ---------------------------

BE_ISO = "looks like a B.E. year; an ISO date takes the C.E. year, e.g. 2024-03-29"
FIELD_CASES = [
    # (what is wrong, path, value, the key named, the gist of what was expected)
    ("unknown kind", "kind", "externl", "kind", "expected 'external', 'stamped' or 'memo'"),
    ("no kind", "kind", DROP, "kind", "required"),
    ("no date", "date", DROP, "date", "required"),
    ("no sender", "sender", DROP, "sender", "required"),
    ("sender not a mapping", "sender", "กรมส่งเสริมการปกครองท้องถิ่น", "sender",
     "expected a mapping with keys name, address"),
    ("qr entry not a mapping", "qr.0", "https://example.org", "qr[0]",
     "expected a mapping with keys url, caption"),
    ("empty sender name", "sender.name", "", "sender.name", "must not be empty"),
    ("no to", "to", DROP, "to", "required"),
    ("blank to", "to", "   ", "to", "must not be empty"),
    ("empty subject", "subject", "", "subject", "must not be empty"),
    ("no body", "body", DROP, "body", "required"),
    ("empty body", "body", [], "body", "at least one paragraph"),
    ("body not a list", "body", "ย่อหน้าเดียว", "body", "list"),
    ("blank paragraph", "body.0", "   ", "body[0]", "empty paragraph"),
    ("empty paragraph", "body.1", "", "body[1]", "empty paragraph"),
    ("circular not a bool", "circular", "maybe", "circular", "boolean"),
    ("digits capitalised", "digits", "Thai", "digits", "expected 'thai' or 'arabic'; got 'Thai'"),
    ("unknown urgency", "urgency", "ด่วนพิเศษ", "urgency", "ด่วนที่สุด, ด่วนมาก, ด่วน or 'ด่วนภายใน"),
    ("unknown secrecy", "secrecy", "ลับเฉพาะ", "secrecy", "expected one of ลับที่สุด, ลับมาก, ลับ"),
    ("qr url without scheme", "qr.0.url", "example.org/handbook.pdf", "qr[0].url", "https://"),
    ("qr url javascript", "qr.0.url", "javascript:alert(1)", "qr[0].url", "https://"),
    ("qr url with a space", "qr.0.url", "https://example.org/a b.pdf", "qr[0].url", "without spaces"),
    ("qr without caption", "qr.0.caption", DROP, "qr[0].caption", "required"),
    ("qr not a list", "qr", {"url": "https://example.org", "caption": "x"}, "qr", "list"),
    ("owner e-mail", "owner.email", "saraban.dla.go.th", "owner.email", "e-mail address"),
    ("owner without unit", "owner.unit", DROP, "owner.unit", "required"),
    ("unknown owner key", "owner.mobile", "08 1234 5678", "owner.mobile", "unknown key"),
    ("unknown top key", "enclosure", ["แผ่นพับ"], "enclosure", "unknown key (did you mean 'enclosures'?)"),
    ("ref without prefix", "ref", "0820.2/ว 1144", "ref", "missing the prefix"),
    ("ref without slash", "ref", "มท 0820.2 ว 1144", "ref", "missing '/' before the number"),
    ("ref a bare number", "ref", 1144, "ref", "expected <prefix> <code>/[ว ]<number>"),
    ("date 32 March", "date", "๓๒ มีนาคม ๒๕๖๗", "date", "March 2567 has 31 days"),
    ("date 30 February", "date", "๓๐ กุมภาพันธ์ ๒๕๖๗", "date", "February 2567 has 29 days"),
    ("date unknown month", "date", "๒๙ มีนาคอม ๒๕๖๗", "date", "unknown month 'มีนาคอม'"),
    ("date with a C.E. year", "date", "29 มีนาคม 2024", "date", "did you mean 2567?"),
    ("date in another shape", "date", "29/03/2567", "date", "expected e.g. '9 เมษายน 2567'"),
    ("date impossible ISO", "date", "2024-02-30", "date", "February 2024 C.E. has 29 days"),
    ("date ISO with a B.E. year", "date", "2567-03-29", "date", BE_ISO),
    ("date ISO in Thai digits with a B.E. year", "date", "๒๕๖๗-๐๓-๒๙", "date", BE_ISO),
    ("date ISO with a B.E. leap day", "date", "2567-02-29", "date", "e.g. 2024-02-29"),
    ("date object with a B.E. year", "date", date(2567, 3, 29), "date", BE_ISO),
    ("control char in subject", "subject", "ส่งมอบ\x07คู่มือ", "subject", "control character"),
    ("control char in body", "body.1", "ย่อหน้า\x0bที่สอง", "body[1]", "control character"),
    ("control char in owner", "owner.unit", "กอง\x00สิ่งแวดล้อม", "owner.unit", "control character"),
]


@pytest.mark.parametrize(("path", "value", "key", "expected"), [c[1:] for c in FIELD_CASES],
                         ids=[c[0] for c in FIELD_CASES])
def test_a_wrong_field_gives_one_message(path: str, value: Any, key: str, expected: str) -> None:
    assert_one_problem(problems_of(edited(CIRCULAR, {path: value})), key, expected)


def test_tab_and_newline_are_not_control_characters() -> None:
    parse_spec(edited(CIRCULAR, {"owner.unit": "กอง\nกลุ่มงาน", "body.0": "ก\tข\r\nค"}))


KIND_RULES = [
    # (what is wrong, base, changes, the key named, the gist of what was expected)
    ("stamped with salutation", "circular", {"salutation": "เรียน"}, "salutation", "has no salutation"),
    ("stamped with closing", "circular", {"closing": "ขอแสดงความนับถือ"}, "closing",
     "remove 'closing' (the office stamp stands for them)"),
    ("stamped with signer", "circular", {"signer": SIGNER}, "signer", "remove 'signer'"),
    ("stamped without owner", "circular", {"owner": DROP}, "owner", "required for a stamped letter"),
    ("stamped with copies_to", "circular", {"copies_to": ["ผู้ว่าราชการจังหวัด"]}, "copies_to",
     "only an external letter"),
    ("circular ref not ว", "circular", {"ref": "มท 0820.2/1144"}, "ref",
     "a circular takes the ว series, e.g. 'มท 0820.2/ว 1144'"),
    ("ว ref not circular", "circular", {"circular": False}, "ref", "set 'circular: true' or drop the ว"),
    ("ว ref, circular omitted", "circular", {"circular": DROP}, "ref", "ว series of circulars"),
    ("external without signer", "external", {"signer": DROP}, "signer",
     "required for an external letter (หนังสือภายนอก): {name: ..., position: ...}"),
    ("external without owner", "external", {"owner": DROP}, "owner", "the owner division"),
    ("external ref in ว series", "external", {"ref": "ทลส.001/ว 2567"}, "ref", "set 'circular: true'"),
    ("unknown salutation", "external", {"salutation": "ถึง"}, "salutation",
     "expected one of เรียน, กราบเรียน, นมัสการ"),
    ("top key typo", "external", {"salutaion": "เรียน"}, "salutaion", "did you mean 'salutation'?"),
    ("memo without signer", "memo", {"signer": DROP}, "signer", "required for a memo (บันทึกข้อความ): {name"),
    ("memo with references", "memo", {"references": ["หนังสือ ทลส.001/2567"]}, "references",
     "a memo (บันทึกข้อความ) has no separate 'references' part"),
    ("memo with enclosures", "memo", {"enclosures": ["คู่มือ"]}, "enclosures", "write it in the body"),
    ("memo with closing", "memo", {"closing": "ขอแสดงความนับถือ"}, "closing",
     "a memo (บันทึกข้อความ) has no closing"),
    ("external with a blank reference", "external", {"references": ["  "]}, "references[0]", "empty entry"),
    ("external with a blank enclosure", "external", {"enclosures.0": ""}, "enclosures[0]", "empty entry"),
    ("external with a blank copies_to", "external", {"copies_to": ["ผู้ว่าราชการจังหวัด", " "]}, "copies_to[1]",
     "empty entry"),
    # a part the kind does not have: "remove it" is the one message, whatever is wrong inside it
    ("stamped with a wrong salutation", "circular", {"salutation": "ถึง"}, "salutation", "has no salutation"),
    ("stamped with half a signer", "circular", {"signer": {"name": "นายสมชาย"}}, "signer", "remove 'signer'"),
    ("memo with a blank reference", "memo", {"references": [""]}, "references", "no separate 'references'"),
]


@pytest.mark.parametrize(("base", "changes", "key", "expected"), [c[1:] for c in KIND_RULES],
                         ids=[c[0] for c in KIND_RULES])
def test_the_parts_each_kind_of_letter_has(base: str, changes: dict, key: str, expected: str) -> None:
    assert_one_problem(problems_of(edited(BASES[base], changes)), key, expected)


def test_what_the_rules_allow() -> None:
    """A memo needs no owner; an external letter has all the parts; a circular may leave ref blank."""
    parse_spec(edited(MEMO, {"owner": DROP}))
    parse_spec(edited(EXTERNAL, {"salutation": "กราบเรียน", "references": ["หนังสือ มท 0820.2/1140"],
                                 "copies_to": ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด"]}))
    assert parse_spec(edited(CIRCULAR, {"ref": DROP})).ref is None
    # blank or empty is the same as left out
    parse_spec(edited(CIRCULAR, {"salutation": "", "closing": "  ", "signer": None, "copies_to": []}))


def test_a_memo_with_copies_to_gives_one_message() -> None:
    problems = problems_of(edited(MEMO, {"copies_to": ["ผู้อำนวยการกอง"]}))
    assert_one_problem(problems, "copies_to", "memo")


@pytest.mark.parametrize("data", [None, [CIRCULAR], "kind: stamped", 42], ids=repr)
def test_a_spec_must_be_a_mapping(data: Any) -> None:
    problems = problems_of(data)
    assert len(problems) == 1 and "the spec must be a mapping of keys" in problems[0], problems


# --- two broken things, two messages ----------------------------------------------------------------

TWO_PROBLEMS = [
    ({"to": DROP, "digits": "Thai"}, ["to", "digits"]),
    ({"subject": "ก\x01", "qr.0.url": "example.org"}, ["subject", "qr[0].url"]),
    ({"signer": SIGNER, "closing": "ขอแสดงความนับถือ"}, ["closing", "signer"]),
    ({"owner": DROP, "ref": "มท 0820.2/1144"}, ["owner", "ref"]),
    ({"date": "๓๒ มีนาคม ๒๕๖๗", "secrecy": "ลับเฉพาะ"}, ["date", "secrecy"]),
]


@pytest.mark.parametrize(("changes", "keys"), TWO_PROBLEMS, ids=["+".join(k) for _, k in TWO_PROBLEMS])
def test_two_broken_things_give_two_messages(changes: dict, keys: list[str]) -> None:
    problems = problems_of(edited(CIRCULAR, changes))
    assert sorted(p.split(":")[0] for p in problems) == sorted(keys), problems


def test_a_wrong_field_and_a_kind_rule_give_two_messages() -> None:
    problems = problems_of(edited(CIRCULAR, {"urgency": "ด่วนพิเศษ", "signer": SIGNER}))
    assert sorted(p.split(":")[0] for p in problems) == ["signer", "urgency"], problems


def test_every_problem_is_reported_in_one_go() -> None:
    problems = problems_of(edited(MEMO, {"date": "๓๒ มีนาคม ๒๕๖๗", "digits": "Thai", "signer": DROP,
                                         "references": ["หนังสือ ทลส.001/2567"], "closing": "ขอแสดงความนับถือ",
                                         "ref": "มท 0820.2/ว 1140"}))
    assert sorted(p.split(":")[0] for p in problems) == ["closing", "date", "digits", "ref", "references",
                                                         "signer"], problems


@pytest.mark.parametrize("kind", ["externl", DROP, None, ["stamped"]], ids=repr)
def test_without_a_known_kind_only_the_kind_is_reported(kind: Any) -> None:
    """Which parts a letter has depends on its kind: with no kind to go by, there is nothing to say."""
    problems = problems_of(edited(CIRCULAR, {"kind": kind, "signer": SIGNER, "closing": "ขอแสดงความนับถือ"}))
    assert len(problems) == 1 and problems[0].startswith("kind: "), problems


TYPOS = [
    # (what is wrong, base, changes, the one message)
    ("a nested key", "external", {"signer": {"name": "นายสมชาย", "postion": "อธิบดี"}},
     "signer.postion: ไม่รู้จักคีย์นี้ (หมายถึง 'position' หรือไม่?) / unknown key (did you mean 'position'?)"),
    ("a top key", "circular", {"subject": DROP, "subjct": "ส่งมอบคู่มือ"},
     "subjct: ไม่รู้จักคีย์นี้ (หมายถึง 'subject' หรือไม่?) / unknown key (did you mean 'subject'?)"),
    ("a key the kind requires", "external", {"signer": DROP, "signr": SIGNER},
     "signr: ไม่รู้จักคีย์นี้ (หมายถึง 'signer' หรือไม่?) / unknown key (did you mean 'signer'?)"),
    ("a key in a list entry", "circular", {"qr.0.caption": DROP, "qr.0.captoin": "คู่มือ"},
     "qr[0].captoin: ไม่รู้จักคีย์นี้ (หมายถึง 'caption' หรือไม่?) / unknown key (did you mean 'caption'?)"),
    ("an optional nested key", "circular", {"owner.emial": "a@example.org", "owner.email": DROP},
     "owner.emial: ไม่รู้จักคีย์นี้ (หมายถึง 'email' หรือไม่?) / unknown key (did you mean 'email'?)"),
]


@pytest.mark.parametrize(("base", "changes", "message"), [c[1:] for c in TYPOS], ids=[c[0] for c in TYPOS])
def test_a_misspelt_key_gives_one_message_with_a_hint(base: str, changes: dict, message: str) -> None:
    assert problems_of(edited(BASES[base], changes)) == [message]


def test_the_error_message_lists_every_problem_with_the_source() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(edited(CIRCULAR, {"to": DROP, "digits": "Thai"}), source="letters/a.yaml")
    assert str(caught.value).splitlines() == [f"letters/a.yaml: {p}" for p in caught.value.problems]


# --- the command line -------------------------------------------------------------------------------

runner = CliRunner()
GOOD = EXAMPLES / "03-department-circular.yaml"


def write_spec(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def saraban_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_check_a_valid_spec_prints_ok() -> None:
    result = runner.invoke(app, ["letter", "check", str(GOOD), str(EXAMPLES / "02-department-memo.yaml")])
    assert result.exit_code == 0, result.output
    assert "ok  03-department-circular: หนังสือประทับตรา" in result.stdout
    assert "ok  02-department-memo: บันทึกข้อความ" in result.stdout


def test_check_a_wrong_spec_lists_each_problem_with_the_file_name(tmp_path: Path) -> None:
    bad = write_spec(tmp_path / "bad.yaml", edited(CIRCULAR, {"subject": DROP, "urgency": "ด่วนพิเศษ"}))
    result = runner.invoke(app, ["letter", "check", str(bad)])
    assert result.exit_code == 2
    assert "2 problem(s) — nothing was written" in result.stderr
    assert f"  - {bad}: subject: ต้องระบุ subject / missing subject (required)" in result.stderr
    assert f"  - {bad}: urgency: expected one of" in result.stderr
    assert "ok " not in result.stdout


@pytest.mark.parametrize(("content", "expected"), [
    ("kind: [stamped\nsubject: x\n", "not valid YAML"),
    ("- kind: stamped\n- subject: x\n", "the spec must be a mapping"),
    ("", "the spec must be a mapping"),
], ids=["not YAML", "a list", "empty"])
def test_check_a_file_that_is_not_a_spec(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["letter", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}: {expected}" in result.stderr


def test_check_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["letter", "check", str(tmp_path / "nowhere.yaml")])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere.yaml'}: cannot read the file" in result.stderr


def test_check_an_impossible_iso_date_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(GOOD.read_text(encoding="utf-8").replace("2024-03-29", "2024-02-30"), encoding="utf-8")
    result = runner.invoke(app, ["letter", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}: date: " in result.stderr and "February 2024 C.E. has 29 days" in result.stderr


def good_yaml_with(old: str, new: str, tmp_path: Path) -> Path:
    text = GOOD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_an_unquoted_iso_date_with_a_be_year_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(good_yaml_with("date: 2024-03-29", "date: 2567-03-29", tmp_path))
    assert caught.value.problems == [f"date: '2567-03-29' {BE_ISO}"]


def test_yaml_dates_are_read_as_text(tmp_path: Path) -> None:
    """So that a date-like value elsewhere stays as written, too."""
    spec = load_spec(good_yaml_with("to: สำนักงาน", "to: 2024-03-29 สำนักงาน", tmp_path))
    assert spec.to.startswith("2024-03-29 สำนักงาน")
    assert spec.date == date(2024, 3, 29)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("kind: stamped\n", "kind: stamped\nsubject: ซ้ำ\n",
     "the key 'subject' is written twice, on lines 4 and 12"),
    ("  email: saraban@dla.go.th\n", "  email: saraban@dla.go.th\n  phone: 0 2241 9001\n",
     "the key 'phone' is written twice, on lines 17 and 19"),
], ids=["top", "nested"])
def test_a_key_written_twice_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(good_yaml_with(old, new, tmp_path))
    [problem] = caught.value.problems  # Thai first, then English
    assert problem.startswith("คีย์ '") and "เขียนซ้ำ" in problem and problem.endswith(f" / {message}; keep one")


def test_check_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes("kind: stamped\nsubject: ส่งมอบคู่มือ\n".encode("cp874"))  # Thai Windows encoding
    result = runner.invoke(app, ["letter", "check", str(path)])
    assert result.exit_code == 2
    assert f"{path}: not UTF-8 text: save the file as UTF-8 (ไฟล์ต้องเป็น UTF-8)" in result.stderr


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(GOOD.read_bytes().join([b"\xef\xbb\xbf", b""]))
    assert load_spec(path) == load_spec(GOOD)


def test_render_writes_the_letters(tmp_path: Path, saraban_data: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["letter", "render", str(GOOD), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["03-department-circular.docx"]


@pytest.mark.parametrize("out_exists", [False, True], ids=["new folder", "existing folder"])
def test_render_writes_nothing_when_one_spec_is_wrong(tmp_path: Path, saraban_data: Path,
                                                      out_exists: bool) -> None:
    bad = write_spec(tmp_path / "specs" / "bad.yaml", edited(CIRCULAR, {"signer": SIGNER}))
    out = tmp_path / "out"
    if out_exists:
        out.mkdir()
    result = runner.invoke(app, ["letter", "render", str(GOOD), str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{bad}: signer: " in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert result.stdout == ""


def test_render_refuses_two_specs_with_the_same_file_name(tmp_path: Path, saraban_data: Path) -> None:
    first = write_spec(tmp_path / "a" / "letter.yaml", CIRCULAR)
    second = write_spec(tmp_path / "b" / "letter.yaml", EXTERNAL)
    out = tmp_path / "out"
    result = runner.invoke(app, ["letter", "render", str(first), str(second), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{second}: the same file name as {first}; both would write letter.docx" in result.stderr
    assert not out.exists()
