from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTS_SESSIONS_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "events_sessions"
    port: int = 8002
    database: str = "hardtech_events_sessions"
    # How often sessions whose registration window has ended are closed (and their snapshot published).
    closer_interval_seconds: float = 5.0
