"""The demo participants' API keys, kept on this machine so that a newcomer can sign in as one of
them and a re-run of the demo (whose sign-ups replay without a key) can sign in again."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hardtech.paths import RUN

DEMO_KEYS = RUN / "demo-keys.json"


class DemoKeys:
    """Participant id → API key, in a file only its owner can read (0600)."""

    def __init__(self, path: Path):
        self.path = path
        self._keys: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def of(self, participant_id: str) -> str | None:
        return self._keys.get(participant_id)

    def keep(self, participant_id: str, api_key: str) -> None:
        self._keys[participant_id] = api_key

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(self._keys, file, indent=1)
