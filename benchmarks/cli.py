"""Benchmark: how fast the ``saraban`` command starts.

    .venv/bin/python benchmarks/cli.py [--runs N] [--app MODULE:APP] [--pythonpath DIR]

Each command runs as a fresh Python process (``python -c``, as the ``saraban`` script would), N times
(default 7); the median wall-clock time is reported. Measured in the same run, for comparison: a process
that only imports Typer and Rich (what any Typer command pays before it does anything). The database is a
fresh SQLite file in a temporary SARABAN_DATA_DIR, created (migrated, directory loaded) before timing.
``--app saraban.cli:app --pythonpath /tmp/old`` measures an older checkout the same way. Prints:

    import typer, rich: 140 ms
    --help is 2.1× import typer, rich
    cli: --help 300 ms, directory show 800 ms
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_app(app: str, args: list[str]) -> str:
    """The ``python -c`` program that runs the command line with ``args``, as the console script does."""
    module, _, name = app.partition(":")
    return f"import sys; sys.argv = {['saraban', *args]!r}; from {module} import {name} as app; app()"


def median_ms(program: str, env: dict[str, str], runs: int, cwd: Path = REPO) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", program], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            sys.exit(f"failed ({done.returncode}): {program}\n{done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--app", default="saraban.faces.cli.app:app", help="MODULE:APP of the Typer app")
    parser.add_argument("--pythonpath", help="put this folder first on PYTHONPATH (an older checkout)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="saraban-cli-") as tmp:
        env = os.environ | {"SARABAN_DATA_DIR": str(Path(tmp) / "data"),
                            "SARABAN_DATABASE_URL": f"sqlite:///{Path(tmp) / 'cli.db'}"}
        cwd = REPO  # `python -c` puts the current folder first on sys.path: run an older checkout elsewhere
        if options.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [options.pythonpath, env.get("PYTHONPATH")]))
            cwd = Path(tmp)
        show = ["directory", "show", "prov.81", "--depth", "0"]
        print("creating the database (migrations, the directory) ...", file=sys.stderr, flush=True)
        median_ms(run_app(options.app, show), env, 1, cwd)
        baseline = median_ms("import typer, rich", env, options.runs, cwd)
        help_ms = median_ms(run_app(options.app, ["--help"]), env, options.runs, cwd)
        show_ms = median_ms(run_app(options.app, show), env, options.runs, cwd)
    print(f"import typer, rich: {baseline:.0f} ms")
    print(f"--help is {help_ms / baseline:.1f}× import typer, rich")
    print(f"cli: --help {help_ms:.0f} ms, directory show {show_ms:.0f} ms")


if __name__ == "__main__":
    main()
