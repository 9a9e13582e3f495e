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
    # How many stream workers the stack starts (README: Scaling out), and which one this process is
    # (1 … workers): each reads the whole work topic with tables of its own, and sends the outputs
    # of the ownership partitions it holds.
    workers: int = Field(1, ge=1, le=64)
    worker: int = Field(1, ge=1)

    @property
    def app_id(self) -> str:
        """The faust application id of this worker: its consumer group and the prefix of its
        changelog topics. Worker 1 keeps the id a single worker always had, so its state is found
        again."""
        suffix = "" if self.worker == 1 else f"-{self.worker}"
        return f"{self.topic_prefix}matching{suffix}"

    @property
    def state_dir(self) -> Path:
        """This worker's RocksDB directory: ``datadir`` for worker 1, ``<datadir>-<n>`` for worker n."""
        return self.datadir if self.worker == 1 else self.datadir.with_name(f"{self.datadir.name}-{self.worker}")
