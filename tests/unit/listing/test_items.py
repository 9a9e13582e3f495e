"""The rules of offers and needs: who may post what, the life cycle, patches, search terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.listing.domain import items
from services.listing.domain.common import Conflict, Forbidden
from services.listing.domain.items import ItemIn, ItemPatch, ItemQuery
from shared.events.listing import ItemStatus
from shared.party_types import Kind, PartyType, Side, may_post

AT = datetime(2026, 5, 1, tzinfo=UTC)


def request(**overrides) -> ItemIn:
    return ItemIn.model_validate({"kind": "technology", "title": {"zh": "钙钛矿光伏组件"}, "fields": ["ENE.PV"],
                                  **overrides})


def test_create_follows_the_party_type_rule_from_shared():
    for party_type in PartyType:
        for kind in Kind:
            for side in Side:
                body = request(kind=kind.value)
                if may_post(party_type, side, kind):
                    item = items.create(side, "p_1", party_type, body, AT)
                    assert (item.side, item.kind, item.owner_party_type, item.version) == (side, kind, party_type, 1)
                    assert item.id.startswith("l_" if side is Side.OFFER else "d_")
                else:
                    with pytest.raises(Forbidden, match=party_type.value):
                        items.create(side, "p_1", party_type, body, AT)


def test_life_cycle_moves_forward_only():
    item = items.create(Side.OFFER, "p_1", PartyType.UNIVERSITY, request(status="draft"), AT)
    opened = items.apply_patch(item, ItemPatch(status="open"), AT + timedelta(1))
    assert (opened.status, opened.version, opened.created_at, opened.updated_at) == (
        ItemStatus.OPEN, 2, AT, AT + timedelta(1))
    closed = items.apply_patch(opened, ItemPatch(status="closed"), AT)
    for final in (closed, items.withdraw(opened, AT), items.expire(opened, AT)):
        with pytest.raises(Conflict):
            items.apply_patch(final, ItemPatch(trl=3), AT)
        with pytest.raises(Conflict):
            items.withdraw(final, AT)


def test_patch_replaces_given_fields_and_null_clears_optional_ones():
    item = items.create(Side.NEED, "p_1", PartyType.ENTERPRISE,
                        request(trl=5, region="CN-GD.SZ", amount={"min": 1, "max": 2}), AT)
    patched = items.apply_patch(item, ItemPatch.model_validate({"trl": None, "region": "CN-GD", "keywords": ["储能"]}), AT)
    assert (patched.trl, patched.region, patched.keywords, patched.amount) == (None, "CN-GD", ["储能"], item.amount)
    for required in ("title", "fields", "status", "keywords"):
        with pytest.raises(ValidationError) as error:
            ItemPatch.model_validate({required: None})
        assert error.value.errors()[0]["loc"] == (required,)
    with pytest.raises(ValidationError):
        ItemPatch.model_validate({"kind": "capital"})  # the kind is fixed


@pytest.mark.parametrize(("change", "loc"), [
    ({"fields": ["ENE.XX"]}, ("fields",)), ({"trl": 0}, ("trl",)), ({"trl": 10}, ("trl",)),
    ({"amount": {"min": 3, "max": 1}}, ("amount",)), ({"amount": {"max": float("inf")}}, ("amount", "max")),
    ({"region": "CN-ZZ"}, ("region",)), ({"region_preference": ["CN-BJ", "XX"]}, ("region_preference", 1)),
    ({"region": "RS-YRD"}, ("region",)),  # an area is a preference, not where an item is
    ({"region_required": "maybe"}, ("region_required",)),
    ({"title": {"en": "t" * 201}}, ("title", "en")), ({"status": "closed"}, ("status",)),
    ({"expires_at": "2000-01-01T00:00:00Z"}, ("expires_at",)), ({"colour": "red"}, ("colour",)),
])
def test_validation_names_the_bad_field(change, loc):
    with pytest.raises(ValidationError) as error:
        request(**change)
    assert loc in [e["loc"] for e in error.value.errors()]


def test_a_preference_names_regional_strategies_and_transfer_centres_areas_and_may_be_required():
    body = request(region="CN-JS.SZ", region_preference=["RS-JJJ", "RS-YRD", "RS-GBA", "RS-CY", "TTC-EAST", "CN-SC"],
                   region_required=True)
    item = items.create(Side.NEED, "p_1", PartyType.ENTERPRISE, body, AT)
    assert item.region_preference == ["RS-JJJ", "RS-YRD", "RS-GBA", "RS-CY", "TTC-EAST", "CN-SC"]
    assert item.region_required is True
    assert items.apply_patch(item, ItemPatch.model_validate({"region_required": False}), AT).region_required is False


def test_fields_are_deduplicated_and_expiry_normalised_to_utc_milliseconds():
    beijing = timezone(timedelta(hours=8))
    local = (datetime.now(beijing) + timedelta(days=10)).replace(microsecond=123456)
    body = request(fields=["ENE.PV", "ENE.PV", "ENE"], expires_at=local.isoformat())
    assert body.fields == ["ENE.PV", "ENE"]
    assert body.expires_at == local.replace(microsecond=123000) and body.expires_at.tzinfo == UTC


def test_expiry_due_only_for_live_items_past_their_date():
    body = request(expires_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    item = items.create(Side.OFFER, "p_1", PartyType.INSTITUTE, body, AT)
    assert not items.is_due(item, datetime.now(UTC))
    later = datetime.now(UTC) + timedelta(days=2)
    assert items.is_due(item, later) and not items.is_due(items.withdraw(item, AT), later)


def test_search_terms_cover_both_languages_and_keywords():
    item = items.create(Side.OFFER, "p_1", PartyType.UNIVERSITY, request(
        title={"zh": "量子芯片低温测控", "en": "Cryogenic control for quantum chips"}, keywords=["SiC"],
        description={"en": "Used by the lab"}), AT)
    terms = items.search_terms(item)
    assert {"量子", "芯片", "cryogenic", "quantum", "sic", "lab"} <= set(terms) and "the" not in terms
    assert set(items.query_terms("量子芯片")) <= set(terms)


def test_visibility_and_query_scope():
    item = items.create(Side.OFFER, "p_1", PartyType.UNIVERSITY, request(status="draft"), AT)
    assert items.visible_to(item, "p_1", False) and items.visible_to(item, "operator", True)
    assert not items.visible_to(item, "p_2", False)
    with pytest.raises(Forbidden):
        items.require_owner(item, "p_2")
    assert ItemQuery("p_2", False).effective_status() is ItemStatus.OPEN
    assert ItemQuery("p_2", False, status=ItemStatus.DRAFT).owner_only()
    assert not ItemQuery("operator", True, status=ItemStatus.DRAFT).owner_only()
    assert ItemQuery("p_2", False, mine=True).effective_status() is None
