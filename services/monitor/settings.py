from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITOR_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "monitor"
    port: int = 8005
    database: str = "hardtech_monitor"
