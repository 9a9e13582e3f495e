"""Kafka principals on the broker: SCRAM credentials and ACLs, set through Kafka's admin API by
the operators' principal (a super user). Confluent's client (librdkafka) does it: aiokafka has no
admin calls for ACLs or SCRAM credentials. What each principal may do is
``shared.kafka_principals``."""

from __future__ import annotations

import os
from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from hardtech.errors import SetupError
from shared.auth import new_secret
from shared.kafka_principals import SERVICES, Grant, Resource, service_grants
from shared.settings import CommonSettings, dev_kafka_password

TIMEOUT = 30.0
SCRAM_ITERATIONS = 8192
_RESOURCES = {Resource.TOPIC: ResourceType.TOPIC, Resource.GROUP: ResourceType.GROUP}


def admin_client(settings: CommonSettings) -> AdminClient:
    """An admin client as the operators' principal of ``settings`` (SASL required)."""
    if not settings.kafka_sasl:
        raise SetupError("managing Kafka principals needs KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL")
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_principal(),
        "sasl.password": settings.kafka_password() or "",
    }
    if settings.kafka_ssl_cafile:
        config["ssl.ca.location"] = settings.kafka_ssl_cafile
    return AdminClient(config)


def password_variable(principal: str) -> str:
    """The environment variable holding a project principal's password (``hardtech secrets``)."""
    return "KAFKA_PASSWORD_" + principal.upper().replace("-", "_")


def service_password(settings: CommonSettings, service: str) -> str:
    """A service principal's password: from its variable, else in local mode the development one."""
    password = os.environ.get(password_variable(service))
    if password:
        return password
    if settings.local:
        return dev_kafka_password(service)
    raise SetupError(f"{password_variable(service)} is not set (`hardtech secrets` makes one)")


def _binding(grant: Grant) -> AclBinding:
    return AclBinding(_RESOURCES[grant.resource], grant.name,
                      ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
                      f"User:{grant.principal}", "*", AclOperation[grant.operation.name], AclPermissionType.ALLOW)


def _wait(futures: Iterable[object], what: str) -> None:
    try:
        for future in futures:
            future.result(timeout=TIMEOUT)  # type: ignore[attr-defined]
    except KafkaException as exc:
        raise SetupError(f"{what}: {exc.args[0].str() if exc.args else exc}") from None


def set_password(admin: AdminClient, principal: str, password: str) -> None:
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upsert = UserScramCredentialUpsertion(principal, info, password.encode())
    _wait(admin.alter_user_scram_credentials([upsert]).values(), f"setting the SCRAM credential of {principal}")


def grant(admin: AdminClient, grants: list[Grant]) -> None:
    """Create the ACLs (creating one that exists changes nothing)."""
    if grants:
        _wait(admin.create_acls([_binding(g) for g in grants]).values(), "creating ACLs")


def principal_exists(admin: AdminClient, principal: str) -> bool:
    try:
        answers = admin.describe_user_scram_credentials([principal])
        assert isinstance(answers, dict)  # one future per user named
        answers[principal].result(timeout=TIMEOUT)
        return True
    except KafkaException:
        return False


def revoke(admin: AdminClient, principal: str) -> None:
    """Delete every ACL of ``principal`` and replace its SCRAM credential by one nobody holds.

    Not a deletion: Kafka 4.1.1 (KRaft) accepts no credential written at format time after a
    restart that follows the deletion of any user's SCRAM credential, so deleting one locked
    every process out at the broker's next restart (measured: format, add a user, delete it,
    restart; replacing the credential instead keeps every other one)."""
    # None matches any resource name and any host (the stubs type them as str).
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY,  # type: ignore[arg-type]
                                  f"User:{principal}", None, AclOperation.ANY, AclPermissionType.ANY)  # type: ignore[arg-type]
    _wait(admin.delete_acls([everything]).values(), f"deleting the ACLs of {principal}")
    set_password(admin, principal, new_secret())


def provision_services(settings: CommonSettings) -> int:
    """Give every service its principal (password from its variable) and its ACLs for the
    topics under ``settings.topic_prefix``; return how many ACLs they hold."""
    admin = admin_client(settings)
    grants = [g for service in SERVICES for g in service_grants(service, settings.topic_prefix)]
    for service in SERVICES:
        set_password(admin, service, service_password(settings, service))
    grant(admin, grants)
    return len(grants)
