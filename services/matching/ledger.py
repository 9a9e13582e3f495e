"""The output ledger: what the worker has sent, per match, consortium and agenda.

Each entry holds a version counter, the content digest, whether the entity is active, and the
data last sent. An output event's id is ``uuid5(entity / version)``, and an output is emitted
only when the processor finds its content changed since the entry, so a replay of handled input
emits nothing new; the adapter records an emission only after Kafka acknowledged it, so a crash
in between re-emits the same event with the same id.

Keys are typed (``MatchKey``, ``DeclineKey``, ``ConsortiumKey``, ``AgendaKey``); in the table
each is stored under the text it has always had (``str(key)``, read back by ``parse_key``), so
the ledgers and event ids of earlier versions are found again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from shared.events import CloudEvent, EventData, new_event
from shared.topics import TopicSpec

SOURCE = "/services/matching"
EVENT_ID_NAMESPACE = uuid.UUID("6f1c8a52-3b7e-5d0a-9c4e-2a8f7b1d6e30")
_CONSORTIUM = "consortium:"
_AGENDA = "agenda:"
_DECLINED_BY = "@"


@dataclass(frozen=True)
class MatchKey:
    match_id: str

    def __str__(self) -> str:
        return self.match_id


@dataclass(frozen=True)
class DeclineKey:
    """A match retracted for one participant who declined it."""

    match_id: str
    participant_id: str

    def __str__(self) -> str:
        return f"{self.match_id}{_DECLINED_BY}{self.participant_id}"


@dataclass(frozen=True)
class ConsortiumKey:
    technology_match_id: str

    def __str__(self) -> str:
        return _CONSORTIUM + self.technology_match_id


@dataclass(frozen=True)
class AgendaKey:
    session_id: str

    def __str__(self) -> str:
        return _AGENDA + self.session_id


LedgerKey = MatchKey | DeclineKey | ConsortiumKey | AgendaKey


def parse_key(text: str) -> LedgerKey:
    """The key a ledger table entry is stored under."""
    if text.startswith(_CONSORTIUM):
        return ConsortiumKey(text.removeprefix(_CONSORTIUM))
    if text.startswith(_AGENDA):
        return AgendaKey(text.removeprefix(_AGENDA))
    if _DECLINED_BY in text:
        match_id, participant_id = text.split(_DECLINED_BY, 1)
        return DeclineKey(match_id, participant_id)
    return MatchKey(text)


def output_event_id(entity: LedgerKey, version: int) -> str:
    """Deterministic id of an output event, so a replay and its notification dedupe."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{entity}/{version}"))


class Digest(str):
    """The digest of an output's content, carrying the content as taken (JSON-ready), so that
    ``Batch.emit`` records that in the ledger instead of serialising the output again."""

    __slots__ = ("plain",)
    plain: dict[str, Any]


def digest(data: BaseModel) -> Digest:
    """Of the output's JSON (the same bytes as ``model_dump_json``): its one serialisation
    besides the event sent."""
    plain = data.model_dump(mode="json")
    content = Digest(hashlib.sha256(to_json(plain)).hexdigest()[:32])
    content.plain = plain
    return content


@dataclass(frozen=True)
class Emission:
    topic: TopicSpec
    key: str
    event: CloudEvent[Any]


@dataclass
class Batch:
    """Emissions of a batch of input events, and the ledger entries to record once Kafka
    acknowledged them; later emissions see the entries of earlier ones."""

    sent: Mapping[str, Any]  # entries of earlier batches sent but not recorded yet
    ledger: Mapping[str, Any]
    emissions: list[Emission] = field(default_factory=list)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, key: LedgerKey) -> dict[str, Any] | None:
        text = str(key)
        # one look-up per layer: each look-up in a faust table reads RocksDB
        return self.pending.get(text) or self.sent.get(text) or self.ledger.get(text)

    def emit(self, topic: TopicSpec, key: str, type_name: str, data: EventData, *, ledger_key: LedgerKey,
             active: bool, content: str, version_of: MatchKey | None = None) -> None:
        """Emit ``data`` and stage its entry; ``version_of``: the entity whose version counter
        the event advances, when it is not ``ledger_key``'s (a per-participant retraction)."""
        previous = self.entry(ledger_key) or {}
        counter = (self.entry(version_of) or {}) if version_of else previous
        version = counter.get("version", 0) + 1
        entry = {**previous, "version": version, "digest": str(content), "active": active,
                 "data": content.plain if isinstance(content, Digest) else data.model_dump(mode="json")}
        event = new_event(type_name, data, source=SOURCE, subject=key,
                          event_id=output_event_id(version_of or ledger_key, version))
        self.pending[str(ledger_key)] = entry
        if version_of:
            self.pending[str(version_of)] = {**counter, "version": version}
        self.emissions.append(Emission(topic, key, event))
