"""Charts are drawn off-screen in tests, whatever display the machine has."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
