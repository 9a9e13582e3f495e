from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LISTING_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "listing"
    port: int = 8001
    database: str = "hardtech_listing"
    # POST /auth/token: attempts per client address and per API key prefix within the window.
    # Per address is higher, so that a demo or a gateway registering many participants is not stopped.
    auth_rate_per_ip: int = 120
    auth_rate_per_key: int = 10
    auth_rate_window_seconds: float = 60.0
    expiry_interval_seconds: float = 30.0
    relay_poll_seconds: float = 1.0
