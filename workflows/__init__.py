"""Prefect flows: thin orchestration over saraban/.

Importing this package sets up Prefect for saraban before Prefect itself is imported: a local
ephemeral server whose home is the data folder, analytics off, a startup timeout that a cold start on
two cores fits in. Variables already set in the environment win.
"""

import os
from pathlib import Path

from saraban.kernel.files import make_folder, private_umask
from saraban.kernel.settings import prefect_environment

private_umask()  # the flows' files, and Prefect's own database in the data folder, are private (0600/0700)
for _key, _value in prefect_environment().items():
    os.environ.setdefault(_key, _value)
# Prefect creates its home but not the folders above it (a fresh checkout has no data/ yet).
make_folder(Path(os.environ["PREFECT_HOME"]))
