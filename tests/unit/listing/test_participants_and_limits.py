"""Participants' registration and profile rules, and the token endpoint's rate limiter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.listing.domain import participants
from services.listing.domain.participants import ParticipantIn, ParticipantPatch
from services.listing.domain.ratelimit import SlidingWindowLimiter, retry_after_header

BODY = {"party_type": "investor", "organisation": {"en": "Chengdu Hard-Tech Fund"},
        "display_name": {"zh": "投资部"}, "region": "CN-SC.CD", "fields": ["AERO.UAV"],
        "webhook_url": "https://example.com/hook"}


def test_register_and_patch_keep_type_and_bump_version():
    registered = participants.register(ParticipantIn.model_validate(BODY))
    assert registered.id.startswith("p_") and registered.webhook_url == "https://example.com/hook"
    patched = participants.apply_patch(registered, ParticipantPatch.model_validate(
        {"language": "en", "webhook_url": None, "fields": ["AERO"]}))
    assert (patched.version, patched.language, patched.webhook_url, patched.fields) == (2, "en", None, ["AERO"])
    assert patched.party_type == registered.party_type and patched.id == registered.id


@pytest.mark.parametrize(("change", "loc"), [
    ({"party_type": "bank"}, ("party_type",)), ({"region": "Mars"}, ("region",)),
    ({"fields": ["AERO.ROCKET"]}, ("fields",)), ({"email": "no-at-sign"}, ("email",)),
    ({"language": "de"}, ("language",)), ({"webhook_url": "javascript:alert(1)"}, ("webhook_url",)),
    ({"display_name": {}}, ("display_name",)), ({"api_key_hash": "x"}, ("api_key_hash",)),
])
def test_registration_rejects_bad_fields_by_name(change, loc):
    with pytest.raises(ValidationError) as error:
        ParticipantIn.model_validate({**BODY, **change})
    assert loc in [e["loc"] for e in error.value.errors()]


def test_party_type_cannot_be_patched_and_names_cannot_be_cleared():
    for body in ({"party_type": "government"}, {"organisation": None}, {"region": None}):
        with pytest.raises(ValidationError):
            ParticipantPatch.model_validate(body)


def test_sliding_window_allows_the_limit_then_says_how_long_to_wait():
    clock = [100.0]
    limiter = SlidingWindowLimiter(3, 60, clock=lambda: clock[0])
    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    clock[0] = 130.0
    assert limiter.acquire("k") == pytest.approx(30.0)
    assert limiter.acquire("other") == 0.0  # keys are independent
    clock[0] = 160.5
    assert limiter.acquire("k") == 0.0  # the first attempts left the window
    assert retry_after_header(0.2) == "1" and retry_after_header(29.1) == "30"

