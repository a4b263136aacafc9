"""Shared fixtures: one data folder per test session (LibreOffice profile, fonts, Prefect home),
the example specs, and the Prefect test server started once for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test writes under one session data folder, never into the project's data/."""
    path = tmp_path_factory.mktemp("data")
    os.environ["SARABAN_DATA_DIR"] = str(path)
    from saraban.kernel.settings import prefect_environment

    os.environ.update(prefect_environment())  # as workflows/__init__ does, before Prefect is imported
    return path


@pytest.fixture
def settings(data_dir: Path):
    from saraban.kernel.settings import load_settings

    return load_settings()


def example_dict(name: str) -> dict:
    """An example spec as the mapping a clerk's YAML gives."""
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def prefect_server(data_dir: Path):
    """Prefect's test server, once per session (it costs ~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
