"""Settings from the environment (pydantic-settings), shared by every service and the CLI."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
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


class ServiceSettings(CommonSettings):
    """A service's settings; each service subclasses it with its own name, port and database."""

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = "hardtech"
    max_body_bytes: int = 256 * 1024
