"""Settings of the web app (env prefix ``WEB_``): where the services' public APIs are."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "web"
    port: int = 8006
    uses_kafka: ClassVar[bool] = False  # a client of the other services' APIs only

    listing_url: str = "http://127.0.0.1:8001"
    events_sessions_url: str = "http://127.0.0.1:8002"
    matching_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    monitor_url: str = "http://127.0.0.1:8005"
    deals_url: str = "http://127.0.0.1:8007"
    api_timeout_seconds: float = Field(10.0, gt=0)
    # Served over HTTPS in production: the session cookie then carries the Secure attribute.
    secure_cookies: bool = False
    # How long a participant's or session's name is reused before it is asked for again.
    name_cache_seconds: float = Field(60.0, ge=0)
