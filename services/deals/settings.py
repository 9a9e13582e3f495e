from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEALS_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "deals"
    port: int = 8007
    database: str = "hardtech_deals"
