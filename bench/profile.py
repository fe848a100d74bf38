"""Where the CPU goes: per-process CPU per event or per request, and optional py-spy profiles.

Starts the stack as `make bench` does, then runs the phases named on the command line:

    .venv/bin/python bench/profile.py burst:10000 sleep:5 rate:200:10 gateway:10 idle:10

- `burst:N`       N promotions committed to the customers outbox at once, until sales,
                  accounting and marketing committed them all: events/s and CPU ms per event
- `rate:R:S`      R promotions a second for S seconds: latency split at the relay's pickup
                  (`published_at` is its transaction's start), and CPU ms per event
- `gateway:S`     wrk for S seconds on a customer read through the gateway, then straight
                  from the customers service: req/s, CPU ms per request, new database sessions
- `idle:S`        each process's CPU while nothing happens (% of a core)
- `sleep:S`       a pause

CPU is `utime + stime` from `/proc/<pid>/stat` for each service and for every Postgres and
RabbitMQ process on the machine: robust to other load, unlike wall time. With
`PROFILE_SPY=sales,customers` each phase also records those services with py-spy
(`pip install py-spy`) into `.local/profiles/<phase>-<service>.txt` (raw, collapsed stacks:
sum them by function, or feed them to a flame graph tool).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import (
    ROOT,
    Stack,
    cpu_by_process,
    inbox_sizes,
    insert_outbox,
    login,
    pct,
    processes,
    promotion_rows,
    running_stack,
    wait_for,
    wrk,
)

SPY = [s for s in os.environ.get("PROFILE_SPY", "").split(",") if s]
OUT = ROOT / ".local" / "profiles"


CONSUMERS = ("sales", "accounting", "marketing", "leads")


def batch_counts(stack: Stack) -> dict[str, tuple[float, float]]:
    """Each consumer's transactions and messages so far (`crm_consume_batch_size`)."""
    found = {}
    for service in CONSUMERS:
        text = httpx.get(f"{stack.url(service)}/metrics", timeout=5).text
        values = {
            line.split("{")[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(("crm_consume_batch_size_count", "crm_consume_batch_size_sum"))
        }
        found[service] = (
            values.get("crm_consume_batch_size_count", 0),
            values.get("crm_consume_batch_size_sum", 0),
        )
    return found


@contextmanager
def measured(stack: Stack, phase: str, units: list[float], unit: str) -> Iterator[None]:
    """Print each process's CPU per unit over the block (`units[0]`, known at its end),
    and the consumers' messages per transaction."""
    pids = processes(stack)
    batches_before = batch_counts(stack)
    before = cpu_by_process(pids)
    OUT.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                "py-spy",
                "record",
                "-p",
                str(stack.processes[s].pid),
                "-r",
                "200",
                "-f",
                "raw",
                "--nonblocking",
                "-o",
                str(OUT / f"{phase}-{s}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in SPY
    ]
    yield
    after = cpu_by_process(pids)
    for spy in spies:
        spy.send_signal(2)  # py-spy writes its file on SIGINT
        spy.wait()
    total = 0.0
    for name in before:
        ms = (after[name] - before[name]) * 1000 / units[0]
        if name.startswith("("):  # a part of the total, said after it
            continue
        total += ms
        if ms >= 0.005:
            print(f"  {name:12} {ms:7.3f} ms/{unit}")
    print(f"  {'all':12} {total:7.3f} ms/{unit}", flush=True)
    kernel = (after["(in the kernel)"] - before["(in the kernel)"]) * 1000 / units[0]
    print(f"  {'of it in the kernel':12} {kernel:7.3f} ms/{unit}", flush=True)
    batches = batch_counts(stack)
    sizes = []
    for service, (count, items) in batches.items():
        count, items = count - batches_before[service][0], items - batches_before[service][1]
        if count:
            sizes.append(f"{service} {items / count:.1f}")
    if sizes:
        print(f"  messages per consumer transaction: {', '.join(sizes)}", flush=True)


async def connect(stack: Stack, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(stack.database(service).replace("+asyncpg", ""))


async def burst(stack: Stack, n: int) -> None:
    customers = await connect(stack, "customers")
    consumers = {s: await connect(stack, s) for s in ("sales", "accounting", "marketing")}
    rows = promotion_rows(n)
    ids = [r[0] for r in rows]
    before = await inbox_sizes(consumers)
    with measured(stack, "burst", [n], "event"):
        started = time.perf_counter()
        await insert_outbox(customers, rows)
        await wait_for(consumers, ids, before)
        print(f"burst of {n}: {n / (time.perf_counter() - started):.0f} events/s")
    for conn in (customers, *consumers.values()):
        await conn.close()


async def rate(stack: Stack, per_s: int, seconds: int) -> None:
    customers = await connect(stack, "customers")
    consumers = {s: await connect(stack, s) for s in ("sales", "accounting")}
    rows = promotion_rows(per_s * seconds)
    ids = [r[0] for r in rows]
    before = await inbox_sizes(consumers)
    with measured(stack, "rate", [len(ids)], "event"):
        started = time.perf_counter()
        for i, row in enumerate(rows):
            await insert_outbox(customers, [row])
            if (delay := started + (i + 1) / per_s - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
        await wait_for(consumers, ids, before)
        outbox = {
            r["event_id"]: (r["created_at"], r["published_at"])
            for r in await customers.fetch(
                "SELECT event_id, created_at, published_at FROM outbox WHERE event_id = ANY($1::uuid[])", ids
            )
        }
        landed: dict[str, dict[uuid.UUID, datetime]] = {}
        for name, conn in consumers.items():
            landed[name] = dict(
                await conn.fetch(
                    "SELECT event_id, received_at FROM inbox WHERE event_id = ANY($1::uuid[])", ids
                )
            )

        def ms(a: datetime, b: datetime) -> float:
            return (b - a).total_seconds() * 1000

        def line(label: str, values: list[float]) -> None:
            p50, p95, p99 = (pct(values, p) for p in (50, 95, 99))
            print(f"  {label:28} p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f} ms")

        print(f"{per_s} events/s for {seconds} s:")
        line("commit -> relay pickup", [ms(*outbox[i]) for i in ids])
        for name, at in landed.items():
            line(f"pickup -> {name}", [ms(outbox[i][1], at[i]) for i in ids])
        line("end to end", [max(ms(outbox[i][0], at[i]) for at in landed.values()) for i in ids])
    for conn in (customers, *consumers.values()):
        await conn.close()


def sessions() -> int:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SELECT sum(sessions) FROM pg_stat_database"],
        capture_output=True,
        text=True,
    ).stdout
    return int(out or 0)


async def gateway(stack: Stack, seconds: int) -> None:
    admin: httpx.AsyncClient = await login(stack.url("gateway"), "admin", "bench-admin")
    customer = (
        await admin.post("/api/customers", json={"name": "Đọc thử", "confirm_duplicate": True})
    ).json()
    token = admin.headers["Authorization"].split()[1]
    await admin.aclose()
    for target in ("gateway", "customers"):
        url = f"{stack.url(target)}/api/customers/{customer['id']}"
        requests = [1.0]
        opened = sessions()
        with measured(stack, f"read-via-{target}", requests, "request"):
            per_s = wrk(url, token, seconds)
            assert per_s is not None, "install wrk (apt-get install wrk)"
            requests[0] = per_s * seconds
            print(f"read via {target}: {per_s:.0f} req/s, {sessions() - opened} new database sessions")


async def idle(stack: Stack, seconds: float) -> None:
    pids = processes(stack)
    before = cpu_by_process(pids)
    await asyncio.sleep(seconds)
    after = cpu_by_process(pids)
    print("idle, % of a core:", {k: round(100 * (after[k] - before[k]) / seconds, 1) for k in before})


async def main(phases: list[str]) -> None:
    async with running_stack(int(os.environ.get("BENCH_PORT_BASE", "28400"))) as (stack, _):
        for phase in phases:
            kind, *args = phase.split(":")
            if kind == "burst":
                await burst(stack, int(args[0]))
            elif kind == "rate":
                await rate(stack, int(args[0]), int(args[1]))
            elif kind == "gateway":
                await gateway(stack, int(args[0]))
            elif kind == "idle":
                await idle(stack, float(args[0]))
            elif kind == "sleep":
                await asyncio.sleep(float(args[0]))
            else:
                raise SystemExit(f"unknown phase {phase!r}; see the docstring")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["burst:10000"]))
