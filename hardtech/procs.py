"""Background processes tracked by pid files, port checks, and waits that always time out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardtech.errors import SetupError
from hardtech.paths import RUN


@dataclass(frozen=True)
class Proc:
    name: str

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return RUN / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid if the process runs; a stale pid file is removed."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        RUN.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
        self.pid_file.write_text(str(process.pid))
        return process.pid

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``; False when it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """kill -9, as a crash would; the pid file stays behind as a crash leaves it."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_free_port(host: str, port: int, what: str) -> None:
    if port_open(host, port):
        raise SetupError(f"port {host}:{port} for {what} is already taken by another process "
                         f"(stop it, or choose another port in the environment)")


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: Proc | None = None,
               interval: float = 0.25) -> None:
    """Poll ``check`` until it is true; raise SetupError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.pid() is None:
            raise SetupError(f"{proc.name} exited while waiting for {what}; see {proc.log_file}:\n{proc.log_tail()}")
        time.sleep(interval)
    hint = f"; see {proc.log_file}" if proc is not None else ""
    raise SetupError(f"timed out after {timeout:.0f}s waiting for {what}{hint}")
