"""Participants of the six party types: registration and profile changes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, HttpUrl

from services.listing.domain.common import new_id
from services.listing.domain.validation import FieldCodes, RegionCode, RequestModel, Title
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.party_types import PartyType

Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WebhookUrl = Annotated[HttpUrl, Field(max_length=2000)]


class ParticipantIn(RequestModel):
    party_type: PartyType
    organisation: Title
    display_name: Title
    region: RegionCode
    fields: FieldCodes = []
    language: Language = Language.ZH_CN
    email: Email | None = None
    webhook_url: WebhookUrl | None = None


class ParticipantPatch(RequestModel):
    """Changes to one's own profile: given fields replace, ``null`` clears e-mail or webhook.
    The party type is fixed at registration, because it decides the roles."""

    # Absent means unchanged; these cannot be cleared, so null is not an accepted value.
    organisation: Title = None  # type: ignore[assignment]
    display_name: Title = None  # type: ignore[assignment]
    region: RegionCode = None  # type: ignore[assignment]
    fields: FieldCodes = None  # type: ignore[assignment]
    language: Language = None  # type: ignore[assignment]
    email: Email | None = None
    webhook_url: WebhookUrl | None = None


def register(request: ParticipantIn) -> ParticipantData:
    return ParticipantData.model_validate({**request.model_dump(mode="json"), "id": new_id("p")})


def apply_patch(current: ParticipantData, patch: ParticipantPatch) -> ParticipantData:
    changes = patch.model_dump(mode="json", include=patch.model_fields_set)
    return ParticipantData.model_validate({**current.model_dump(mode="json"), **changes,
                                           "version": current.version + 1})
