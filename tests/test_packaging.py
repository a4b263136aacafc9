"""The wheel: saraban installed from it (not from a checkout) has everything the core and the demo read.

The wheel is built once from a copy of the source (the checkout is left as it is) and unpacked into a
folder, as ``pip install --target`` would; a fresh interpreter then imports saraban from that folder only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the wheel ships: the packages, and the templates and field examples beside them.
SHIPPED = ("saraban", "workflows", "thai_text", "templates", "examples")
NOT_SHIPPED = {"__pycache__", ".pytest_cache"}


def source_files() -> set[str]:
    """Every file under the shipped folders of the checkout (its bytecode aside), as wheel paths."""
    files = set()
    for top in SHIPPED:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and not NOT_SHIPPED & set(path.parts) and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for top in SHIPPED:
        shutil.copytree(ROOT / top, source / top, ignore=shutil.ignore_patterns(*NOT_SHIPPED, "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    env = os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("saraban-*.whl")
    return path


@pytest.fixture(scope="module")
def site(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed into a folder of its own (a pure wheel: unpacking it is installing it)."""
    folder = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(folder)
    return folder


def test_the_wheel_holds_every_file_of_the_source(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    missing = sorted(source_files() - names)
    assert not missing, f"not in the wheel: {missing}"
    # what the demo and the core read besides code, named so that a lost glob shows here by name
    needed = {"examples/01-project-letter.yaml", "examples/02-department-memo.yaml",
              "examples/03-department-circular.yaml", "examples/programmes/eco-town-2565.yaml",
              "templates/letters/external.docx", "templates/letters/memo.docx", "templates/letters/stamped.docx",
              "templates/letters/attachment.docx", "templates/wording/forward/letter.txt.j2",
              "templates/wording/email/letter_delivery.txt.j2", "examples/krabi-working-group.csv",
              "templates/reports/status.docx", "templates/reports/register.docx", "templates/reports/programme.docx",
              "templates/images/emblem-placeholder.png", "saraban/records/migrations/script.py.mako",
              "saraban/records/migrations/env.py", "saraban/directory/data/central.csv",
              "saraban/directory/data/municipalities.csv"}
    assert needed <= names, sorted(needed - names)
    assert any(n.startswith("saraban/records/migrations/versions/") and n.endswith(".py") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as z:
        assert "saraban = saraban.faces.cli.app:app" in z.read(entry_points).decode()


# Run by a fresh interpreter in an empty folder: where everything resolves from the installed saraban.
PROBE = """
import json, sys
from pathlib import Path

import saraban, thai_text, workflows
from saraban.directory.imports import read_checked
from saraban.directory.skeleton import CENTRAL_FILE, MUNICIPALITIES_FILE
from saraban.kernel.settings import EXAMPLES_DIR, PACKAGE_ROOT, TEMPLATES_DIR, load_settings, template_file
from saraban.letters.spec import load_spec
from saraban.programmes.definitions import load_programme_file
from saraban.records.db import MIGRATIONS, head_revisions, open_database

db = open_database(url="sqlite:///" + sys.argv[1])
with db.engine.connect() as c:
    version = {row[0] for row in c.exec_driver_sql("SELECT version_num FROM alembic_version")}
print(json.dumps({
    "modules": [m.__file__ for m in (saraban, thai_text, workflows)],
    "loaded": sorted({m.__file__ for n, m in sys.modules.items()
                      if n.split(".")[0] in ("saraban", "thai_text", "workflows") and getattr(m, "__file__", None)}),
    "package_root": str(PACKAGE_ROOT),
    "paths": [str(p) for p in (EXAMPLES_DIR, TEMPLATES_DIR, MIGRATIONS, CENTRAL_FILE,
                               template_file(load_settings(), "letters/stamped.docx"), load_settings().emblem)],
    "letters": [load_spec(p).kind for p in sorted(EXAMPLES_DIR.glob("*.yaml"))],
    "programme": load_programme_file(EXAMPLES_DIR / "programmes" / "eco-town-2565.yaml")["key"],
    "units": len(read_checked(CENTRAL_FILE)) + len(read_checked(MUNICIPALITIES_FILE)),
    "migrated": version == head_revisions() != set(),
}))
"""


def test_installed_saraban_finds_its_files_inside_the_install(site: Path, tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    env |= {"PYTHONPATH": str(site), "SARABAN_DATA_DIR": str(empty / "data")}
    run = subprocess.run([sys.executable, "-c", PROBE, str(empty / "saraban.db")], cwd=empty, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    site = site.resolve()
    assert found["loaded"] and found["modules"]
    for module in map(Path, found["modules"] + found["loaded"]):
        assert module.resolve().is_relative_to(site), module  # not the checkout's (editable) saraban
    assert Path(found["package_root"]) == site
    for path in map(Path, found["paths"]):
        assert path.resolve().is_relative_to(site) and path.exists(), path
    assert found["letters"] == ["external", "memo", "stamped", "external", "external", "external", "external"]
    assert found["programme"] == "eco-town-2565"
    assert found["units"] > 0
    assert found["migrated"]
