from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITOR_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "monitor"
    port: int = 8005
    database: str = "hardtech_monitor"

    sample_interval_seconds: float = Field(5.0, gt=0)
    # A sampling round that takes longer is abandoned; the API then answers 503 with stale values.
    sample_timeout_seconds: float = Field(10.0, gt=0)
    window: int = Field(10, ge=2, description="samples per Burrow evaluation window")
    timeline_capacity: int = Field(64, ge=3, description="(log end, time) points kept per partition")
    history: int = Field(360, ge=2, description="chart points kept per group and per topic")
    # Only groups whose id starts with this are watched; empty watches the whole cluster.
    group_prefix: str = ""
    alert_lag_messages: int = Field(1000, ge=0)
    alert_lag_seconds: float = Field(300.0, ge=0)
    alert_dead_letter_growth: int = Field(0, ge=0)
