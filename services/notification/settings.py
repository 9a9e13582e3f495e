from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "notification"
    port: int = 8004
    database: str = "hardtech_notification"
