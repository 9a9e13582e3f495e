"""Settings from the environment (pydantic-settings), shared by every service and the CLI."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "hardtech-dev-secret-change-me-0123456789abcdef"
DEV_OPERATOR_TOKEN = "hardtech-dev-operator-token"


class CommonSettings(BaseSettings):
    """What every process needs: where Kafka and MongoDB are, and how identity is verified."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers")
    )
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017", validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri")
    )
    # Prefix for every topic name, so that tests (and several stacks on one cluster) never collide.
    topic_prefix: str = Field("", validation_alias=AliasChoices("HARDTECH_TOPIC_PREFIX", "topic_prefix"))
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET), validation_alias=AliasChoices("HARDTECH_JWT_SECRET", "jwt_secret")
    )
    jwt_issuer: str = Field("hardtech-listing", validation_alias=AliasChoices("HARDTECH_JWT_ISSUER", "jwt_issuer"))
    jwt_ttl_seconds: int = Field(900, validation_alias=AliasChoices("HARDTECH_JWT_TTL_SECONDS", "jwt_ttl_seconds"))
    operator_token: SecretStr = Field(
        SecretStr(DEV_OPERATOR_TOKEN),
        validation_alias=AliasChoices("HARDTECH_OPERATOR_TOKEN", "operator_token"),
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("HARDTECH_LOG_LEVEL", "log_level"))
    # Copies of each topic's partitions, and how many must have a write before an ``acks=all``
    # producer hears it succeeded. 1 and 1 for the local single node; 3 and 2 for a three-broker
    # cluster (a write survives the loss of any one broker, and one broker may be down for writes).
    kafka_replication_factor: int = Field(
        1, ge=1, le=32, validation_alias=AliasChoices("HARDTECH_KAFKA_REPLICATION_FACTOR", "kafka_replication_factor"))
    kafka_min_insync_replicas: int = Field(
        1, ge=1, le=32,
        validation_alias=AliasChoices("HARDTECH_KAFKA_MIN_INSYNC_REPLICAS", "kafka_min_insync_replicas"))

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> CommonSettings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(f"HARDTECH_KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) cannot exceed "
                             f"HARDTECH_KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): no write would succeed")
        return self


class ServiceSettings(CommonSettings):
    """A service's settings; each service subclasses it with its own name, port and database."""

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = "hardtech"
    max_body_bytes: int = 256 * 1024
