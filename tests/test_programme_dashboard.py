"""The dashboard's figures (saraban.reports.programme_dashboard) counted in the database are those of the
report counted in Python over the eligible units, on SQLite and PostgreSQL; its filters and lists.

PostgreSQL cases need ``SARABAN_TEST_POSTGRES_URL``; without it they are skipped.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saraban.records.models import Application, Programme, Unit
from saraban.reports.programme_dashboard import (
    DashboardError,
    DashboardFilter,
    dashboard_stamp,
    programme_dashboard,
    read_filter,
)
from saraban.reports.programmes import programme_figures
from tests.dbs import add_unit, directory_db, own_output_settings  # noqa: F401  (the db and settings fixtures)
from tests.test_programme_reports import AT, _data

ELIGIBILITIES = (
    {"levels": ["local"]},
    {"levels": ["municipality", "sao"], "areas": ["ราชบุรี", "amphoe.8101"]},
    {"levels": ["municipality"], "areas": ["สงขลา"]},
    {"levels": ["other", "sao"]},
)


def _programme(session) -> Programme:
    return session.scalar(select(Programme).where(Programme.key == "eco-town-2565"))


@pytest.mark.parametrize("eligible", ELIGIBILITIES)
def test_counted_in_the_database_as_in_python(db, settings, eligible):
    from saraban.programmes.applications import eligible_units

    _data(db)
    # Units the province of which comes from the area code only, Bangkok, none at all; one of them applied.
    area_only = add_unit(db, "test.area", "อบต.ทดสอบรหัสพื้นที่", level="sao", area_code="810199")
    add_unit(db, "test.bkk", "สำนักงานเขตพระนคร", level="other", province_code="10")
    nowhere = add_unit(db, "test.nowhere", "หน่วยงานกลาง", level="other", province_code="")
    with db.transaction() as s:
        programme = _programme(s)
        programme.definition = {**programme.definition, "eligible": eligible}
        for unit_id in (area_only, nowhere):
            s.add(Application(programme_id=programme.id, unit_id=unit_id, contact={}, submitted_at=AT, updated_at=AT))
    with db.reading() as s:
        programme = _programme(s)
        in_python = programme_figures(s, programme, eligible_units(s, programme), at=AT)
        in_sql = programme_figures(s, programme, at=AT)
        view = programme_dashboard(s, programme)
    assert in_sql == in_python
    assert in_sql.eligible_total > 0
    # The dashboard, unfiltered, has the report's figures.
    assert view.map.provinces == in_sql.provinces and view.coverage.levels == in_sql.levels
    assert (view.coverage.eligible_total, view.coverage.applicants_total, view.coverage.eligible_applicants) == (
        in_sql.eligible_total, in_sql.applicants_total, in_sql.eligible_applicants)
    assert view.map.missing_provinces == in_sql.missing_provinces
    assert view.provisional_levels == in_sql.provisional_levels
    assert view.reminders_total == len(in_sql.reminders)
    assert view.reminders_by_status == {k: in_sql.reminders_by_status[k] for k in view.reminders_by_status}
    assert view.applications.total == in_sql.applicants_total
    assert {a.id for a in view.applications.items} <= set(range(1, 10_000))
    assert view.waiting.total == in_sql.eligible_total - in_sql.eligible_applicants
    applied = {a.unit_key for a in in_sql.applications}
    assert not {u.key for u in view.waiting.items} & applied
    assert sorted(view.tiles, key=lambda p: p.code) == [p for p in in_sql.provinces if p.code]


def test_filters_narrow_the_figures_and_the_lists(db, settings):
    data = _data(db)
    with db.reading() as s:
        programme = _programme(s)
        eligible = list(s.scalars(select(Unit).where(Unit.key.in_(data.eligible_keys))))
        whole = programme_figures(s, programme, eligible, at=AT)
        programme.definition = {**programme.definition, "eligible": {"levels": ["local"]}}
        krabi = programme_dashboard(s, programme, read_filter("กระบี่", None), per_page=2)
        towns = programme_dashboard(s, programme, read_filter(None, "ทม."))
    # Krabi: the map keeps every province; the rest is Krabi's.
    assert len(krabi.map.provinces) == len(whole.provinces)
    assert [p.code for p in krabi.coverage.provinces if p.applicants] == ["81"]
    assert krabi.coverage.applicants_total == 2 and krabi.applications.total == 2
    assert len(krabi.applications.items) == 2 and krabi.applications.pages == 1
    assert krabi.waiting.total == krabi.coverage.eligible_total - 2 and len(krabi.waiting.items) == 2
    assert all(u.province_name == "กระบี่" for u in krabi.waiting.items)
    assert krabi.reminders_total == 1  # the deadline reminder of เทศบาลเมืองกระบี่
    # Town municipalities: the level table has that level only, the map follows it.
    assert [lv.level for lv in towns.coverage.levels] == ["town_municipality"]
    assert towns.map.provinces_covered == 1 and towns.applications.total == 1
    assert all(a.level == "town_municipality" for a in towns.applications.items)


def test_read_filter():
    assert read_filter(None, None) == DashboardFilter() and not read_filter(" ", "").active
    assert read_filter("81", None).province == "81"
    assert read_filter("จังหวัดกระบี่", None).province == "81" and read_filter("Krabi", None).province == "81"
    assert read_filter(None, "อบต.").levels == ("sao",)
    assert read_filter(None, "เทศบาล").levels == ("city_municipality", "town_municipality",
                                                  "subdistrict_municipality")
    with pytest.raises(DashboardError, match="ไม่พบจังหวัด 'กระบี'.*did you mean กระบี่"):
        read_filter("กระบี", None)
    with pytest.raises(DashboardError, match="ไม่รู้จักระดับหน่วยงาน 'หมู่บ้าน'.*องค์การบริหารส่วนตำบล"):
        read_filter(None, "หมู่บ้าน")
    with pytest.raises(DashboardError, match="ยาวเกินไป"):
        read_filter("ก" * 5000, None)


def test_the_stamp_changes_with_an_application(db, settings):
    _data(db)
    with db.reading() as s:
        before = dashboard_stamp(s, _programme(s))
    with db.transaction() as s:
        programme = _programme(s)
        unit = s.scalar(select(Unit).where(Unit.key == "muni.1913.naphralan"))
        s.add(Application(programme_id=programme.id, unit_id=unit.id, contact={}, submitted_at=AT, updated_at=AT))
    with db.reading() as s:
        assert dashboard_stamp(s, _programme(s)) != before
