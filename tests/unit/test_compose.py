"""No Docker engine runs in CI, so the compose file's structure is checked here instead."""

import re
from pathlib import Path

import yaml

from hardtech import stack
from hardtech.stack import SERVICES
from shared.kafka_principals import SERVICES as SERVICE_PRINCIPALS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CLUSTER_ENV = ROOT / "infra" / "kafka" / "cluster.env"


def test_infrastructure_uses_official_images_with_healthchecks_and_volumes():
    services = COMPOSE["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["mongo"]["image"].startswith("mongo:")
    for name in ("kafka", "mongo"):
        assert services[name]["healthcheck"]["test"]
        assert any(v.split(":")[0] in COMPOSE["volumes"] for v in services[name]["volumes"])


def test_every_service_is_built_wired_and_health_checked():
    services = COMPOSE["services"]
    for service in SERVICES:
        spec = services[service.name]
        assert spec["build"] == "."
        assert spec["command"] == ["python", "-m", f"services.{service.name}"]
        assert (ROOT / "services" / service.name / "__main__.py").exists()
        env = spec["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["MONGODB_URI"] == "mongodb://mongo:27017"
        assert env[f"{service.name.upper()}_HOST"] == "0.0.0.0"
        assert spec["ports"] == [f"127.0.0.1:{service.default_port}:{service.default_port}"]
        assert spec["healthcheck"]["test"][-1] == f"http://127.0.0.1:{service.default_port}/readyz"
        depends = spec["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["mongo"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"


def test_every_worker_process_runs_beside_its_api_with_its_state_and_principal():
    """A service's processes without HTTP (matching's stream worker) run as compose services of
    their own, as ``make up`` runs them; the state volume is the worker's, not the API's."""
    services = COMPOSE["services"]
    workers = [(service, module) for service in SERVICES for module in service.workers]
    assert workers == [(stack.service("matching"), "services.matching.worker")]
    for service, module in workers:
        spec = services[f"{service.name}-{module.rsplit('.', 1)[-1]}"]
        assert spec["command"] == ["python", "-m", module]
        assert spec["environment"]["KAFKA_SASL_PASSWORD"] == services[service.name]["environment"]["KAFKA_SASL_PASSWORD"]
        assert spec["depends_on"] == services[service.name]["depends_on"] and "ports" not in spec
    assert services["matching-worker"]["volumes"] == ["matching-state:/data"] and "volumes" not in services["matching"]


def test_topics_are_created_before_services_start():
    topics = COMPOSE["services"]["topics"]
    assert topics["command"] == ["hardtech", "topics"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"


def _default(value: str) -> str:
    """What compose makes of ``${VAR:-default}`` when VAR is unset."""
    match = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(value))
    return match.group(2) if match else str(value)


def _variable(value: str) -> str | None:
    match = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(value))
    return match.group(1) if match else None


def test_one_kafka_node_by_default_with_replication_one():
    services = COMPOSE["services"]
    default_enabled = [name for name, spec in services.items() if "profiles" not in spec]
    assert [name for name in default_enabled if name.startswith("kafka")] == ["kafka"]
    env = services["kafka"]["environment"]
    assert _default(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]) == "1@kafka:9093"
    for name in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                 "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert _default(env[name]) == "1", name
    for name in (*(service.name for service in SERVICES), "topics"):
        service_env = services[name]["environment"]
        assert _default(service_env["HARDTECH_KAFKA_REPLICATION_FACTOR"]) == "1"
        assert _default(service_env["HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"]) == "1"


def test_the_cluster_profile_runs_three_kraft_nodes_replicating_three_times_with_two_in_sync():
    services = COMPOSE["services"]
    nodes = {name: services[name] for name in ("kafka", "kafka-2", "kafka-3")}
    cluster = dict(line.split("=", 1) for line in CLUSTER_ENV.read_text().splitlines()
                   if line and not line.startswith("#"))
    assert cluster["COMPOSE_PROFILES"] == "cluster"
    assert (cluster["HARDTECH_KAFKA_REPLICATION_FACTOR"], cluster["HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    voters = {}
    for entry in cluster["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        node_id, address = entry.split("@")
        voters[int(node_id)] = address
    assert voters == {1: "kafka:9093", 2: "kafka-2:9093", 3: "kafka-3:9093"}
    for name, spec in nodes.items():
        env = spec["environment"]
        assert spec["image"] == services["kafka"]["image"] and spec["healthcheck"]["test"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert voters[env["KAFKA_NODE_ID"]] == f"{name}:9093"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"BROKER://{name}:9092"
        assert env["CLUSTER_ID"] == services["kafka"]["environment"]["CLUSTER_ID"]
        assert _variable(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]) == "KAFKA_CONTROLLER_QUORUM_VOTERS"
        for setting, variable in (("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "HARDTECH_KAFKA_REPLICATION_FACTOR"),
                                  ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"),
                                  ("KAFKA_MIN_INSYNC_REPLICAS", "HARDTECH_KAFKA_MIN_INSYNC_REPLICAS")):
            assert _variable(env[setting]) == variable
        if name != "kafka":
            assert spec["profiles"] == ["cluster"]
    volumes = [spec["volumes"][0].split(":")[0] for spec in nodes.values()]
    assert len(set(volumes)) == 3 and set(volumes) <= set(COMPOSE["volumes"])
    topics_deps = services["topics"]["depends_on"]
    for name in ("kafka-2", "kafka-3"):
        assert topics_deps[name] == {"condition": "service_healthy", "required": False}
    for service in SERVICES:
        env = services[service.name]["environment"]
        assert _variable(env["HARDTECH_KAFKA_REPLICATION_FACTOR"]) == "HARDTECH_KAFKA_REPLICATION_FACTOR"
        assert _variable(env["HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"]) == "HARDTECH_KAFKA_MIN_INSYNC_REPLICAS"


SECRETS = ("HARDTECH_OPERATOR_TOKEN", "HARDTECH_JWT_PUBLIC_KEY", "HARDTECH_JWT_PRIVATE_KEY", "HARDTECH_API_KEY_PEPPER")


def test_secrets_have_no_defaults_and_the_signing_key_reaches_the_listing_service_only():
    services = COMPOSE["services"]
    for service in SERVICES:
        env = services[service.name]["environment"]
        assert env["HARDTECH_ENVIRONMENT"] == "production"
        present = {name for name in SECRETS if name in env}
        signer = {"HARDTECH_JWT_PRIVATE_KEY", "HARDTECH_API_KEY_PEPPER"}
        assert present == (set(SECRETS) if service.name == "listing" else set(SECRETS) - signer)
        for name in present:  # required from the environment or .env: ${NAME:?reason}, never ${NAME:-default}
            assert env[name].startswith(f"${{{name}:?") and env[name].endswith("}"), env[name]


def test_kafka_requires_sasl_and_every_service_connects_as_its_own_principal():
    services = COMPOSE["services"]
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert (kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"], kafka["KAFKA_SUPER_USERS"]) == ("false", "User:hardtech-admin")
    assert kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "CONTROLLER:SASL_PLAINTEXT,BROKER:SASL_PLAINTEXT"
    assert kafka["KAFKA_ADMIN_PASSWORD"].startswith("${KAFKA_PASSWORD_HARDTECH_ADMIN:?")
    assert "./infra/kafka/compose-start.sh:/hardtech/compose-start.sh:ro" in services["kafka"]["volumes"]
    passwords = {}
    for service in SERVICES:
        env = services[service.name]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        if service.name in SERVICE_PRINCIPALS:
            passwords[service.name] = env["KAFKA_SASL_PASSWORD"]
        else:  # the web app uses no Kafka
            assert "KAFKA_SASL_PASSWORD" not in env
    assert passwords == {name: f"${{KAFKA_PASSWORD_{name.upper()}:?set KAFKA_PASSWORD_{name.upper()} in .env "
                               "(hardtech secrets)}" for name in SERVICE_PRINCIPALS}
    job = services["topics"]["environment"]  # creates the topics and the services' principals, as hardtech-admin
    assert job["KAFKA_SASL_PASSWORD"] == kafka["KAFKA_ADMIN_PASSWORD"]
    assert {job[f"KAFKA_PASSWORD_{name.upper()}"] for name in SERVICE_PRINCIPALS} == set(passwords.values())
