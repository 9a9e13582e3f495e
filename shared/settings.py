"""Settings from the environment (pydantic-settings), shared by every service and the CLI.

Secrets fail closed: outside the local development mode (``HARDTECH_ENVIRONMENT=local``, which
``hardtech up`` and the tests set) a service refuses to start when a secret is missing, is one of
the public development values below, or is too weak (``shared.auth.check_secrets``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Public development values, used only in local mode and refused everywhere else.
DEV_OPERATOR_TOKEN = "hardtech-dev-operator-token"
DEV_API_KEY_PEPPER = "hardtech-dev-api-key-pepper-0123456789abcdef"
DEV_JWT_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIKbjJTej0RfXRJHOiipVyho98gMQ3/L/YYf6WD2yvOg6
-----END PRIVATE KEY-----
"""
# Each Kafka principal's development password is this prefix and its name (local mode only).
DEV_KAFKA_PASSWORD_PREFIX = "hardtech-dev-kafka-"
# The operators' Kafka principal: a super user of the broker; the CLI and the test harness use it.
KAFKA_ADMIN_PRINCIPAL = "hardtech-admin"
DEV_JWT_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAA0mX+Tvx3JcyhkFPrfuiDqXNpfovQG1Y+HAUAqLSJow=
-----END PUBLIC KEY-----
"""


class Environment(StrEnum):
    LOCAL = "local"  # the development stack on one machine: public development secrets allowed
    PRODUCTION = "production"  # anything else: every secret configured and strong


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names, *(name.lower() for name in names))


class CommonSettings(BaseSettings):
    """What every process needs: where Kafka and MongoDB are, and how identity is verified."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Whether this process signs tokens and keeps API key digests (the listing service only).
    signs_tokens: ClassVar[bool] = False
    # Whether this process talks to Kafka (all but the web app): then it needs a Kafka principal.
    uses_kafka: ClassVar[bool] = True

    environment: Environment = Field(Environment.PRODUCTION, validation_alias=_env("HARDTECH_ENVIRONMENT"))
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"))
    mongodb_uri: str = Field("mongodb://127.0.0.1:27017", validation_alias=_env("MONGODB_URI"))
    # Prefix for every topic name, so that tests (and several stacks on one cluster) never collide.
    topic_prefix: str = Field("", validation_alias=_env("HARDTECH_TOPIC_PREFIX"))
    # Ed25519 keys in PEM: the private one signs participants' tokens (listing), the public one
    # verifies them (every service; derived from the private one where that is configured).
    jwt_private_key: SecretStr | None = Field(None, validation_alias=_env("HARDTECH_JWT_PRIVATE_KEY"))
    jwt_public_key: str | None = Field(None, validation_alias=_env("HARDTECH_JWT_PUBLIC_KEY"))
    jwt_issuer: str = Field("hardtech-listing", validation_alias=_env("HARDTECH_JWT_ISSUER"))
    jwt_ttl_seconds: int = Field(900, ge=1, validation_alias=_env("HARDTECH_JWT_TTL_SECONDS"))
    # Tokens whose ``exp - iat`` exceeds this are refused, whoever signed them.
    jwt_max_lifetime_seconds: int = Field(3600, ge=1, validation_alias=_env("HARDTECH_JWT_MAX_LIFETIME_SECONDS"))
    operator_token: SecretStr | None = Field(None, validation_alias=_env("HARDTECH_OPERATOR_TOKEN"))
    # The HMAC key of stored API key digests (listing).
    api_key_pepper: SecretStr | None = Field(None, validation_alias=_env("HARDTECH_API_KEY_PEPPER"))
    log_level: str = Field("INFO", validation_alias=_env("HARDTECH_LOG_LEVEL"))

    # How the Kafka clients authenticate: SASL/SCRAM, over TLS where the cluster asks for it
    # (SASL_SSL, with the CA that signed the brokers' certificates). PLAINTEXT is refused outside
    # local mode (``shared.auth.check_secrets``).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        "SCRAM-SHA-512", validation_alias=_env("KAFKA_SASL_MECHANISM"))
    # This process's principal; by default its service's name (the CLI's: the operators' principal).
    kafka_sasl_username: str | None = Field(None, validation_alias=_env("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(None, validation_alias=_env("KAFKA_SASL_PASSWORD"))
    kafka_ssl_cafile: str | None = Field(None, validation_alias=_env("KAFKA_SSL_CAFILE"))

    # Copies of each topic's partitions, and how many must have a write before an ``acks=all``
    # producer hears it succeeded. 1 and 1 for the local single node; 3 and 2 for a three-broker
    # cluster (a write survives the loss of any one broker, and one broker may be down for writes).
    kafka_replication_factor: int = Field(
        1, ge=1, le=32, validation_alias=_env("HARDTECH_KAFKA_REPLICATION_FACTOR"))
    kafka_min_insync_replicas: int = Field(
        1, ge=1, le=32,
        validation_alias=_env("HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"))

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> CommonSettings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(f"HARDTECH_KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) cannot exceed "
                             f"HARDTECH_KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): "
                             "no write would succeed")
        return self

    @field_validator("jwt_private_key", "jwt_public_key", mode="before")
    @classmethod
    def _pem_newlines(cls, value: object) -> object:
        """A PEM in one environment line (``.env``, compose) may carry its newlines as ``\\n``."""
        return value.replace("\\n", "\n") if isinstance(value, str) else value

    @property
    def local(self) -> bool:
        return self.environment is Environment.LOCAL

    def operator_secret(self) -> str | None:
        if self.operator_token is not None:
            return self.operator_token.get_secret_value()
        return DEV_OPERATOR_TOKEN if self.local else None

    def signing_key(self) -> str | None:
        if self.jwt_private_key is not None:
            return self.jwt_private_key.get_secret_value()
        return DEV_JWT_PRIVATE_KEY if self.local else None

    def verification_key(self) -> str | None:
        """The configured public key, else the one of the configured private key (derived in
        ``shared.auth``), else in local mode the development key."""
        if self.jwt_public_key is not None or self.jwt_private_key is not None:
            return self.jwt_public_key
        return DEV_JWT_PUBLIC_KEY if self.local else None

    def pepper(self) -> str | None:
        if self.api_key_pepper is not None:
            return self.api_key_pepper.get_secret_value()
        return DEV_API_KEY_PEPPER if self.local else None

    @property
    def kafka_sasl(self) -> bool:
        return self.kafka_security_protocol != "PLAINTEXT"

    def kafka_principal(self) -> str:
        return self.kafka_sasl_username or KAFKA_ADMIN_PRINCIPAL

    def kafka_password(self) -> str | None:
        if self.kafka_sasl_password is not None:
            return self.kafka_sasl_password.get_secret_value()
        return dev_kafka_password(self.kafka_principal()) if self.local else None

    def kafka_client_options(self) -> dict[str, Any]:
        """The security options of an aiokafka client (producer, consumer, admin) for this process."""
        if not self.kafka_sasl:
            return {}
        options: dict[str, Any] = {
            "security_protocol": self.kafka_security_protocol,
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_principal(),
            "sasl_plain_password": self.kafka_password(),
        }
        if self.kafka_security_protocol == "SASL_SSL":
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=self.kafka_ssl_cafile)
        return options


def dev_kafka_password(principal: str) -> str:
    return f"{DEV_KAFKA_PASSWORD_PREFIX}{principal}"


class ServiceSettings(CommonSettings):
    """A service's settings; each service subclasses it with its own name, port and database."""

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database: str = "hardtech"
    max_body_bytes: int = 256 * 1024

    def kafka_principal(self) -> str:
        """A service's own principal (``shared.kafka_principals``) unless another is configured."""
        return self.kafka_sasl_username or self.service_name
