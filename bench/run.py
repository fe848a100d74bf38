"""`make bench`: the system's speed measured against this machine's own limit, in one run.

Starts the six services (their own ports, databases and bus namespace), then measures:

1. ceiling     raw aio-pika: persistent publish with confirms -> consume with ack (quorum queue)
2. e2e         CustomerPromotedToTraditional from the customers outbox to committed rows in
               both sales and accounting: sustained events/s (a burst of N rows), and the
               latency p50/p95/p99 and the CPU per event of every process (the services,
               Postgres, RabbitMQ: `/proc/<pid>/stat`) at a fixed 200 events/s
3. flow        lead -> contact -> evaluate -> convert -> prospect visible, through the gateway
4. gateway     read latency p50/p99 at a fixed rate, and throughput versus a bare FastAPI route
               that reads the same row (`gateway_ratio`); also versus a route answering a
               constant, and the service read without the gateway (all driven by wrk when
               installed, else by an asyncio client)

Prints a table and, last, one machine-readable line; writes bench/results/<time>.json.
Latency of an event = the later of its two inbox rows' `received_at` (the consuming
transaction's start, a few ms before its commit) minus its outbox row's `created_at`.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from crm_contracts import CustomerPromotedToTraditional, Envelope  # noqa: E402
from crm_kit.migrations import drop_database  # noqa: E402
from crm_testkit.infra import (  # noqa: E402
    Infra,
    delete_namespace,
    fresh_database,
    provide_infra,
    unique_namespace,
)
from stack import SERVICES, Stack  # noqa: E402

PROMOTED = CustomerPromotedToTraditional.routing_key
BURST = int(os.environ.get("BENCH_BURST", "10000"))
RATE = 200
RATE_SECONDS = 10
#: Pause between the burst and the fixed-rate phase.
SETTLE_SECONDS = 5


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int, kernel_only: bool = False) -> float:
    """User and system CPU seconds of `pid` so far (only system time: `kernel_only`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # it exited meanwhile
        return 0.0
    ticks = int(fields[12]) + (0 if kernel_only else int(fields[11]))
    return ticks / os.sysconf("SC_CLK_TCK")


def processes(stack: Stack) -> dict[str, list[int]]:
    """Each service's process, and every Postgres and RabbitMQ process on the machine."""
    found = {service: [p.pid] for service, p in stack.processes.items()}
    for name, pattern in (("postgres", "postgres"), ("rabbitmq", "beam.smp")):
        out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
        found[name] = [int(pid) for pid in out.split()]
    return found


def cpu_by_process(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each named group of processes, and by all of them in
    the kernel (`"(in the kernel)"`, a part of the others' sum, not an addend)."""
    return {name: sum(map(cpu_seconds, group)) for name, group in pids.items()} | {
        "(in the kernel)": sum(cpu_seconds(pid, kernel_only=True) for group in pids.values() for pid in group)
    }


def cpu_total(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU seconds all the processes used between two `cpu_by_process` readings."""
    return sum(after[name] - before[name] for name in before if not name.startswith("("))


async def ceiling(amqp_url: str, n: int = 20_000) -> float:
    queue_name = f"bench.ceiling.{uuid.uuid4().hex[:6]}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        publish = await connection.channel(publisher_confirms=True)
        consume = await connection.channel()
        await consume.set_qos(prefetch_count=500)
        queue = await consume.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received == n:
                done.set()

        consumer_tag = await queue.consume(on_message)
        body = b'{"x": "' + b"y" * 300 + b'"}'
        started = time.perf_counter()
        for window in range(0, n, 500):
            await asyncio.gather(
                *(
                    publish.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=queue_name,
                    )
                    for _ in range(window, min(n, window + 500))
                )
            )
        await asyncio.wait_for(done.wait(), timeout=300)
        elapsed = time.perf_counter() - started
        await queue.cancel(consumer_tag)
        await consume.queue_delete(queue_name)
    return n / elapsed


def promotion_rows(n: int) -> list[tuple[Any, ...]]:
    rows = []
    now = datetime.now(UTC)
    for i in range(n):
        event = CustomerPromotedToTraditional(
            customer_id=uuid.uuid4(), name=f"Bench {i}", owner_id=uuid.uuid4(), promoted_at=now
        )
        envelope = Envelope.wrap(event, correlation_id=uuid.uuid4().hex)
        rows.append(
            (envelope.event_id, PROMOTED, envelope.correlation_id, envelope.model_dump_json().encode())
        )
    return rows


async def insert_outbox(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO outbox (event_id, routing_key, correlation_id, body) VALUES ($1, $2, $3, $4)", rows
        )
        await conn.execute("SELECT pg_notify('crm_outbox', '')")


async def arrived(conns: dict[str, asyncpg.Connection], ids: list[uuid.UUID]) -> int:
    """How many of `ids` every consumer has committed (exact; for the end of a phase)."""
    counts = [
        await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", ids)
        for conn in conns.values()
    ]
    return min(counts)


async def inbox_sizes(conns: dict[str, asyncpg.Connection]) -> dict[str, int]:
    return {name: await conn.fetchval("SELECT count(*) FROM inbox") for name, conn in conns.items()}


async def wait_for(
    conns: dict[str, asyncpg.Connection], ids: list[uuid.UUID], before: dict[str, int]
) -> None:
    """Until every consumer committed all of `ids`.

    Polls the inbox's size, which is cheap, and checks the ids themselves once at the
    end: matching 10,000 ids every 50 ms took a fifth of a core from the Postgres
    the system under test was using (the first results below paid for it).
    """
    deadline = time.perf_counter() + 600
    while True:
        sizes = await inbox_sizes(conns)
        if min(sizes[name] - before[name] for name in conns) >= len(ids) and await arrived(conns, ids) == len(
            ids
        ):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the events did not arrive in 10 minutes")
        await asyncio.sleep(0.05)


async def e2e(stack: Stack) -> dict[str, float]:
    customers = await asyncpg.connect(stack.database("customers").replace("+asyncpg", ""))
    consumers = {
        s: await asyncpg.connect(stack.database(s).replace("+asyncpg", "")) for s in ("sales", "accounting")
    }
    try:
        # Sustained: a burst of committed outbox rows, until both consumers committed all.
        rows = promotion_rows(BURST)
        ids = [r[0] for r in rows]
        before = await inbox_sizes(consumers)
        started = time.perf_counter()
        await insert_outbox(customers, rows)
        await wait_for(consumers, ids, before)
        sustained = BURST / (time.perf_counter() - started)
        # Steady state for the latency: the burst's dead rows are being vacuumed away.
        await asyncio.sleep(SETTLE_SECONDS)

        # Latency at a fixed rate: one committed row every 1/RATE s.
        rows = promotion_rows(RATE * RATE_SECONDS)
        ids = [r[0] for r in rows]
        before = await inbox_sizes(consumers)
        pids = processes(stack)
        cpu_before = cpu_by_process(pids)
        started = time.perf_counter()
        for i, row in enumerate(rows):
            await insert_outbox(customers, [row])
            delay = started + (i + 1) / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await wait_for(consumers, ids, before)
        # Every process's CPU over the phase (the six services, Postgres, RabbitMQ; this
        # benchmark's own inserts are in Postgres's share) per promotion.
        cpu_ms = cpu_total(cpu_before, cpu_by_process(pids)) * 1000 / len(ids)
        created = dict(
            await customers.fetch(
                "SELECT event_id, created_at FROM outbox WHERE event_id = ANY($1::uuid[])", ids
            )
        )
        landed: dict[uuid.UUID, datetime] = {}
        for conn in consumers.values():
            for event_id, at in await conn.fetch(
                "SELECT event_id, received_at FROM inbox WHERE event_id = ANY($1::uuid[])", ids
            ):
                landed[event_id] = max(landed.get(event_id, at), at)
        latencies = [(landed[i] - created[i]).total_seconds() * 1000 for i in ids]
        return {
            "e2e_events_per_s": sustained,
            "p50_ms_at_200": statistics.median(latencies),
            "p95_ms_at_200": pct(latencies, 95),
            "p99_ms_at_200": pct(latencies, 99),
            "cpu_ms_per_event_at_200": cpu_ms,
        }
    finally:
        await customers.close()
        for conn in consumers.values():
            await conn.close()


async def login(base: str, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=64))
    token = (await client.post("/api/auth/token", data={"username": username, "password": password})).json()
    client.headers["Authorization"] = f"Bearer {token['access_token']}"
    return client


async def flows(
    stack: Stack, admin: httpx.AsyncClient, n: int = 200, concurrency: int = 10
) -> dict[str, float]:
    await admin.post(
        "/api/users",
        json={
            "username": "bench.seller",
            "password": "bench-password-1",
            "full_name": "Bench",
            "role": "salesperson",
        },
    )
    await asyncio.sleep(1)  # the directory entry reaches leads
    seller = await login(stack.url("gateway"), "bench.seller", "bench-password-1")
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            t0 = time.perf_counter()
            lead = (
                await seller.post(
                    "/api/leads",
                    json={
                        "full_name": f"Khách {i}",
                        "company": f"Công ty Bench {uuid.uuid4().hex[:8]}",
                        "source": "internet",
                    },
                )
            ).json()
            await seller.post(f"/api/leads/{lead['id']}/contact", json={})
            await seller.post(f"/api/leads/{lead['id']}/evaluate", json={"promising": True})
            customer_id = (await seller.post(f"/api/leads/{lead['id']}/convert", json={})).json()[
                "customer_id"
            ]
            while (await seller.get(f"/api/customers/{customer_id}")).status_code != 200:
                await asyncio.sleep(0.01)
            times.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    await seller.aclose()
    return {"flows_per_s": n / elapsed, "flow_p95_ms": pct(times, 95)}


def wrk(url: str, token: str | None, seconds: int = 10) -> float | None:
    if shutil.which("wrk") is None:
        return None
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("Requests/sec:"))
    return float(line.split()[1])


async def python_throughput(url: str, headers: dict[str, str], seconds: float = 10) -> float:
    async with httpx.AsyncClient(headers=headers, limits=httpx.Limits(max_connections=32)) as client:
        done = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await client.get(url)
                done += 1

        await asyncio.gather(*(worker() for _ in range(32)))
    return done / seconds


async def gateway(stack: Stack, admin: httpx.AsyncClient) -> dict[str, float | str]:
    customer = (
        await admin.post("/api/customers", json={"name": "Đọc thử", "confirm_duplicate": True})
    ).json()
    url = f"{stack.url('gateway')}/api/customers/{customer['id']}"
    token = admin.headers["Authorization"].split()[1]
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(RATE * 5):  # 1,000 reads at 200/s
        t0 = time.perf_counter()
        assert (await admin.get(url)).status_code == 200
        latencies.append((time.perf_counter() - t0) * 1000)
        delay = started + (i + 1) / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare:app",
            "--port",
            str(stack.port_base + 10),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "BARE_DATABASE_URL": stack.database("customers").replace("+asyncpg", "")},
    )
    try:
        await asyncio.sleep(2)
        bare_base = f"http://127.0.0.1:{stack.port_base + 10}"
        bare_url = f"{bare_base}/api/customers/{customer['id']}"
        bare_read_url = f"{bare_base}/read/customers/{customer['id']}"
        service_url = f"{stack.url('customers')}/api/customers/{customer['id']}"
        tool = "wrk" if shutil.which("wrk") else "python"
        if tool == "wrk":
            through, direct, service = wrk(url, token), wrk(bare_url, None), wrk(service_url, token)
            bare_read = wrk(bare_read_url, None)
        else:
            through = await python_throughput(url, {"Authorization": f"Bearer {token}"})
            direct = await python_throughput(bare_url, {})
            service = await python_throughput(service_url, {"Authorization": f"Bearer {token}"})
            bare_read = await python_throughput(bare_read_url, {})
    finally:
        bare.terminate()
        bare.wait()
    assert through is not None and direct is not None and service is not None and bare_read is not None
    return {
        # The bare FastAPI route that reads the same row, by hand (asyncpg, no token, no
        # proxy, no ORM): what the gateway's reads are measured against.
        "bare_read_per_s": bare_read,
        "gateway_ratio": through / bare_read,
        # The same read from the customers service itself: what the gateway's hop costs.
        "service_reads_per_s": service,
        "gateway_read_p50_ms": statistics.median(latencies),
        "gateway_read_p99_ms": pct(latencies, 99),
        "gateway_reads_per_s": through,
        # A bare route answering a constant: the HTTP stack alone, no read at all.
        "bare_fastapi_per_s": direct,
        "gateway_vs_bare_constant": through / direct,
        "load_tool": tool,
    }


@asynccontextmanager
async def running_stack(port_base: int) -> AsyncIterator[tuple[Stack, Infra]]:
    """The six services on their own ports, databases and bus namespace; removed afterwards."""
    infra = provide_infra()
    namespace = unique_namespace("bench")
    prefix = f"crm_{namespace}_"
    for service in SERVICES:
        await fresh_database(infra, f"{prefix}{service}")
    stack = Stack(
        amqp_url=infra.amqp_url,
        database_server_url=infra.database_url,
        port_base=port_base,
        namespace=namespace,
        database_prefix=prefix,
        state_dir=ROOT / ".local" / "bench-keys",
        admin_password="bench-admin",
        log_dir=ROOT / ".local" / "bench-logs" / namespace,
    )
    stack.prepare()
    stack.start_all()
    try:
        stack.wait_ready(timeout=120)
        yield stack, infra
    finally:
        stack.stop_all()
        await delete_namespace(infra.amqp_url, namespace, list(SERVICES))
        for service in SERVICES:
            await drop_database(infra.database(f"{prefix}{service}"))
        infra.stop()


async def main() -> None:
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "burst": BURST,
    }
    async with running_stack(int(os.environ.get("BENCH_PORT_BASE", "28300"))) as (stack, infra):
        results.update(await e2e(stack))
        admin = await login(stack.url("gateway"), "admin", "bench-admin")
        results.update(await flows(stack, admin))
        results.update(await gateway(stack, admin))
        await admin.aclose()
        # Last: its 20,000 messages, and deleting their queue, kept RabbitMQ busy for
        # a while, which showed in the latency measured after it.
        results["ceiling_msgs_per_s"] = await ceiling(infra.amqp_url)

    results["ratio"] = results["e2e_events_per_s"] / results["ceiling_msgs_per_s"]
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    ceiling_rate = results["ceiling_msgs_per_s"]
    print(f"\nmachine: {results['machine']['cpus']} cpus, {results['machine']['platform']}")
    print(f"{'measure':52} {'value':>12} {'vs ceiling':>11}")
    for label, key, unit in (
        ("ceiling: aio-pika publish+confirm -> consume+ack", "ceiling_msgs_per_s", "msg/s"),
        (f"e2e promotions outbox -> sales+accounting ({BURST})", "e2e_events_per_s", "ev/s"),
        ("e2e latency p50 at 200/s", "p50_ms_at_200", "ms"),
        ("e2e latency p95 at 200/s", "p95_ms_at_200", "ms"),
        ("e2e latency p99 at 200/s", "p99_ms_at_200", "ms"),
        ("CPU per event at 200/s, all processes", "cpu_ms_per_event_at_200", "ms"),
        ("flow lead->convert->prospect visible (gateway)", "flows_per_s", "flow/s"),
        ("flow p95", "flow_p95_ms", "ms"),
        ("gateway read p50 at 200/s", "gateway_read_p50_ms", "ms"),
        ("gateway read p99 at 200/s", "gateway_read_p99_ms", "ms"),
        (f"gateway reads ({results['load_tool']})", "gateway_reads_per_s", "req/s"),
        (f"bare FastAPI route, same read by hand ({results['load_tool']})", "bare_read_per_s", "req/s"),
        (f"same read from the service, no gateway ({results['load_tool']})", "service_reads_per_s", "req/s"),
        (f"bare FastAPI route, constant answer ({results['load_tool']})", "bare_fastapi_per_s", "req/s"),
    ):
        value = results[key]
        versus = f"{value / ceiling_rate:10.1%}" if unit in ("msg/s", "ev/s", "flow/s") else ""
        if key == "gateway_reads_per_s":
            versus = f"{results['gateway_ratio']:10.1%} of the same read by hand"
        print(f"{label:52} {value:9.1f} {unit:>5} {versus}")
    print(f"results: {out.relative_to(ROOT)}")
    print(
        f"e2e_events_per_s={results['e2e_events_per_s']:.0f} ceiling_msgs_per_s={ceiling_rate:.0f} "
        f"ratio={results['ratio']:.3f} p99_ms_at_200={results['p99_ms_at_200']:.1f} "
        f"gateway_ratio={results['gateway_ratio']:.3f} "
        f"cpu_ms_per_event_at_200={results['cpu_ms_per_event_at_200']:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
