"""Real local servers for the test suite: a throwaway PostgreSQL cluster and moto in server mode."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"{name} not found: run scripts/setup (it installs Debian's postgresql)")
    return found


class PostgresServer:
    """initdb + pg_ctl in a temporary folder, as user postgres when run as root (initdb refuses root)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="billing-pg-"))
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "PostgresServer":
        if self._as:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        self._run(_pg_binary("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        self._run(_pg_binary("pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "start",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self._run(_pg_binary("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerProcess:
    """A server from the virtualenv in its own process, on a free loopback port, until stop()."""

    ready_path = "/"

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment; None: the tests'."""
        return None

    def start(self):
        self.process = subprocess.Popen(self.command(), env=self.environment(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}{self.ready_path}", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.command()[0]} did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)


class MotoServer(ServerProcess):
    """moto_server: S3, SES and SNS over real HTTP."""

    ready_path = "/moto-api/"

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10)


class LocalStripe(ServerProcess):
    """localstripe, a fake but stateful Stripe server, with a store of its own in memory
    (scripts/stripe_sandbox.py), so that another localstripe on the machine neither breaks nor shares it."""

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).parents[1] / "scripts" / "stripe_sandbox.py"), "--port", str(self.port)]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/_config/data", method="DELETE"), timeout=10)
