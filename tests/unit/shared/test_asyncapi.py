from pathlib import Path

from shared.asyncapi import document, render
from shared.events import registry

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


def test_committed_document_is_current():
    assert DOC.read_text() == render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_event_type_has_a_message_and_schema():
    doc = document()
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(registry())
    for model in registry().values():
        assert model.__name__ in doc["components"]["schemas"]
