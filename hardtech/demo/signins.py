"""The demo participants' API keys, kept for the web app: ``.local/run/demo-keys.json`` (readable
by its owner only), and the sign-ins printed at the end of ``make demo``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from hardtech.demo.model import Dataset
from hardtech.paths import RUN
from shared.party_types import PartyType

KEYS = RUN / "demo-keys.json"


@dataclass(frozen=True)
class SignIn:
    role: str
    organisation: str
    api_key: str


def kept_keys(path: Path = KEYS) -> dict[str, str]:
    """The API keys an earlier run kept, by participant key: a sign-up replayed on the same stack
    answers without its key, which is shown once."""
    if not path.exists():
        return {}
    return {key: entry["api_key"] for key, entry in json.loads(path.read_text(encoding="utf-8")).items()}


def save_keys(dataset: Dataset, ids: dict[str, str], keys: dict[str, str], path: Path = KEYS) -> None:
    """Every demo participant's id, party type, organisation and API key, in a file only its owner
    may read (the keys sign in as those participants)."""
    entries = {p.key: {"id": ids[p.key], "party_type": p.party_type.value, "organisation": p.organisation.pick("zh"),
                       "api_key": keys[p.key]} for p in dataset.participants if p.key in keys}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was already there with other rights
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(entries, out, ensure_ascii=False, indent=1)


def sign_ins(dataset: Dataset, keys: dict[str, str]) -> list[SignIn]:
    """One investor, one university and the first session's organiser, to look around as."""
    chosen: list[SignIn] = []
    for party_type, role in ((PartyType.INVESTOR, "investor / 投资机构"), (PartyType.UNIVERSITY, "university / 高校")):
        first = next(p for p in dataset.participants if p.party_type is party_type and p.key in keys)
        chosen.append(SignIn(role, first.organisation.pick("zh"), keys[first.key]))
    session = dataset.sessions[0]
    host = next(p for p in dataset.participants if p.key == session.organiser)
    chosen.append(SignIn(f"organiser of {session.title.pick('en')} / {session.title.pick('zh')} 组织方",
                         host.organisation.pick("zh"), keys[host.key]))
    return chosen
