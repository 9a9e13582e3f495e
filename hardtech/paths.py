"""Where the project keeps what it installs and runs; all of it under the git-ignored .local/."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("HARDTECH_HOME", ROOT / ".local"))
BIN = LOCAL / "bin"
RUN = LOCAL / "run"  # pid files and logs
DATA = LOCAL / "data"
KAFKA_LIBS = LOCAL / "kafka" / "libs"
INFRA = ROOT / "infra"
