"""Hostile YAML is refused while it is read: anchors/aliases (the "billion laughs"), deep nesting, a key
written twice — with a message that names the line, and before anything is expanded or built."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from saraban.kernel.yaml_input import MAX_DEPTH, DuplicateKey, TextDatesLoader, UnsafeYaml
from saraban.letters.spec import SpecError, load_spec

# Nine levels of nine: 9**9 (387 million) strings once expanded.
BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def load(text: str):
    return yaml.load(text, Loader=TextDatesLoader)


def test_the_billion_laughs_is_refused_at_its_first_anchor():
    with pytest.raises(UnsafeYaml) as caught:
        load(BILLION_LAUGHS)
    assert "บรรทัด 1" in str(caught.value) and "anchors and aliases" in str(caught.value)


def test_an_alias_alone_is_refused_with_its_line():
    with pytest.raises(UnsafeYaml, match="line 2"):
        load("subject: x\nbody: *missing\n")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000])
def test_deep_nesting_is_refused_without_a_recursion_error(depth: int):
    with pytest.raises(UnsafeYaml, match=f"nested more than {MAX_DEPTH} levels"):
        load("x: " + "[" * depth + "]" * depth)


def test_ordinary_nesting_and_text_dates_still_load():
    assert load("date: 2024-03-29\nbody: [a, {b: [1, 2]}]\n") == {"date": "2024-03-29", "body": ["a", {"b": [1, 2]}]}


def test_a_key_written_twice_names_both_lines():
    with pytest.raises(DuplicateKey, match="lines 1 and 3"):
        load("a: 1\nb: 2\na: 3\n")


def test_a_letter_spec_bomb_is_one_clear_problem(tmp_path: Path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert len(caught.value.problems) == 1 and "anchors and aliases" in caught.value.problems[0]


# ---------------------------------------------------------------------- every other YAML input uses it


def test_a_directory_yaml_bomb_is_one_clear_problem(tmp_path: Path):
    from saraban.directory.imports import DirectoryImportError, import_units
    from tests.dbs import fresh_database

    path = tmp_path / "units.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    db = fresh_database("sqlite", tmp_path)
    with db.transaction() as s, pytest.raises(DirectoryImportError) as caught:
        import_units(s, path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("line 1:") and "anchors and aliases" in caught.value.problems[0]


def test_a_duplicate_key_in_a_directory_yaml_names_both_lines(tmp_path: Path):
    from saraban.directory.imports import DirectoryImportError, import_units
    from saraban.records.models import Unit
    from tests.dbs import fresh_database

    path = tmp_path / "units.yaml"
    path.write_text("- key: div.a\n  name: กองเอ\n  level: division\n  email: a@dla.go.th\n"
                    "  email: evil@example.com\n", encoding="utf-8")
    db = fresh_database("sqlite", tmp_path)
    with db.transaction() as s, pytest.raises(DirectoryImportError) as caught:
        import_units(s, path)
    assert caught.value.problems == [caught.value.problems[0]]
    assert "'email'" in caught.value.problems[0] and "lines 4 and 5" in caught.value.problems[0]
    with db.transaction() as s:
        assert s.query(Unit).filter_by(key="div.a").count() == 0


def test_a_directory_yaml_still_names_the_line_of_a_bad_row(tmp_path: Path):
    from saraban.directory.imports import DirectoryImportError, import_units
    from tests.dbs import fresh_database

    path = tmp_path / "units.yaml"
    path.write_text("- key: div.a\n  name: กองเอ\n  level: division\n- key: div.b\n  name: กองบี\n  level: nope\n",
                    encoding="utf-8")
    db = fresh_database("sqlite", tmp_path)
    with db.transaction() as s, pytest.raises(DirectoryImportError) as caught:
        import_units(s, path)
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith("line 4:")


def test_a_programme_file_bomb_is_one_clear_problem(tmp_path: Path):
    from saraban.programmes.definitions import ProgrammeError, load_programme_file

    path = tmp_path / "programme.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(ProgrammeError) as caught:
        load_programme_file(path)
    assert len(caught.value.problems) == 1 and "anchors and aliases" in caught.value.problems[0]


def test_a_scores_file_bomb_is_refused_by_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from saraban.faces.cli.app import app

    monkeypatch.setenv("SARABAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SARABAN_DATABASE_URL", raising=False)
    path = tmp_path / "scores.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    args = ["apply", "any-programme", "--unit", "dla", "--contact", "x", "--scores", str(path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "anchors and aliases" in result.output
    path.write_text("'1.1': 4\n'1.1': 5\n", encoding="utf-8")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "lines 1 and 2" in result.output
