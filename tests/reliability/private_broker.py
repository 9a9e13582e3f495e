"""A Kafka broker of a test's own, on ports of its own: the project's local broker
(``hardtech.infra.kafka``, the same jars and configuration) run under a separate ``HARDTECH_HOME``,
so a test may stop it, leave it down for a while and start it again (its data kept) without
touching the broker every other test shares. Clients see a real outage: connections refused
while it is down, the same broker answering on the same address afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hardtech.infra import kafka
from hardtech.paths import ROOT
from shared.settings import KAFKA_ADMIN_PRINCIPAL, CommonSettings
from tests.support import free_port

HEAP = "384m"


def available() -> str | None:
    """Why a private broker cannot run here (None: it can): the local broker's jars are needed, and
    clients that speak SASL to it, as they do to the local shared broker."""
    if not kafka.installed():
        return f"no local Kafka jars in {kafka.KAFKA_LIBS} (the infrastructure is not the local processes)"
    if os.environ.get("KAFKA_SECURITY_PROTOCOL") != "SASL_PLAINTEXT":
        return "the tests' Kafka clients do not use SASL_PLAINTEXT, which the local broker requires"
    return None


@dataclass
class PrivateBroker:
    home: Path
    port: int
    controller_port: int
    tls_port: int

    @classmethod
    def under(cls, home: Path) -> PrivateBroker:
        broker = cls(home, free_port(), free_port(), free_port())
        (home / "kafka").mkdir(parents=True, exist_ok=True)
        libs = home / "kafka" / "libs"
        if not libs.exists():
            libs.symlink_to(kafka.KAFKA_LIBS)  # the jars installed already, not downloaded again
        return broker

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def settings(self, topic_prefix: str = "") -> CommonSettings:
        """The operators' principal on this broker (the harness's own clients)."""
        return CommonSettings(kafka_bootstrap_servers=self.bootstrap, kafka_security_protocol="SASL_PLAINTEXT",
                              kafka_sasl_username=KAFKA_ADMIN_PRINCIPAL, topic_prefix=topic_prefix)

    def _run(self, call: str) -> None:
        env = {**os.environ, "HARDTECH_HOME": str(self.home), "HARDTECH_KAFKA_PORT": str(self.port),
               "HARDTECH_KAFKA_CONTROLLER_PORT": str(self.controller_port),
               "HARDTECH_KAFKA_TLS_PORT": str(self.tls_port), "HARDTECH_KAFKA_HEAP": HEAP}
        result = subprocess.run([sys.executable, "-c", f"from hardtech.infra import kafka; kafka.{call}"],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            log = self.home / "run" / "kafka.log"
            tail = "\n".join(log.read_text().splitlines()[-30:]) if log.exists() else ""
            raise AssertionError(f"kafka.{call} of the private broker failed: {result.stderr[-1500:]}\n{tail}")

    def start(self) -> None:
        """Start it (formatted on the first start) and wait until it answers metadata."""
        self._run("start(timeout=240)")

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM, its data kept): every connection to it closes."""
        self._run("stop()")
