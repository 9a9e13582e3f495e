from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHING_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = "matching"
    port: int = 8003
    database: str = "hardtech_matching"
    # Where the faust worker keeps its RocksDB tables; the changelog topics are the real record.
    datadir: Path = Path("var/matching")
    threshold: float = Field(0.35, ge=0, le=1)
    # The most matches one item holds, on either side (README: Bounded output).
    top_k: int = Field(10, ge=1, le=100)
    # A hot standby worker keeps a copy of the tables to take over in seconds (see README).
    standby_replicas: int = Field(0, ge=0)

    @property
    def app_id(self) -> str:
        """The faust application id: consumer group and prefix of the changelog topics."""
        return f"{self.topic_prefix}matching"
