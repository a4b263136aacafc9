"""The directory of units: the built-in skeleton, the shipped municipalities, selectors, imports and the
`saraban directory` commands — on SQLite and on PostgreSQL (``SARABAN_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import geothai
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from saraban.directory.imports import DirectoryImportError, import_units, update_unit
from saraban.directory.levels import (
    LEVEL_NAMES,
    LEVELS,
    LOCAL_LEVELS,
    DirectoryError,
    find_province,
    normalize_letter_code,
)
from saraban.directory.selectors import select_units
from saraban.directory.skeleton import add_synthetic_local_layer, ensure_directory, load_municipalities, load_skeleton
from saraban.directory.units import ancestors, children, get_unit, level_counts, render_tree
from saraban.faces.cli.directory import app
from saraban.records.db import Database, open_database
from saraban.records.models import Unit
from tests.dbs import empty_postgres

POSTGRES_ENV = "SARABAN_TEST_POSTGRES_URL"


def _database_params() -> list:
    skip = pytest.mark.skip(reason=f"{POSTGRES_ENV} is not set (sh scripts/test-postgres.sh)")
    marks = () if os.environ.get(POSTGRES_ENV) else (skip,)
    return [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=marks)]


@pytest.fixture(params=_database_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a new SQLite file, or the test PostgreSQL emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/saraban.db"
    url = os.environ[POSTGRES_ENV]
    empty_postgres(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(url=db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def loaded(db: Database) -> Database:
    """The built-in directory: skeleton and shipped municipalities."""
    assert ensure_directory(db) > 1000
    return db


def unit_count(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Unit))


def snapshot(db: Database) -> list[tuple]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(
            Unit.key, Unit.name, Unit.level, Unit.parent_id, Unit.letter_code, Unit.letter_code_certain,
            Unit.email, Unit.province_code).order_by(Unit.key))]


def keys(units) -> list[str]:
    return [u.key for u in units]


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------- the skeleton


def test_levels_are_named_in_thai() -> None:
    assert set(LEVEL_NAMES) == set(LEVELS)
    assert set(LOCAL_LEVELS) <= set(LEVELS)
    assert LEVEL_NAMES["district_office"] == "ที่ว่าการอำเภอ"
    assert LEVEL_NAMES["sao"] == "องค์การบริหารส่วนตำบล"


def test_skeleton_counts(db: Database) -> None:
    with db.transaction() as s:
        added = load_skeleton(s)
    with db.transaction() as s:
        counts = level_counts(s)
    assert counts["ministry"] == 20
    assert counts["province_office"] == 76
    assert counts["district_office"] == 878
    assert counts["pao"] == 76
    assert added == sum(counts.values()) == unit_count(db)
    with db.transaction() as s:
        assert load_skeleton(s) == 0  # idempotent
    assert unit_count(db) == added


def test_878_amphoe_are_geothai_districts_without_bangkok(loaded: Database) -> None:
    official = {d.code: d.name_th
                for p in geothai.provinces() if p.code != "10" for d in geothai.districts(p.code)}
    assert len(official) == 878
    with loaded.transaction() as s:
        offices = s.scalars(select(Unit).where(Unit.level == "district_office")).all()
        parents = {u.id: u.key for u in s.scalars(select(Unit).where(Unit.level == "province_office"))}
        assert {u.area_code: u.name for u in offices} == {c: f"ที่ว่าการอำเภอ{n}" for c, n in official.items()}
        for u in offices:
            assert u.key == f"amphoe.{u.area_code}"
            assert parents[u.parent_id] == f"prov.{u.area_code[:2]}"
            assert u.province_code == u.area_code[:2]
            assert not u.letter_code_certain
        assert s.scalar(select(Unit).where(Unit.key.in_(["prov.10", "pao.10", "amphoe.1001"]))) is None
        assert s.scalar(select(func.count()).select_from(Unit).where(Unit.province_code == "10")) == 0


def test_krabi(loaded: Database) -> None:
    with loaded.transaction() as s:
        office = get_unit(s, "prov.81")
        assert office.name == "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่"
        assert office.printed_sender == "จังหวัดกระบี่"
        assert (office.letter_code, office.letter_code_certain) == ("กบ 0023.6", True)
        assert (office.level, office.province_code) == ("province_office", "81")
        assert keys(ancestors(s, office)) == ["mt", "dla"]
        assert keys(children(s, office)) == [f"amphoe.810{i}" for i in range(1, 9)] + ["pao.81"]

        amphoe = get_unit(s, "amphoe.8101")
        assert amphoe.name == "ที่ว่าการอำเภอเมืองกระบี่"
        assert amphoe.printed_sender == "อำเภอเมืองกระบี่"
        assert (amphoe.letter_code, amphoe.letter_code_certain) == ("กบ 8101", False)
        assert amphoe.area_code == "8101"

        pao = get_unit(s, "pao.81")
        assert (pao.name, pao.level, pao.parent_id) == ("องค์การบริหารส่วนจังหวัดกระบี่", "pao", office.id)
        assert not pao.letter_code_certain

        town = get_unit(s, "muni.8101.krabi")
        assert (town.name, town.level, town.parent_id) == ("เทศบาลเมืองกระบี่", "town_municipality", amphoe.id)
        assert town.province_code == "81" and town.email is None
        assert keys(ancestors(s, town)) == ["mt", "dla", "prov.81", "amphoe.8101"]

        other = get_unit(s, "prov.70")
        assert (other.letter_code, other.letter_code_certain) == ("รบ 0023", False)
        assert get_unit(s, "prov.11").letter_code == "สป 0023"


def test_department_of_local_administration(loaded: Database) -> None:
    with loaded.transaction() as s:
        dla = get_unit(s, "dla")
        assert (dla.name, dla.level) == ("กรมส่งเสริมการปกครองท้องถิ่น", "department")
        assert dla.parent_id == get_unit(s, "mt").id
        env = get_unit(s, "dla.env")
        assert (env.name, env.letter_code, env.letter_code_certain) == ("กองสิ่งแวดล้อมท้องถิ่น", "มท 0820", True)
        group = get_unit(s, "dla.env.2")
        assert (group.name, group.level, group.parent_id) == ("กลุ่มงานสิ่งแวดล้อม", "group", env.id)
        assert (group.letter_code, group.letter_code_certain) == ("มท 0820.2", True)
        assert group.printed_sender == "กรมส่งเสริมการปกครองท้องถิ่น"
        registry = get_unit(s, "dla.registry")
        assert registry.name == "สำนักงานส่งเสริมการปกครองท้องถิ่น"  # its receipt stamp, field-examples §1.2
        assert registry.parent_id == dla.id
        ministries = select_units(s, "all:ministry")
        assert len(ministries) == 20
        assert {u.short_name for u in ministries} >= {"มท.", "ทส.", "นร.", "อว.", "ดศ."}
        # every uncertain code is marked; the certain ones are those seen on real letters
        certain = s.scalars(select(Unit.key).where(Unit.letter_code_certain.is_(True)).order_by(Unit.key))
        assert list(certain) == ["dla.env", "dla.env.2", "prov.81"]


def test_shipped_municipalities(loaded: Database) -> None:
    expected = {
        "muni.7005.banpong": ("เทศบาลเมืองบ้านโป่ง", "town_municipality", "amphoe.7005"),
        "muni.7005.boekphrai": ("เทศบาลตำบลเบิกไพร", "subdistrict_municipality", "amphoe.7005"),
        "muni.7005.krapyai": ("เทศบาลตำบลกรับใหญ่", "subdistrict_municipality", "amphoe.7005"),
        "muni.9011.phatong": ("เทศบาลตำบลพะตง", "subdistrict_municipality", "amphoe.9011"),
        "muni.1913.naphralan": ("เทศบาลตำบลหน้าพระลาน", "subdistrict_municipality", "amphoe.1913"),
        "muni.8101.krabi": ("เทศบาลเมืองกระบี่", "town_municipality", "amphoe.8101"),
    }
    with loaded.transaction() as s:
        found = select_units(s, "all:municipality")
        assert keys(found) == sorted(expected)
        for u in found:
            parent = s.get(Unit, u.parent_id)
            assert (u.name, u.level, parent.key) == expected[u.key]
            assert u.province_code == parent.province_code
        assert get_unit(s, "amphoe.1913").name == "ที่ว่าการอำเภอเฉลิมพระเกียรติ"
        assert get_unit(s, "amphoe.9011").name == "ที่ว่าการอำเภอหาดใหญ่"
        assert load_municipalities(s) == 0
    assert ensure_directory(loaded) == 0  # not empty: nothing loaded again


def test_reloading_keeps_edits(loaded: Database) -> None:
    with loaded.transaction() as s:
        update_unit(s, "amphoe.8101", letter_code="กบ ๐๐๑๘", email="saraban@krabi.example.org")
        s.delete(get_unit(s, "muni.7005.krapyai"))
    with loaded.transaction() as s:
        assert load_skeleton(s) == 0
        assert load_municipalities(s) == 1  # a deleted shipped unit comes back
        amphoe = get_unit(s, "amphoe.8101")
        assert (amphoe.letter_code, amphoe.letter_code_certain) == ("กบ 0018", True)
        assert amphoe.email == "saraban@krabi.example.org"


def test_synthetic_local_layer(loaded: Database) -> None:
    expected = sum(len(geothai.subdistricts(d.code))
                   for p in geothai.provinces() if p.code != "10" for d in geothai.districts(p.code))
    assert expected == 7256
    with loaded.transaction() as s:
        assert add_synthetic_local_layer(s) == expected
    with loaded.transaction() as s:
        assert add_synthetic_local_layer(s) == 0
        unit = get_unit(s, "syn.810101")
        assert (unit.name, unit.level, unit.synthetic) == ("อปท. (สมมติ) ตำบลปากน้ำ", "sao", True)
        assert s.get(Unit, unit.parent_id).key == "amphoe.8101"
        below = select_units(s, "under:amphoe.8101:local")
        assert len(below) == len(geothai.subdistricts("8101")) + 1  # and เทศบาลเมืองกระบี่
        assert len(select_units(s, "all:local")) == 76 + 6 + expected


def test_synthetic_layer_needs_the_skeleton(db: Database) -> None:
    with db.transaction() as s, pytest.raises(DirectoryError, match="skeleton"):
        add_synthetic_local_layer(s)


# ------------------------------------------------------------------------------------------- selectors


def test_selectors(loaded: Database) -> None:
    krabi_districts = [f"amphoe.810{i}" for i in range(1, 9)]
    with loaded.transaction() as s:
        assert len(select_units(s, "all:province_office")) == 76
        assert select_units(s, "ทุกจังหวัด") == select_units(s, "all:province_office")
        assert len(select_units(s, "all:ที่ว่าการอำเภอ")) == 878
        assert keys(select_units(s, "province:กระบี่:district_office")) == krabi_districts
        assert keys(select_units(s, "province:81:ที่ว่าการอำเภอ")) == krabi_districts
        assert keys(select_units(s, "province:Krabi:pao")) == ["pao.81"]
        assert keys(select_units(s, "province:จังหวัดกระบี่")) == [*krabi_districts, "muni.8101.krabi", "pao.81",
                                                               "prov.81"]
        assert keys(select_units(s, "children:prov.81")) == [*krabi_districts, "pao.81"]
        assert keys(select_units(s, "children:prov.81:pao")) == ["pao.81"]
        assert keys(select_units(s, "under:prov.81:local")) == ["muni.8101.krabi", "pao.81"]
        assert len(select_units(s, "under:dla")) == 9 + 1 + 76 * 2 + 878 + 6
        assert len(select_units(s, "under:dla:district_office")) == 878
        assert keys(select_units(s, "under:dla.env")) == ["dla.env.2"]
        # the Krabi circular of field-examples §1.4: all districts, the PAO and the town
        assert keys(select_units(s, " province:กระบี่:district_office , pao.81,muni.8101.krabi,pao.81")) == [
            *krabi_districts, "muni.8101.krabi", "pao.81"]
        assert keys(select_units(s, "mt,dla.env.2")) == ["dla.env.2", "mt"]


@pytest.mark.parametrize(("selector", "message"), [
    ("amphoe.810", "did you mean amphoe.8101"),
    ("prov.99", "unknown unit 'prov.99'"),
    ("all:amphur", "unknown level 'amphur'"),
    ("under:prov.81:nowhere", "unknown level"),
    ("province:Atlantis:pao", "unknown province 'Atlantis'"),
    ("province:กระบี:pao", "did you mean กระบี่"),
    ("nearby:prov.81", "unknown selector rule 'nearby'"),
    ("children:", "missing the argument"),
    (" , ", "empty selector"),
])
def test_selector_errors(loaded: Database, selector: str, message: str) -> None:
    with loaded.transaction() as s, pytest.raises(DirectoryError, match=message):
        select_units(s, selector)


def test_get_unit_suggests_by_name(loaded: Database) -> None:
    with loaded.transaction() as s, pytest.raises(DirectoryError) as e:
        get_unit(s, "กระบี่")
    assert "did you mean prov.81" in str(e.value)


def test_find_province_and_letter_codes() -> None:
    assert find_province("กรุงเทพมหานคร").abbr == "กท"
    assert find_province("สระบุรี").abbr == "สบ"
    assert find_province("นครราชสีมา").code == "30"
    assert normalize_letter_code("มท๐๘๒๐.๒") == "มท 0820.2"
    with pytest.raises(DirectoryError, match="bad letter code"):
        normalize_letter_code("0820.2")


# ------------------------------------------------------------------------------------------- imports

GOOD_CSV = """\
# local administrations of Krabi, for the test
key,name,level,parent,letter_code,email,phone,address,sender_name,short_name
sao.810102,องค์การบริหารส่วนตำบลกระบี่ใหญ่,sao,amphoe.8101,กบ ๗๓๖๐๑,saraban@kby.example.go.th,075 000,,,อบต.กบใหญ่
muni.8101.aonang,เทศบาลตำบลอ่าวนาง,เทศบาลตำบล,amphoe.8101,,,,"ตำบลอ่าวนาง, อำเภอเมืองกระบี่",,ทต.อ่าวนาง
muni.8101.aonang.env,กองสาธารณสุขและสิ่งแวดล้อม,division,muni.8101.aonang,,,,,เทศบาลตำบลอ่าวนาง,
"""

GOOD_YAML = """\
- key: sao.700502
  name: องค์การบริหารส่วนตำบลท่าผา
  level: อบต.
  parent: amphoe.7005
  email: saraban@thapha.example.go.th
- key: project.tls
  name: โครงการท้องถิ่นนำร่องลดมลพิษและสร้างสุขภาวะที่ดีในพื้นที่อุตสาหกรรม
  level: other
  letter_code: ทลส. 001
  letter_code_certain: false
"""


def test_import_csv(loaded: Database, tmp_path: Path) -> None:
    before = unit_count(loaded)
    path = write(tmp_path, "krabi.csv", GOOD_CSV)
    with loaded.transaction() as s:
        report = import_units(s, path)
    assert report.created == ["sao.810102", "muni.8101.aonang", "muni.8101.aonang.env"]
    assert unit_count(loaded) == before + 3
    with loaded.transaction() as s:
        sao = get_unit(s, "sao.810102")
        assert (sao.letter_code, sao.letter_code_certain) == ("กบ 73601", True)
        assert (sao.province_code, sao.email) == ("81", "saraban@kby.example.go.th")
        assert sao.short_name == "อบต.กบใหญ่"
        aonang = get_unit(s, "muni.8101.aonang")
        assert (aonang.level, aonang.address) == ("subdistrict_municipality", "ตำบลอ่าวนาง, อำเภอเมืองกระบี่")
        division = get_unit(s, "muni.8101.aonang.env")
        assert (division.parent_id, division.province_code) == (aonang.id, "81")
        assert division.printed_sender == "เทศบาลตำบลอ่าวนาง"
        assert keys(select_units(s, "under:amphoe.8101:local")) == ["muni.8101.aonang", "muni.8101.krabi",
                                                                   "sao.810102"]
    # the same file again: nothing changes
    with loaded.transaction() as s:
        again = import_units(s, path)
    assert (again.created, again.updated) == ([], [])
    assert again.unchanged == report.created
    assert unit_count(loaded) == before + 3


def test_import_yaml(loaded: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "units.yaml", GOOD_YAML)
    with loaded.transaction() as s:
        report = import_units(s, path)
        assert report.created == ["sao.700502", "project.tls"]
        project = get_unit(s, "project.tls")
        assert project.parent_id is None
        assert (project.letter_code, project.letter_code_certain) == ("ทลส. 001", False)
        assert get_unit(s, "sao.700502").province_code == "70"
    with loaded.transaction() as s:
        assert import_units(s, path).unchanged == ["sao.700502", "project.tls"]


BAD_CSV = """\
key,name,level,parent,letter_code,email,phone,address,sender_name,short_name
sao.810102,องค์การบริหารส่วนตำบลกระบี่ใหญ่,sao,amphoe.8101,,saraban@krabiyai,,,,
sao.810103,องค์การบริหารส่วนตำบลกระบี่น้อย,sao,amphoe.9999,,,,,,
sao.810105,,sao,amphoe.8101,,,,,,
sao.810106,องค์การบริหารส่วนตำบลเขาทอง,village,amphoe.8101,,,,,,
sao.810106,องค์การบริหารส่วนตำบลเขาทอง,sao,amphoe.8101,,,,,,
sao.810111,องค์การบริหารส่วนตำบลทับปริก,sao,amphoe.8101,,,,,
muni.8101.aonang.env,กองสาธารณสุขและสิ่งแวดล้อม,division,muni.8101.aonang,,,,,,
muni.8101.aonang,เทศบาลตำบลอ่าวนาง,subdistrict_municipality,amphoe.8101,,,,,,
,ไม่มีรหัส,sao,amphoe.8101,,,,,,
sao 810115,องค์การบริหารส่วนตำบลไสไทย,sao,amphoe.8101,1234,,,,,
prov.81,สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่,province_office,dla,กบ 0023,,,,,
sao.810116,องค์การบริหารส่วนตำบลอ่าวนาง,sao,amphoe.8101,,,,,,
"""


def test_import_csv_reports_every_bad_row_and_imports_nothing(loaded: Database, tmp_path: Path) -> None:
    before = snapshot(loaded)
    with loaded.transaction() as s, pytest.raises(DirectoryImportError) as e:
        import_units(s, write(tmp_path, "bad.csv", BAD_CSV))
    problems = e.value.problems
    expected = [
        ("line 2:", "bad e-mail 'saraban@krabiyai'"),
        ("line 3:", "unknown parent 'amphoe.9999'"),
        ("line 4:", "missing name"),
        ("line 5:", "unknown level 'village'"),
        ("line 6:", "key 'sao.810106' is already on line 5"),
        ("line 7:", "9 fields, expected 10"),
        ("line 8:", "parent 'muni.8101.aonang' comes later (line 9)"),
        ("line 10:", "missing key"),
        ("line 11:", "bad key 'sao 810115'"),
        ("line 11:", "bad letter code '1234'"),
        ("line 12:", "'prov.81' is already in the directory with other data "
                     "(letter_code 'กบ 0023.6' → 'กบ 0023'"),
    ]
    for line, message in expected:
        assert any(p.startswith(line) and message in p for p in problems), (line, message, problems)
    assert len(problems) == len(expected)
    assert not any(p.startswith(("line 9:", "line 13:")) for p in problems)  # good rows are not reported
    assert "nothing imported" in str(e.value)
    assert snapshot(loaded) == before


BAD_YAML = """\
- key: sao.700502
  name: องค์การบริหารส่วนตำบลท่าผา
  level: sao
  parent: amphoe.7005
  email: not an e-mail
- just a string
- key: sao.700503
  name: องค์การบริหารส่วนตำบลกรับใหญ่
  level: sao
  parent: amphoe.7050
  colour: blue
- key: sao.700504
  name: [a, list]
  level: sao
  parent: amphoe.7005
"""


def test_import_yaml_reports_every_bad_row_and_imports_nothing(loaded: Database, tmp_path: Path) -> None:
    before = snapshot(loaded)
    with loaded.transaction() as s, pytest.raises(DirectoryImportError) as e:
        import_units(s, write(tmp_path, "bad.yaml", BAD_YAML))
    problems = e.value.problems
    assert any(p.startswith("line 1:") and "bad e-mail 'not an e-mail'" in p for p in problems), problems
    assert any(p.startswith("line 6:") and "expected a mapping" in p for p in problems), problems
    assert any(p.startswith("line 7:") and "unknown field 'colour'" in p for p in problems), problems
    assert any(p.startswith("line 7:") and "unknown parent 'amphoe.7050'; did you mean amphoe.7005" in p
               for p in problems), problems
    assert any(p.startswith("line 12:") and "name must be a single value" in p for p in problems), problems
    assert snapshot(loaded) == before


@pytest.mark.parametrize(("name", "content", "message"), [
    ("x.csv", "key,name,level,colour\n", "line 1: unknown column(s) colour"),
    ("x.csv", "key,name,parent\n", "line 1: missing column(s) level"),
    ("x.csv", "", "no header row"),
    ("x.csv", 'key,name,level\n"sao.1,"x\n', "fields"),
    ("x.yaml", "key: sao.1\n", "expected a list of units"),
    ("x.yaml", "- key: [unclosed\n", "not valid YAML"),
])
def test_import_malformed_files(loaded: Database, tmp_path: Path, name: str, content: str,
                                message: str) -> None:
    with loaded.transaction() as s, pytest.raises(DirectoryImportError) as e:
        import_units(s, write(tmp_path, name, content))
    assert message in str(e.value)


def test_import_wrong_file_type(loaded: Database, tmp_path: Path) -> None:
    with loaded.transaction() as s, pytest.raises(DirectoryError, match=r"\.csv, \.yaml"):
        import_units(s, write(tmp_path, "units.xlsx", "x"))


def test_import_update(loaded: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "emails.csv", "key,name,level,email\n"
                 "amphoe.8101,ที่ว่าการอำเภอเมืองกระบี่,district_office,saraban@muang.example.go.th\n")
    with loaded.transaction() as s, pytest.raises(DirectoryImportError, match="--update"):
        import_units(s, path)
    with loaded.transaction() as s:
        assert import_units(s, path, update=True).updated == ["amphoe.8101"]
    with loaded.transaction() as s:
        amphoe = get_unit(s, "amphoe.8101")
        assert amphoe.email == "saraban@muang.example.go.th"
        assert (amphoe.letter_code, amphoe.parent_id) == ("กบ 8101", get_unit(s, "prov.81").id)  # untouched
        assert import_units(s, path).unchanged == ["amphoe.8101"]


def test_import_cannot_put_a_unit_below_itself(loaded: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "loop.csv", "key,name,level,parent\n"
                 "prov.81,สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่,province_office,amphoe.8101\n")
    with loaded.transaction() as s, pytest.raises(DirectoryImportError, match="cannot be under itself"):
        import_units(s, path, update=True)
    with loaded.transaction() as s, pytest.raises(DirectoryError, match="cannot be under itself"):
        update_unit(s, "dla", parent="amphoe.8101")


def test_update_unit(loaded: Database) -> None:
    with loaded.transaction() as s:
        unit = update_unit(s, "pao.81", letter_code="กบ ๕๑๐๐๑", letter_code_certain=True,
                           email="x@pao.example")
        assert (unit.letter_code, unit.letter_code_certain, unit.email) == ("กบ 51001", True, "x@pao.example")
        update_unit(s, "pao.81", email=None)
        assert unit.email is None
        with pytest.raises(DirectoryError, match="bad e-mail"):
            update_unit(s, "pao.81", email="nobody")
        with pytest.raises(DirectoryError, match="unknown unit 'pao.811'"):
            update_unit(s, "pao.811", email="x@pao.example")
        with pytest.raises(DirectoryError, match="cannot set colour"):
            update_unit(s, "pao.81", colour="blue")


# ------------------------------------------------------------------------------------------- the tree, CLI


def test_tree(loaded: Database) -> None:
    with loaded.transaction() as s:
        tree = render_tree(s, "prov.81")
        whole = render_tree(s, depth=1)
    lines = tree.splitlines()
    assert lines[0] == "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่  [prov.81]  province_office  ที่ กบ 0023.6"
    assert "├─ ที่ว่าการอำเภอเมืองกระบี่  [amphoe.8101]  district_office  ที่ กบ 8101 ?" in lines
    assert "│  └─ เทศบาลเมืองกระบี่  [muni.8101.krabi]  town_municipality" in lines
    assert lines[-2] == "└─ องค์การบริหารส่วนจังหวัดกระบี่  [pao.81]  pao  ที่ กบ 51001 ?"
    assert lines[-1].startswith("? = letter code not known for certain")
    assert "└─ กรมส่งเสริมการปกครองท้องถิ่น  [dla]  department  (+1046 below" in whole
    assert "กระทรวงมหาดไทย  [mt]  ministry" in whole.splitlines()


def cli(db_url: str, *args: str):
    return CliRunner().invoke(app, list(args), env={"SARABAN_DATABASE_URL": db_url})


def test_cli_show_loads_the_directory_and_prints_a_tree(db_url: str) -> None:
    result = cli(db_url, "show", "prov.81", "--depth", "1")
    assert result.exit_code == 0, result.output
    assert "Loaded the built-in directory" in result.stderr
    assert "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดกระบี่  [prov.81]" in result.stdout
    assert "├─ ที่ว่าการอำเภอเมืองกระบี่  [amphoe.8101]  district_office  ที่ กบ 8101 ?  (+1 below" in result.stdout
    assert "เทศบาลเมืองกระบี่" not in result.stdout  # below the depth
    result = cli(db_url, "show")
    assert result.exit_code == 0, result.output
    assert "Loaded" not in result.stderr
    assert "[dla.env]" in result.stdout and "[prov.81]" in result.stdout
    assert "[amphoe.8101]" not in result.stdout


def test_cli_show_unknown_unit(db_url: str) -> None:
    result = cli(db_url, "show", "prov.811")
    assert result.exit_code == 2
    assert "unknown unit 'prov.811'; did you mean prov.81" in result.stderr


def test_cli_import(db_url: str, tmp_path: Path) -> None:
    bad = cli(db_url, "import", str(write(tmp_path, "bad.csv", BAD_CSV)))
    assert bad.exit_code == 2
    assert "11 problem(s), nothing imported" in bad.stderr
    assert "  - line 3: unknown parent 'amphoe.9999'" in bad.stderr
    good = cli(db_url, "import", str(write(tmp_path, "good.csv", GOOD_CSV)))
    assert good.exit_code == 0, good.output
    assert "3 created, 0 updated, 0 unchanged" in good.stdout
    again = cli(db_url, "import", str(write(tmp_path, "good.csv", GOOD_CSV)))
    assert "0 created, 0 updated, 3 unchanged" in again.stdout
    missing = cli(db_url, "import", str(tmp_path / "nowhere.csv"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_cli_select_set_and_load_skeleton(db_url: str) -> None:
    result = cli(db_url, "load-skeleton")
    assert result.exit_code == 0, result.output
    assert "1069 unit(s) added" in result.stdout and "district_office: 878" in result.stdout
    result = cli(db_url, "select", "province:กระบี่:district_office,pao.81")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "amphoe.8101\tที่ว่าการอำเภอเมืองกระบี่"
    assert "9 unit(s)" in result.stderr
    result = cli(db_url, "set", "amphoe.8101", "--letter-code", "กบ ๐๐๑๘", "--uncertain")
    assert result.exit_code == 0, result.output
    assert "ที่ กบ 0018 ?" in result.stdout
    result = cli(db_url, "set", "amphoe.8101", "--email", "bad")
    assert result.exit_code == 2 and "bad e-mail" in result.stderr
    assert cli(db_url, "select", "all:nothing").exit_code == 2
