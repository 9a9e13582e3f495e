from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LISTING_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "listing"
    port: int = 8001
    database: str = "hardtech_listing"
