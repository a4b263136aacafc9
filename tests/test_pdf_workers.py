"""The LibreOffice worker pool: as many conversions at once as SARABAN_PDF_WORKERS, each LibreOffice with a
profile of its own, a conversion taking a free one (or waiting for one); one call's files shared among the
workers. Real LibreOffice; what is asserted is what LibreOffice made (profiles, PDFs), never a timing."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from saraban.kernel.settings import SettingsError, load_settings
from saraban.letters.paper.pdf import docx_to_pdf, free_profile
from saraban.letters.render import render_docx_bytes
from saraban.letters.spec import parse_spec
from tests.conftest import example_dict

LETTERS = {"01-project-letter": "ส่งมอบคู่มือท้องถิ่น", "03-department-circular": "ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔"}


def used(profile: Path) -> bool:
    """LibreOffice ran on this profile: it writes its user folder there on its first start."""
    return (profile / "user").is_dir()


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def pool(data_dir: Path, tmp_path_factory):
    """Two workers with fresh profiles in a data folder of their own, and the two letters as .docx files."""
    folder = tmp_path_factory.mktemp("pool")
    settings = dataclasses.replace(load_settings(), data_dir=folder / "data", pdf_workers=2)
    docs = []
    for name in LETTERS:
        docs.append(folder / f"{name}.docx")
        docs[-1].write_bytes(render_docx_bytes(parse_spec(example_dict(name)), settings))
    return settings, docs


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    """A machine of two cores (two profiles), whatever this one has."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def test_processes_of_one_worker_each_take_a_profile_each(pool):
    """Dask workers run one LibreOffice each (SARABAN_PDF_WORKERS=1): the second finds the machine's other
    profile free, it does not wait for the first's."""
    settings = dataclasses.replace(pool[0], pdf_workers=1)
    with free_profile(settings) as first, free_profile(settings) as second:
        assert {first, second} == {settings.libreoffice_profile(0), settings.libreoffice_profile(1)}


def convert_in_thread(docs: list[Path], out: Path, settings) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(docx_to_pdf(docs, out, settings)))
    thread.start()
    return thread, result


def test_a_conversion_takes_the_free_profile_and_waits_when_all_are_taken(pool, tmp_path):
    settings, docs = pool
    profiles = [settings.libreoffice_profile(i) for i in range(2)]
    with ExitStack() as held:
        taken = [held.enter_context(free_profile(settings)) for _ in profiles]
        assert sorted(taken) == profiles  # two holders, two profiles
        thread, result = convert_in_thread(docs[:1], tmp_path / "a", settings)
        thread.join(2)
        assert thread.is_alive() and not any(used(p) for p in profiles)  # every profile taken: it waits
        held.close()  # both free again: it goes on
        thread.join(120)
    assert not thread.is_alive() and LETTERS["01-project-letter"] in " ".join(pdf_text(result[0][0]).split())

    # Another LibreOffice holds one profile: the conversion runs beside it, on the other.
    for profile in profiles:
        shutil.rmtree(profile)
    with free_profile(settings) as busy:
        thread, result = convert_in_thread(docs[1:], tmp_path / "b", settings)
        thread.join(120)
        assert not thread.is_alive()
        (other,) = [p for p in profiles if p != busy]
        assert used(other) and not used(busy)
    assert "ที่ มท ๐๘๒๐.๒/ว ๑๑๔๔" in " ".join(pdf_text(result[0][0]).split())


def test_one_call_shares_its_files_among_the_workers(pool, tmp_path):
    settings, docs = pool
    for profile in (settings.libreoffice_profile(i) for i in range(2)):
        shutil.rmtree(profile, ignore_errors=True)
    pdfs = docx_to_pdf(docs, tmp_path, settings)
    assert all(used(settings.libreoffice_profile(i)) for i in range(2))  # two LibreOffice instances, one each
    for pdf, expected in zip(pdfs, LETTERS.values(), strict=True):
        assert expected in " ".join(pdf_text(pdf).split()), pdf.name


@pytest.mark.parametrize("value", ["0", "1.5", "many", "65"])
def test_a_worker_count_that_cannot_work_is_refused(monkeypatch, value):
    monkeypatch.setenv("SARABAN_PDF_WORKERS", value)
    with pytest.raises(SettingsError, match="SARABAN_PDF_WORKERS"):
        load_settings()


def test_the_workers_default_to_the_cores(monkeypatch):
    import os

    monkeypatch.delenv("SARABAN_PDF_WORKERS", raising=False)
    assert load_settings().pdf_workers == (os.cpu_count() or 1)
    monkeypatch.setenv("SARABAN_PDF_WORKERS", "3")
    assert load_settings().pdf_workers == 3
