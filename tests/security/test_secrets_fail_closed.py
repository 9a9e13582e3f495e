"""Outside local development mode every service refuses to start, with one line naming the
variable, while a secret is missing, a public development value or too weak; with the secrets
that `hardtech secrets` prints, the checks pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hardtech.main import app as cli
from services.listing.settings import Settings as ListingSettings
from services.monitor.settings import Settings as MonitorSettings
from shared.auth import check_secrets, new_key_pair
from shared.settings import DEV_JWT_PUBLIC_KEY, DEV_OPERATOR_TOKEN, dev_kafka_password

ROOT = Path(__file__).resolve().parents[2]
# Every process a service runs (matching also its stream worker, `services.matching.worker`).
SERVICES = ["listing", "events_sessions", "matching", "matching.worker", "notification", "monitor", "deals", "web"]
STRONG = "s" * 16 + "-strong-operator-token-0123456789"
PUBLIC_KEY = new_key_pair()[1]


def start(service: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HARDTECH_", "KAFKA_SECURITY", "KAFKA_SASL"))}
    return subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT, capture_output=True, text=True,
                          env={**clean, **env}, timeout=60)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_without_secrets_refuses_to_start_with_one_line(service: str) -> None:
    refused = start(service)  # HARDTECH_ENVIRONMENT unset: production
    assert refused.returncode == 2
    assert refused.stderr == "error: not starting: HARDTECH_OPERATOR_TOKEN is not set\n"


@pytest.mark.parametrize("service, env, line", [
    ("monitor", {"HARDTECH_OPERATOR_TOKEN": DEV_OPERATOR_TOKEN},
     "HARDTECH_OPERATOR_TOKEN is the public development value"),
    ("monitor", {"HARDTECH_OPERATOR_TOKEN": "tiny"},
     "HARDTECH_OPERATOR_TOKEN is too weak: at least 32 random characters (`hardtech secrets` makes one)"),
    ("notification", {"HARDTECH_OPERATOR_TOKEN": STRONG},
     "HARDTECH_JWT_PUBLIC_KEY is not set (the listing service's Ed25519 public key in PEM)"),
    ("events_sessions", {"HARDTECH_OPERATOR_TOKEN": STRONG, "HARDTECH_JWT_PUBLIC_KEY": DEV_JWT_PUBLIC_KEY},
     "HARDTECH_JWT_PUBLIC_KEY is the public development key"),
    ("listing", {"HARDTECH_OPERATOR_TOKEN": STRONG},
     "HARDTECH_JWT_PRIVATE_KEY is not set (an Ed25519 private key in PEM; `hardtech secrets` makes one)"),
    ("deals", {"HARDTECH_OPERATOR_TOKEN": STRONG, "HARDTECH_JWT_PUBLIC_KEY": PUBLIC_KEY},
     "KAFKA_SECURITY_PROTOCOL is PLAINTEXT: anyone who reaches the broker could read and write every topic "
     "(SASL_PLAINTEXT or SASL_SSL)"),
    ("deals", {"HARDTECH_OPERATOR_TOKEN": STRONG, "HARDTECH_JWT_PUBLIC_KEY": PUBLIC_KEY,
               "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": dev_kafka_password("deals")},
     "KAFKA_SASL_PASSWORD is the public development value"),
    ("listing", {"HARDTECH_OPERATOR_TOKEN": STRONG, "HARDTECH_ENVIRONMENT": "staging"},
     "setting HARDTECH_ENVIRONMENT: Input should be 'local' or 'production'"),
])
def test_each_unsafe_secret_is_named(service: str, env: dict[str, str], line: str) -> None:
    refused = start(service, **env)
    assert (refused.returncode, refused.stderr) == (2, f"error: not starting: {line}\n")


def test_the_secrets_command_writes_an_env_file_every_service_accepts(tmp_path, monkeypatch) -> None:
    printed = CliRunner().invoke(cli, ["secrets"])
    assert printed.exit_code == 0
    env_file = tmp_path / ".env"
    env_file.write_text(printed.stdout)
    monkeypatch.chdir(tmp_path)  # settings read .env from the working directory
    for name in [n for n in os.environ if n.startswith(("HARDTECH_", "KAFKA_"))]:
        monkeypatch.delenv(name)
    printed_values = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    # Each service gets its own principal's password as KAFKA_SASL_PASSWORD (as docker-compose.yml maps them).
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", printed_values["KAFKA_PASSWORD_LISTING"])
    listing = ListingSettings()
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", printed_values["KAFKA_PASSWORD_MONITOR"])
    monitor = MonitorSettings()
    assert (listing.kafka_principal(), monitor.kafka_principal()) == ("listing", "monitor")
    assert not listing.local and not monitor.local
    check_secrets(listing)
    check_secrets(monitor)
    assert monitor.verification_key() == listing.jwt_public_key
