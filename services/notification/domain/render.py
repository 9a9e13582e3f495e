"""Templates (Jinja2) in zh-CN and en: each sets ``subject`` and renders the body text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from services.notification.domain.notices import NotificationType
from shared.events.common import Language
from shared.party_types import PARTY_NAMES, Kind

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_NAMES: dict[str, tuple[str, str]] = {
    **{p.value: names for p, names in PARTY_NAMES.items()},
    Kind.TECHNOLOGY.value: ("技术", "technology"),
    Kind.CAPITAL.value: ("资本", "capital"),
    Kind.SERVICE.value: ("服务", "service"),
    Kind.POLICY.value: ("政策", "policy"),
    "technology_provider": ("技术提供方", "technology provider"),
    "technology_seeker": ("技术需求方", "technology seeker"),
    "offer_withdrawn": ("供给方撤回了成果", "the offer was withdrawn"),
    "need_withdrawn": ("需求方撤回了需求", "the need was withdrawn"),
    "closed": ("已关闭", "it was closed"),
    "expired": ("已过期", "it expired"),
    "below_threshold": ("匹配度已低于阈值", "the score fell below the threshold"),
    "declined": ("已被谢绝", "it was declined"),
    "presenter": ("路演方", "presenter"),
    "attendee": ("参会方", "attendee"),
    "warning": ("警告", "warning"),
    "critical": ("严重", "critical"),
}


def _is_zh(context: Context) -> bool:
    return str(context["lang"]).startswith("zh")


@pass_context
def _local(context: Context, text: dict[str, str | None] | None, fallback: str = "") -> str:
    """Pick the recipient's language from a {zh, en} text, falling back to the other one."""
    if not text:
        return fallback
    first, second = ("zh", "en") if _is_zh(context) else ("en", "zh")
    return text.get(first) or text.get(second) or fallback


@pass_context
def _name(context: Context, code: str) -> str:
    zh, en = _NAMES.get(code, (code, code))
    return zh if _is_zh(context) else en


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z").strip()


def _percent(score: float) -> str:
    return f"{round(score * 100)}%"


def _environment() -> Environment:
    # The templates ship with the code: loaded once, never checked for changes (with auto_reload
    # every render stats its file: a tenth of a fan-out's CPU time in a burst).
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, auto_reload=False)
    env.filters.update(local=_local, name=_name, when=_when, percent=_percent)
    return env


_ENV = _environment()


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def template_path(kind: NotificationType, language: Language) -> str:
    return f"{language.value}/{kind.template}.j2"


def render(kind: NotificationType, language: Language, context: dict[str, Any],
           app_url: str | None = None) -> Rendered:
    """``app_url``: the web app's address, so a notice can link to where it is acted on."""
    module = _ENV.get_template(template_path(kind, language)).make_module(
        {**context, "lang": language.value, "app_url": app_url})
    subject = module.subject  # type: ignore[attr-defined]  # the template's {% set subject %}, known at run time
    return Rendered(subject=" ".join(str(subject).split()), body=str(module).strip() + "\n")
