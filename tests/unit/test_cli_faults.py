"""The CLI's faults are one clear line and exit 1, never a stack trace or a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hardtech.errors import SetupError
from hardtech.procs import Proc, require_free_port, wait_until

HARDTECH = [sys.executable, "-m", "hardtech"]


def _run(tmp_path: Path, path: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI")}
    env.update({"HARDTECH_HOME": str(tmp_path / "home"), "PATH": path, "COLUMNS": "200", **(extra or {})})
    return subprocess.run([*HARDTECH, "install"], capture_output=True, text=True, env=env, timeout=60)


def _fake_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)


def test_missing_maven_is_one_line(tmp_path):
    result = _run(tmp_path, str(tmp_path / "empty-bin"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "mvn not found on PATH" in lines[0]


def test_failed_download_is_one_line(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "mvn", "echo 'Could not resolve dependencies: network unreachable'; exit 1")
    _fake_tool(bin_dir, "java", "exit 0")
    result = _run(tmp_path, str(bin_dir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "downloading Kafka's jars from Maven Central failed" in result.stderr
    assert "network unreachable" in result.stderr


def test_missing_go_is_one_line(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "mvn", 'for a in "$@"; do case $a in -DoutputDirectory=*) /bin/mkdir -p "${a#*=}";; esac; done')
    _fake_tool(bin_dir, "java", "exit 0")
    result = _run(tmp_path, str(bin_dir))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "go not found on PATH" in result.stderr


def test_port_taken_is_named():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SetupError, match=f"port 127.0.0.1:{port} for Kafka is already taken"):
            require_free_port("127.0.0.1", port, "Kafka")


def test_stale_pid_file_is_cleared(tmp_path, monkeypatch):
    monkeypatch.setattr("hardtech.procs.RUN", tmp_path)
    proc = Proc("ghost")
    dead = subprocess.Popen(["true"])
    dead.wait()
    proc.pid_file.write_text(str(dead.pid))
    assert proc.pid() is None
    assert not proc.pid_file.exists()
    assert proc.stop() is False


def test_waits_time_out_naming_what_they_waited_for():
    with pytest.raises(SetupError, match=r"timed out after 0s waiting for the broker"):
        wait_until(lambda: False, timeout=0.3, what="the broker", interval=0.05)


def test_a_process_that_dies_while_awaited_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr("hardtech.procs.RUN", tmp_path)
    proc = Proc("crashy")
    proc.start(["sh", "-c", "echo boom: bad config; exit 3"])
    with pytest.raises(SetupError, match="crashy exited while waiting for readiness") as caught:
        wait_until(lambda: False, timeout=10, what="readiness", proc=proc)
    assert "boom: bad config" in str(caught.value)
