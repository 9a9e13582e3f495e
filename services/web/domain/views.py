"""What the pages show, built from the services' answers: matches ranked with names and score
parts, 422 errors per form field, and form input turned into API bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from services.web.domain import names
from services.web.domain.i18n import error_message, translate

FEATURE_NAMES = ("field", "text", "trl", "amount", "region", "party", "freshness", "conversion")
PRIOR = "conversion"  # a deal-outcome prior: its contribution is the points it adds, or takes (negative)
TEN_THOUSAND = 10_000  # amounts are entered in 万元 (10k CNY) and sent in CNY


@dataclass
class ScorePart:
    label: str
    text: str
    share: float  # the part's contribution as a share of the best possible score, 0..1


@dataclass
class MatchRow:
    match_id: str
    counterpart_id: str
    rank: int
    score: int
    active: bool
    counterpart_name: str
    counterpart_party: str
    mine: str
    theirs: str
    explanation: list[str]
    parts: list[ScorePart] = field(default_factory=list)


def counterpart_of(match: dict[str, Any], me: str) -> dict[str, Any]:
    """The side of a match that is not the viewer's."""
    return match["need"] if match["offer"]["owner_id"] == me else match["offer"]


def counterpart_ids(matches: list[dict[str, Any]], me: str) -> set[str]:
    return {counterpart_of(m, me)["owner_id"] for m in matches}


def mine_of(match: dict[str, Any], me: str) -> dict[str, Any]:
    return match["offer"] if match["offer"]["owner_id"] == me else match["need"]


def match_rows(matches: list[dict[str, Any]], me: str, display: dict[str, str], language: str, *,
               first_rank: int = 1) -> list[MatchRow]:
    """Matches best first, each naming the counterpart (``display`` maps ids to names); the
    first is ranked ``first_rank`` (a later page's)."""
    ranked = sorted(matches, key=lambda m: (m["status"] != "active", -m["score"], m["match_id"]))
    rows = []
    for rank, match in enumerate(ranked, start=first_rank):
        other = counterpart_of(match, me)
        explanation = match["explanation"]["zh" if language == "zh-CN" else "en"]
        rows.append(MatchRow(
            match_id=match["match_id"], counterpart_id=other["owner_id"], rank=rank, score=round(match["score"] * 100),
            active=match["status"] == "active",
            counterpart_name=display.get(other["owner_id"]) or translate(language, "unknown.participant"),
            counterpart_party=names.party_name(other["party_type"], language),
            mine=names.text(mine_of(match, me)["title"], language), theirs=names.text(other["title"], language),
            explanation=list(explanation), parts=score_parts(match["features"], language)))
    return rows


def score_parts(features: list[dict[str, Any]], language: str) -> list[ScorePart]:
    parts = []
    for feature in features:
        name = feature["name"]
        label = translate(language, f"feature.{name}") if name in FEATURE_NAMES else name
        if name == PRIOR:
            parts.append(ScorePart(label=label, share=max(0.0, feature["contribution"]), text=translate(
                language, "matches.part_conversion", name=label, points=f"{feature['contribution'] * 100:+.1f}",
                bound=f"{feature['weight'] * 100:g}")))
            continue
        parts.append(ScorePart(label=label, share=feature["contribution"], text=translate(
            language, "matches.part", name=label, value=round(feature["value"] * 100),
            weight=round(feature["weight"] * 100), contribution=f"{feature['contribution'] * 100:.1f}")))
    return parts


def feedback_body(form: dict[str, Any]) -> dict[str, Any]:
    """The answer to a match: accept, or decline with a reason and an optional comment."""
    body: dict[str, Any] = {"decision": form.get("decision")}
    if body["decision"] == "decline":
        body["reason"] = form.get("reason") or None
        comment = (form.get("comment") or "").strip()
        if comment:
            body["comment"] = comment
    return body


def field_errors(detail: Any, language: str) -> dict[str, str]:
    """A 422 body's ``detail`` as {form field: message}; what names no field is under ""."""
    errors: dict[str, str] = {}
    if not isinstance(detail, list):
        errors[""] = error_message({"msg": str(detail)}, language)
        return errors
    for entry in detail:
        loc = [str(part) for part in entry.get("loc", []) if part not in ("body", "query")]
        # title.zh -> title_zh; fields.0 -> fields; amount.min -> amount_min
        key = "_".join(p for p in loc if not p.isdigit()) if loc else ""
        errors.setdefault(key, error_message(entry, language))
    return errors


def at_chinese_box(errors: dict[str, str], *texts: str) -> dict[str, str]:
    """An error about a whole bilingual text is shown at its Chinese box."""
    moved = dict(errors)
    for name in texts:
        if name in moved:
            moved.setdefault(f"{name}_zh", moved.pop(name))
    return moved


def item_errors(errors: dict[str, str]) -> dict[str, str]:
    return at_chinese_box(errors, "title", "description")


def signup_errors(errors: dict[str, str]) -> dict[str, str]:
    return at_chinese_box(errors, "organisation", "display_name")


@dataclass
class SignupForm:
    errors: dict[str, str]
    body: dict[str, Any]


def signup_form(form: dict[str, Any], language: str) -> SignupForm:
    """The sign-up form as the body of listing's POST /participants; a name needs one language at
    least (told here, the API would name the whole text)."""
    body = {
        "party_type": form.get("party_type") or None,
        "organisation": localized(form.get("organisation_zh"), form.get("organisation_en")),
        "display_name": localized(form.get("display_name_zh"), form.get("display_name_en")),
        "region": form.get("region") or None, "fields": form.get("fields") or [],
        "language": form.get("language") or language, "email": (form.get("email") or "").strip() or None,
    }
    errors = {f"{name}_zh": translate(language, "signup.one_language")
              for name in ("organisation", "display_name") if body[name] is None}
    return SignupForm(errors, body)


@dataclass
class ItemForm:
    """An offer or need form as typed, its errors, and the body for the listing API."""

    values: dict[str, Any]
    errors: dict[str, str]

    @property
    def body(self) -> dict[str, Any]:
        v = self.values
        body: dict[str, Any] = {
            "fields": list(v.get("fields") or []),
            "keywords": [k.strip() for k in (v.get("keywords") or "").replace("，", ",").split(",") if k.strip()],
        }
        if v.get("kind"):
            body["kind"] = v["kind"]
        title = localized(v.get("title_zh"), v.get("title_en"))
        if title is not None:  # absent: the API names it as required
            body["title"] = title
        description = localized(v.get("description_zh"), v.get("description_en"))
        body["description"] = description
        body["trl"] = v.get("trl")
        body["region"] = v.get("region") or None
        low, high = v.get("amount_min"), v.get("amount_max")
        body["amount"] = None if low is None and high is None else {
            "min": None if low is None else low * TEN_THOUSAND, "max": None if high is None else high * TEN_THOUSAND}
        return body


def localized(zh: str | None, en: str | None) -> dict[str, str] | None:
    value = {k: v.strip() for k, v in (("zh", zh), ("en", en)) if v and v.strip()}
    return value or None


def item_form(form: dict[str, Any], language: str) -> ItemForm:
    """Parse the numbers of an item form; what is not a number becomes that field's error."""
    values: dict[str, Any] = {k: form.get(k) for k in ("kind", "title_zh", "title_en", "description_zh",
                                                       "description_en", "keywords", "region")}
    values["fields"] = form.get("fields") or []
    errors: dict[str, str] = {}
    for name, kind in (("trl", int), ("amount_min", float), ("amount_max", float)):
        raw = (form.get(name) or "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            values[name] = raw
            errors[name] = translate(language, "item.not_a_number")
    return ItemForm(values, errors)


def item_values(item: dict[str, Any]) -> dict[str, Any]:
    """An item from the API as the values of its edit form."""
    title = item.get("title") or {}
    description = item.get("description") or {}
    amount = item.get("amount") or {}
    return {
        "kind": item["kind"], "title_zh": title.get("zh"), "title_en": title.get("en"),
        "description_zh": description.get("zh"), "description_en": description.get("en"),
        "fields": item.get("fields", []), "keywords": ", ".join(item.get("keywords", [])),
        "trl": item.get("trl"), "region": item.get("region"),
        "amount_min": None if amount.get("min") is None else _plain(amount["min"] / TEN_THOUSAND),
        "amount_max": None if amount.get("max") is None else _plain(amount["max"] / TEN_THOUSAND),
    }


def _plain(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


def patch_of(body: dict[str, Any]) -> dict[str, Any]:
    """An edit's body for PATCH: the kind is fixed; a cleared optional value is sent as null, and a
    cleared title as null too, which the API refuses by name (absent would mean "unchanged")."""
    return {"title": None, **{k: v for k, v in body.items() if k != "kind"}}



@dataclass
class InboxEntry:
    notification_id: str
    subject: str
    read: bool
    created_at: str
    link: str | None


def inbox_entry(entry: dict[str, Any]) -> InboxEntry:
    """An inbox entry by its subject (already in the participant's language; its body names ids),
    linking to the page it is about."""
    data = entry.get("data") or {}
    if data.get("match_id"):
        link: str | None = f"/matches/{data['match_id']}"
    elif data.get("session_id"):
        link = f"/sessions/{data['session_id']}"
    else:
        link = "/teams" if data.get("consortium_id") else None
    return InboxEntry(entry["id"], entry["subject"], entry["read"], entry["created_at"], link)


@dataclass
class TeamMember:
    role: str
    name: str
    party: str
    is_viewer: bool


@dataclass
class TeamRow:
    score: int
    members: list[TeamMember]
    missing: list[str]


def team_member_ids(consortia: list[dict[str, Any]]) -> set[str]:
    return {m["participant_id"] for c in consortia for m in c["consortium"]["members"]}


def team_rows(consortia: list[dict[str, Any]], me: str, display: dict[str, str], language: str) -> list[TeamRow]:
    """Active five-party teams, best first, each member by role and name, with the roles missing."""
    unknown = translate(language, "unknown.participant")
    rows = []
    active = [c["consortium"] for c in consortia if c["status"] == "active"]
    for team in sorted(active, key=lambda c: (-c["score"], c["consortium_id"])):
        members = [TeamMember(translate(language, f"consortium_role.{m['role']}"),
                              display.get(m["participant_id"], unknown), names.party_name(m["party_type"], language),
                              m["participant_id"] == me) for m in team["members"]]
        missing = [translate(language, f"consortium_role.{r}") for r in team["missing_roles"]]
        rows.append(TeamRow(round(team["score"] * 100), members, missing))
    return rows


CATEGORIES = ("match", "consortium", "agenda", "registration")


def preference_values(view: dict[str, Any]) -> dict[str, Any]:
    """The notification service's preferences as the values of their form."""
    prefs = view["preferences"]
    channels = prefs["channels"]
    return {"stream": channels["stream"], "email_enabled": channels["email"]["enabled"],
            "email_address": channels["email"].get("address") or "", "webhook_enabled": channels["webhook"]["enabled"],
            "webhook_url": channels["webhook"].get("url") or "", "categories": list(prefs["categories"]),
            "delivery": prefs["delivery"], "min_match_score": round(prefs["min_match_score"] * 100),
            "language": view["language"]}


def preferences_form(form: dict[str, Any], language: str) -> ItemForm:
    """The preferences form as the body of PUT /me/preferences (checkboxes are absent when off)."""
    values: dict[str, Any] = {
        "stream": "stream" in form, "email_enabled": "email_enabled" in form,
        "email_address": (form.get("email_address") or "").strip(), "webhook_enabled": "webhook_enabled" in form,
        "webhook_url": (form.get("webhook_url") or "").strip(), "categories": form.get("categories") or [],
        "delivery": form.get("delivery") or "immediate", "language": form.get("language") or None,
        "rotate": "rotate" in form}
    errors: dict[str, str] = {}
    raw = (form.get("min_match_score") or "0").strip()
    try:
        values["min_match_score"] = float(raw)
    except ValueError:
        values["min_match_score"] = raw
        errors["min_match_score"] = translate(language, "item.not_a_number")
    return ItemForm(values, errors)


def preferences_body(values: dict[str, Any]) -> dict[str, Any]:
    score = values["min_match_score"]
    return {
        "channels": {"stream": values["stream"],
                     "email": {"enabled": values["email_enabled"], "address": values["email_address"] or None},
                     "webhook": {"enabled": values["webhook_enabled"], "url": values["webhook_url"] or None}},
        "categories": [c for c in values["categories"] if c in CATEGORIES], "delivery": values["delivery"],
        "min_match_score": score / 100 if isinstance(score, float) else score, "language": values["language"],
        "rotate_webhook_secret": values["rotate"]}


def preference_errors(errors: dict[str, str]) -> dict[str, str]:
    """The API's error keys (channels_email_address…) as the form's (email_address…)."""
    return {key.removeprefix("channels_"): message for key, message in errors.items()}


PAGE_SEPARATOR = "."  # never in a cursor (URL-safe base64)


@dataclass(frozen=True)
class Paging:
    """Where a page of a list is: its items' numbers (from 1) of the total, and the links to the
    pages before and after it (None when there is none)."""

    first: int
    last: int
    total: int
    previous: str | None
    next: str | None


def paging(path: str, cursor: str, back: str, next_cursor: str | None, shown: int, total: int,
           size: int) -> Paging:
    """A list read a page at a time with the API's cursors, which only go forward: the link to the
    next page carries the cursors of the pages before it (``back``, the first page has none), so
    that the link to the previous page is the last of them."""
    earlier = [c for c in back.split(PAGE_SEPARATOR) if c] if cursor else []
    first = (len(earlier) + 1) * size + 1 if cursor else 1

    def link(to: str | None, before: list[str]) -> str:
        if not to:
            return path
        return f"{path}?{urlencode({'cursor': to, **({'back': PAGE_SEPARATOR.join(before)} if before else {})})}"

    previous = None if not cursor else link(earlier[-1] if earlier else None, earlier[:-1])
    following = link(next_cursor, [*earlier, cursor] if cursor else []) if next_cursor else None
    return Paging(first=first if shown else 0, last=first + shown - 1 if shown else 0, total=total,
                  previous=previous, next=following)
