"""Prefect flows: thin orchestration over saraban/.

Importing this package sets up Prefect for saraban before Prefect itself is imported: a local
ephemeral server whose home is the data folder, analytics off, a startup timeout that a cold start on
two cores fits in. Variables already set in the environment win.
"""

import os
from pathlib import Path

from saraban.kernel.settings import prefect_environment

for _key, _value in prefect_environment().items():
    os.environ.setdefault(_key, _value)
# Prefect creates its home but not the folders above it (a fresh checkout has no data/ yet).
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
