"""The Billing Service's reads on a closed month: `billing serve` with 2 uvicorn workers on the home that
benchmarks/close.py leaves, tokens for the tenant admins of random tenants, and concurrent HTTP clients on
usage, costs and invoice history. Prints requests/s, p50/p95/p99 latency and CPU per request for each endpoint,
and the time of a few tenants' usage CSV of the month, one after another.

    uv run python benchmarks/close.py benchmarks/data/100m
    uv run python benchmarks/api.py benchmarks/data/100m
"""
import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx

from billing.directory import User, load_directory
from billing.ledger import Ledger
from billing.service.identity import IdentityConfig, directory_roles, mint_token
from billing.settings import Settings

API = "/api/v1"
# Before measuring: each worker copies the closed month on its first read of it (billing/warehouse_reader.py).
WARM_UP_ROUNDS = 5
REQUESTS_PER_CONNECTION = 20
CSV_TENANTS = 5
CONTENT_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)
ENDPOINTS = {  # name -> path under a tenant, {period} the closed month
    "usage": "/usage?month={period}",
    "costs": "/costs?month={period}",
    "invoice history": "/invoices",
}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a folder closed by benchmarks/close.py")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--requests", type=int, default=3000, help="per endpoint")
    parser.add_argument("--clients", type=int, default=8, help="clients at once, each waiting for its answer")
    parser.add_argument("--tenants", type=int, default=1000, help="random tenants to ask for")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    return parser.parse_args()


def tenant_admin(tenant_id: str) -> str:
    return f"{tenant_id}-admin"


def add_tenant_admins(settings: Settings, data: Path) -> None:
    """The generated directory has members only (so the close sends no alerts), and members see nothing: give
    every tenant an admin of its own, by importing the directory again as an operator would. (The generated
    user ids repeat in every tenant: one of them as admin would be an admin of 10,000 tenants.) Added today,
    the admins are no seat of the closed month."""
    ledger = Ledger(settings.ledger_url)
    if directory_roles(ledger, tenant_admin(ledger.tenants()[0].tenant_id)):
        return  # added by an earlier run
    tenants = [replace(tenant, users=(*tenant.users, User(tenant_admin(tenant.tenant_id), "Admin",
                                                          f"admin@{tenant.tenant_id}.example", "tenant_admin")))
               for tenant in load_directory(data / "directory.yaml")]
    ledger.import_directory(tenants, date.today())


def serve(args: argparse.Namespace, environment: dict[str, str]) -> subprocess.Popen:
    billing = str(Path(sys.executable).with_name("billing"))
    server = subprocess.Popen([billing, "serve", "--host", "127.0.0.1", "--port", str(args.port),
                               "--workers", str(args.workers)], env=environment, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{args.port}{API}/openapi.json").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("billing serve did not start")


async def hit(port: int, requests: list[bytes], clients: int) -> tuple[list[float], float]:
    """Every request, from `clients` clients at once; each one's latency and the wall time.
    A bare HTTP/1.1 client on asyncio streams: the load runs on the 2 cores the server has, and httpx would
    take about 1.5 ms of CPU per request of them, this about a tenth of it. A client keeps its connection for
    REQUESTS_PER_CONNECTION requests, like a page view: the workers share the listening socket, and connections
    kept for the whole run stay where the kernel first put them, often most on one worker."""
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(REQUESTS_PER_CONNECTION):
                if queue.empty():
                    break
                request = queue.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(int(CONTENT_LENGTH.search(head).group(1)))
                latencies.append(time.perf_counter() - started)
                if not head.startswith(b"HTTP/1.1 200 "):
                    asked, answered = request.splitlines()[0].decode(), head.splitlines()[0].decode()
                    raise SystemExit(f"{asked}: {answered} {body[:200]!r}")
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started


def get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process and all its descendants, from /proc: the machine is shared, so
    the CPU a request costs says more than the wall clock alone."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        child = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(child)
        times[child] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, total = [pid], 0.0
    while tree:
        current = tree.pop()
        total += times.get(current, 0.0)
        tree += children.get(current, [])
    return total


def measure(name: str, port: int, requests: list[bytes], clients: int, server: int) -> None:
    """One endpoint: requests/s, latency percentiles, and the CPU per request of the server and of this client."""
    server_cpu, client_cpu = cpu_seconds(server), time.process_time()
    latencies, seconds = asyncio.run(hit(port, requests, clients))
    server_cpu, client_cpu = cpu_seconds(server) - server_cpu, time.process_time() - client_cpu
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(f"{name:<18}{len(latencies) / seconds:>8.0f} req/s  p50 {cuts[49] * 1000:>6.1f} ms  "
          f"p95 {cuts[94] * 1000:>6.1f} ms  p99 {cuts[98] * 1000:>6.1f} ms  CPU per request: "
          f"server {server_cpu / len(latencies) * 1000:.1f} ms, client {client_cpu / len(latencies) * 1000:.1f} ms")


def main() -> None:
    args = arguments()
    home = args.data / "close-home"
    environment = {**os.environ, "BILLING_HOME": str(home), "BILLING_SNAPSHOT_ROOT": str(args.data / "snapshots")}
    settings = Settings.from_env(environment)
    started = time.perf_counter()
    add_tenant_admins(settings, args.data)
    print(f"tenant admins added in {time.perf_counter() - started:.1f} s")
    server = serve(args, environment)
    try:
        config = IdentityConfig.from_env(settings, {})
        tenants = random.Random(15).sample([t.tenant_id for t in Ledger(settings.ledger_url).tenants()], args.tenants)
        tokens = {tenant_id: mint_token(config, tenant_admin(tenant_id), minutes=60)[0] for tenant_id in tenants}
        draw = random.Random(10)
        print(f"{args.workers} workers, {args.clients} clients, {args.requests} requests per endpoint, "
              f"{args.tenants} random tenants")
        for name, path in ENDPOINTS.items():
            requests = [get(f"{API}/tenants/{tenant_id}{path.format(period=args.period)}", tokens[tenant_id])
                        for tenant_id in (draw.choice(tenants) for _ in range(args.requests))]
            for _ in range(WARM_UP_ROUNDS):  # new connections each round, so that both workers get some
                asyncio.run(hit(args.port, requests[:args.clients], args.clients))
            measure(name, args.port, requests, args.clients, server.pid)
        for tenant_id in tenants[:CSV_TENANTS]:  # one at a time, as a person downloads it
            started = time.perf_counter()
            csv = httpx.get(f"http://127.0.0.1:{args.port}{API}/tenants/{tenant_id}/usage/csv?month={args.period}",
                            headers={"Authorization": f"Bearer {tokens[tenant_id]}"}, timeout=60)
            csv.raise_for_status()
            print(f"usage CSV         {time.perf_counter() - started:>8.3f} s  {tenant_id}: "
                  f"{csv.text.count(chr(10)) - 1:,} rows, {len(csv.content):,} bytes")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
