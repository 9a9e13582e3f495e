"""Participants of the six party types: registration and profile changes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, HttpUrl

from services.listing.domain.common import Conflict, new_id
from services.listing.domain.validation import FieldCodes, RegionCode, RequestModel, Title
from shared.events.common import Language
from shared.events.listing import ParticipantData
from shared.party_types import ORGANISER_TYPES, PartyType

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


class OrganiserDecision(RequestModel):
    """An operator's decision on a participant's organiser role, with the reason kept on record."""

    granted: bool
    reason: str = Field(min_length=3, max_length=500)


def decide_organiser(current: ParticipantData, decision: OrganiserDecision) -> ParticipantData:
    """The participant with the organiser role granted or revoked. Only government and agency
    participants may host sessions; asking twice for the state it is in is a conflict."""
    if decision.granted and current.party_type not in ORGANISER_TYPES:
        raise Conflict(f"a {current.party_type.value} participant cannot be an organiser "
                       "(only government and agency participants)",
                       "仅政府和技术转移机构参与方可被授予组织方角色")
    if current.organiser == decision.granted:
        state = "already" if decision.granted else "not"
        raise Conflict(f"participant {current.id} is {state} an organiser",
                       f"参与方 {current.id} {'已是' if decision.granted else '并非'}组织方")
    return current.model_copy(update={"organiser": decision.granted, "organiser_reason": decision.reason,
                                       "version": current.version + 1})


def public_profile(participant: ParticipantData) -> dict[str, object]:
    """What any signed-in caller may see of someone else: who they are, never how to reach them."""
    return participant.model_dump(mode="json", include=set(PUBLIC_FIELDS))


PUBLIC_FIELDS = frozenset({"id", "party_type", "organisation", "display_name", "region", "fields", "language",
                           "organiser"})
