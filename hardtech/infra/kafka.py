"""Apache Kafka from Maven Central, run with the machine's Java as one KRaft node."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import uuid
from string import Template

from aiokafka.admin import AIOKafkaAdminClient

from hardtech.errors import SetupError
from hardtech.infra import tls
from hardtech.paths import DATA, INFRA, KAFKA_LIBS, LOCAL
from hardtech.procs import Proc, port_open, require_free_port, wait_until
from shared.settings import KAFKA_ADMIN_PRINCIPAL, CommonSettings

PROC = Proc("kafka")
HOST = "127.0.0.1"
PORT = int(os.environ.get("HARDTECH_KAFKA_PORT", "9092"))
CONTROLLER_PORT = int(os.environ.get("HARDTECH_KAFKA_CONTROLLER_PORT", "9093"))
TLS_PORT = int(os.environ.get("HARDTECH_KAFKA_TLS_PORT", "9094"))  # SASL_SSL, the local CA's certificate
HEAP = os.environ.get("HARDTECH_KAFKA_HEAP", "768m")
POM = INFRA / "kafka" / "pom.xml"
DATA_DIR = DATA / "kafka"
CONFIG = LOCAL / "kafka" / "server.properties"
TLS_DIR = LOCAL / "kafka" / "tls"
CA_FILE = TLS_DIR / "ca.pem"  # the CA a SASL_SSL client of this broker trusts (KAFKA_SSL_CAFILE)
MARKER = KAFKA_LIBS / ".installed"
# Written beside the data once it is formatted with the operators' SCRAM credential.
SASL_MARKER = DATA_DIR / "hardtech-sasl"


def operator_settings() -> CommonSettings:
    """The operators' principal on this broker (a super user), as the CLI and the test harness use it."""
    return CommonSettings(kafka_bootstrap_servers=bootstrap(), kafka_security_protocol="SASL_PLAINTEXT",
                          kafka_sasl_username=KAFKA_ADMIN_PRINCIPAL)


def _admin_password() -> str:
    password = operator_settings().kafka_password()
    if password is None:
        raise SetupError("KAFKA_SASL_PASSWORD is not set: the operators' Kafka password "
                         "(outside local mode it must be)")
    return password


def bootstrap() -> str:
    return f"{HOST}:{PORT}"


def tls_bootstrap() -> str:
    return f"{HOST}:{TLS_PORT}"


def _require(tool: str, what: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SetupError(f"{tool} not found on PATH: {what}")
    return path


def installed() -> bool:
    return MARKER.exists() and MARKER.read_text() == POM.read_text()


def install() -> bool:
    """Copy Kafka's jars from Maven Central; False when they were already there."""
    if installed():
        return False
    mvn = _require("mvn", "Maven is needed to fetch Kafka's jars (apt-get install maven)")
    _require("java", "Java 17 is needed to run Kafka (apt-get install openjdk-17-jre-headless)")
    staging = KAFKA_LIBS.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        last = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise SetupError("downloading Kafka's jars from Maven Central failed: " + " | ".join(last))
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    staging.rename(KAFKA_LIBS)
    MARKER.write_text(POM.read_text())
    return True


def _java(*args: str) -> list[str]:
    java = _require("java", "Java 17 is needed to run Kafka (apt-get install openjdk-17-jre-headless)")
    return [java, f"-Dlog4j2.configurationFile={INFRA / 'kafka' / 'log4j2.yaml'}", "-cp", f"{KAFKA_LIBS}/*", *args]


def _write_config() -> None:
    template = Template((INFRA / "kafka" / "server.properties").read_text())
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CONFIG.touch(mode=0o600)  # it holds the operators' password
    CONFIG.chmod(0o600)
    _, keystore = tls.ensure_certificates(TLS_DIR, HOST)
    CONFIG.write_text(template.substitute(port=PORT, controller_port=CONTROLLER_PORT, tls_port=TLS_PORT,
                                          tls_keystore=keystore, data_dir=DATA_DIR,
                                          admin=KAFKA_ADMIN_PRINCIPAL, admin_password=_admin_password()))


def _format_storage() -> None:
    """Format the log directory once, with the operators' SCRAM credential (the broker's own
    connections use it); later starts keep the data."""
    if (DATA_DIR / "meta.properties").exists():
        if not SASL_MARKER.exists():
            raise SetupError(f"Kafka's data in {DATA_DIR} was formatted before the broker required SASL: "
                             "run `make down` and remove that directory (its topics are lost) to start over")
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    # "--cluster-id=…" in one argument: a random id may start with "-", which would read as an option.
    scram = f"SCRAM-SHA-512=[name={KAFKA_ADMIN_PRINCIPAL},password={_admin_password()}]"
    result = subprocess.run(_java("kafka.tools.StorageTool", "format", f"--cluster-id={cid}", "-c", str(CONFIG),
                                  "--add-scram", scram), capture_output=True, text=True)
    if result.returncode != 0:
        raise SetupError(f"formatting Kafka's storage failed: {result.stderr.strip()[-300:]}")
    SASL_MARKER.write_text("formatted with the operators' SCRAM-SHA-512 credential\n")


async def _answers_metadata(settings: CommonSettings) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=3000,
                                **settings.kafka_client_options())
    try:
        await asyncio.wait_for(admin.start(), 4)
        await asyncio.wait_for(admin.list_topics(), 4)
        return True
    except Exception:
        return False
    finally:
        await admin.close()


def healthy(settings: CommonSettings | None = None) -> bool:
    """Whether the broker answers metadata: this one (as the operators), or the cluster of ``settings``."""
    if settings is None and not port_open(HOST, PORT):
        return False
    return asyncio.run(_answers_metadata(settings or operator_settings()))


def start(timeout: float = 90) -> bool:
    """Start the broker unless it runs; False when it was already running."""
    if PROC.pid() is not None:
        if not SASL_MARKER.exists():
            raise SetupError("the running Kafka was started before the broker required SASL: "
                             f"run `make down` and remove {DATA_DIR} (its topics are lost) to start over")
        wait_until(healthy, timeout=timeout, what=f"Kafka to answer metadata on {bootstrap()}", proc=PROC)
        return False
    require_free_port(HOST, PORT, "Kafka")
    require_free_port(HOST, CONTROLLER_PORT, "Kafka's controller")
    require_free_port(HOST, TLS_PORT, "Kafka's TLS listener")
    _write_config()
    _format_storage()
    PROC.start(_java(f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                     "-Djava.awt.headless=true", "kafka.Kafka", str(CONFIG)))
    wait_until(healthy, timeout=timeout, what=f"Kafka to answer metadata on {bootstrap()}", proc=PROC)
    return True


def stop() -> bool:
    return PROC.stop(timeout=30)


def command_config(settings: CommonSettings) -> list[str]:
    """``--command-config FILE`` for one of Kafka's tools to connect as ``settings``' principal
    (nothing without SASL); the file is readable by its owner only."""
    if not settings.kafka_sasl:
        return []
    principal = settings.kafka_principal()
    lines = [f"security.protocol={settings.kafka_security_protocol}", f"sasl.mechanism={settings.kafka_sasl_mechanism}",
             "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
             f'username="{principal}" password="{settings.kafka_password() or ""}";']
    if settings.kafka_ssl_cafile:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={settings.kafka_ssl_cafile}"]
    path = LOCAL / "kafka" / f"client-{principal}.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return ["--command-config", str(path)]


def tool(main_class: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of Kafka's own command-line tools from the installed jars."""
    return subprocess.run(_java(main_class, *args), capture_output=True, text=True, timeout=120)
