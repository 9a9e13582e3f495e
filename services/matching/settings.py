from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "matching"
    port: int = 8003
    database: str = "hardtech_matching"
