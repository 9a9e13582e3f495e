"""No Docker engine runs in CI, so the compose file's structure is checked here instead."""

from pathlib import Path

import yaml

from hardtech.stack import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


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


def test_topics_are_created_before_services_start():
    topics = COMPOSE["services"]["topics"]
    assert topics["command"] == ["hardtech", "topics"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"


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
