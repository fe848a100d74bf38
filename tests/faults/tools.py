"""What the fault tests share: events made and published as a service would, counts
read from the services' databases and RabbitMQ, the broker's own controls, and the
Jepsen-style line each test prints."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import aio_pika

from crm_contracts import CustomerPromotedToTraditional, Envelope, Event, OrderLine, OrderPlaced
from crm_testkit.infra import Infra, queue_depth

from ..e2e.helpers import metric_total
from ..harness import SERVICES, Databases, Stack, report_line
from .proxy import TcpProxy

T = TypeVar("T")

PROMOTED = CustomerPromotedToTraditional.routing_key
ORDER_PLACED = OrderPlaced.routing_key


# -- events, as the owning service would publish them -------------------------------------


def envelope(event: Event, actor: uuid.UUID | None = None) -> Envelope:
    return Envelope.wrap(event, correlation_id=f"fault-{uuid.uuid4().hex[:12]}", actor=actor)


def promotion(customer_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None) -> Envelope:
    customer_id = customer_id or uuid.uuid4()
    return envelope(
        CustomerPromotedToTraditional(
            customer_id=customer_id,
            name=f"Công ty Thử nghiệm {customer_id.hex[:6]}",
            owner_id=owner_id,
            region_code="79",
            promoted_at=datetime.now(UTC),
        )
    )


def order_placed(customer_id: uuid.UUID, owner_id: uuid.UUID, net: int = 1_000_000) -> Envelope:
    vat = net // 10
    line = OrderLine(
        product_code="FAULT-1",
        product_name="Máy bơm thử",
        product_group="pumps",
        quantity=1,
        unit_price=net,
        discount_pct=0,
        vat_rate_pct=10,
        net_amount=net,
        vat_amount=vat,
    )
    return envelope(
        OrderPlaced(
            order_id=uuid.uuid4(),
            order_number=f"SO-FAULT-{uuid.uuid4().hex[:6].upper()}",
            quote_id=uuid.uuid4(),
            customer_id=customer_id,
            owner_id=owner_id,
            region_code="79",
            lines=[line],
            net_total=net,
            vat_total=vat,
            total=net + vat,
            placed_at=datetime.now(UTC),
            order_date=date.today(),
        ),
        actor=owner_id,
    )


@dataclass(frozen=True)
class Raw:
    """A message that is not a valid event (a malformed publish)."""

    routing_key: str
    body: bytes
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def customer_ids(envelopes: Iterable[Envelope]) -> list[uuid.UUID]:
    return [uuid.UUID(str(e.data["customer_id"])) for e in envelopes]


# -- the suite's view of one stack ---------------------------------------------------------

#: Where each service applies a promotion: (table, the customer's column, which writes are
#: a promotion's). Sales and marketing also write on a registration: a promotion's write
#: is the one with a promotion time (sales) or the stage "traditional" (marketing's copy).
PROMOTION_WRITES = {
    "accounting": ("accounts", "customer_id", "true"),
    "sales": ("sales_customers", "id", "NEW.promoted_at IS NOT NULL"),
    "marketing": ("known_customers", "customer_id", "NEW.lifecycle_stage = 'traditional'"),
}


async def count_applied_promotions(databases: Databases) -> None:
    """Log each committed promotion write in `fault_applied` (see `Faults.effects`)."""
    for service, (table, column, which) in PROMOTION_WRITES.items():
        await databases.execute(
            service,
            f"""
            CREATE TABLE IF NOT EXISTS fault_applied (customer_id uuid NOT NULL);
            CREATE INDEX IF NOT EXISTS fault_applied_customer ON fault_applied (customer_id);
            CREATE OR REPLACE FUNCTION fault_log_applied() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO fault_applied VALUES (NEW.{column}); RETURN NEW; END $$;
            DROP TRIGGER IF EXISTS fault_log_applied ON {table};
            CREATE TRIGGER fault_log_applied BEFORE INSERT ON {table} FOR EACH ROW
                WHEN ({which}) EXECUTE FUNCTION fault_log_applied();
            """,
        )


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as the suite sees it, from the dead-letter queue or parked."""

    message_id: str | None
    body: bytes
    headers: dict[str, Any]


class Faults:
    def __init__(
        self,
        infra: Infra,
        stack: Stack,
        databases: Databases,
        amqp: TcpProxy,
        postgres: TcpProxy,
        customers_postgres: TcpProxy,
    ) -> None:
        self.infra = infra
        self.stack = stack
        self.db = databases
        #: Every service's connection to RabbitMQ goes through this proxy.
        self.amqp = amqp
        #: Accounting's connections to Postgres go through this one.
        self.postgres = postgres
        #: Customers' (a publishing service's) through this one.
        self.customers_postgres = customers_postgres

    async def publish(self, messages: Sequence[Envelope | Raw], copies: int = 1) -> int:
        """Publish straight to the events exchange (persistent, with publisher confirms),
        as the owning service's relay would; return how many the broker confirmed."""
        connection = await aio_pika.connect(self.infra.amqp_url)
        confirmed = 0
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(f"{self.stack.namespace}.events")
            for start in range(0, len(messages), 100):
                batch = [
                    exchange.publish(
                        aio_pika.Message(
                            m.body if isinstance(m, Raw) else m.model_dump_json().encode(),
                            message_id=m.message_id if isinstance(m, Raw) else str(m.event_id),
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=m.routing_key,
                        mandatory=True,
                    )
                    for m in messages[start : start + 100]
                    for _ in range(copies)
                ]
                results = await asyncio.gather(*batch, return_exceptions=True)
                confirmed += sum(1 for r in results if not isinstance(r, BaseException))
        return confirmed

    async def depth(self, service: str, suffix: str = "") -> int:
        """Ready messages in `<ns>.<service><suffix>` ('' the queue, '.retry', '.dlq'); for
        '.dlq' with the dead letters the service parked in its table (crm_kit.deadletters)."""
        ready = await queue_depth(self.infra.amqp_url, f"{self.stack.namespace}.{service}{suffix}")
        if suffix != ".dlq":
            return ready
        parked = await self.db.fetchval(
            service, "SELECT count(*) FROM dead_letters WHERE requeued_at IS NULL"
        )
        return ready + int(parked)

    async def take_dead_letters(self, service: str) -> list[DeadLetter]:
        """Remove and return the service's dead letters: in its dead-letter queue and parked."""
        connection = await aio_pika.connect(self.infra.amqp_url)
        taken = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(f"{self.stack.namespace}.{service}.dlq")
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                taken.append(DeadLetter(message.message_id, message.body, dict(message.headers or {})))
        parked = await self.db.fetch(
            service,
            "DELETE FROM dead_letters WHERE requeued_at IS NULL RETURNING id, message_id, body, headers",
        )
        for row in sorted(parked, key=lambda r: r["id"]):
            taken.append(DeadLetter(row["message_id"], row["body"], json.loads(row["headers"])))
        return taken

    async def effects(self, service: str, ids: Sequence[uuid.UUID]) -> tuple[int, int]:
        """(times applied, distinct customers) of the promotions of `ids` in `service`.

        Each promotion writes one row whose primary key is the customer, so counting rows
        could never show a promotion applied twice (issue 16). `count_applied_promotions`
        logs every committed write attempt instead: a BEFORE INSERT trigger fires even for
        a row that ON CONFLICT then skips, so a promotion handled twice (the inbox letting
        a copy through) logs twice; a rolled-back batch logs nothing."""
        # One statement, so both counts are of the same moment.
        counted = await self.db.fetchval(
            service,
            "SELECT ARRAY[count(*), count(DISTINCT customer_id)] FROM fault_applied"
            " WHERE customer_id = ANY($1::uuid[])",
            list(ids),
        )
        return int(counted[0]), int(counted[1])

    async def handled(self, service: str, event_ids: Sequence[uuid.UUID]) -> int:
        """Events of `event_ids` in the service's inbox (each once at most, by its key)."""
        return await self.db.fetchval(
            service, "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", list(event_ids)
        )

    async def metric(self, service: str, name: str) -> float:
        return await metric_total(self.stack.url(service), name)


# -- polling and reporting -----------------------------------------------------------------


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    every: float = 0.1,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}; last: {result!r}")
        await asyncio.sleep(every)


def report(
    name: str,
    *,
    sent: int,
    confirmed: int,
    consumed: int,
    lost: int,
    duplicated: int,
    dead_lettered: int,
    **more: object,
) -> None:
    """One line per run, as RabbitMQ's Jepsen reports count them."""
    extra = "".join(f", {key.replace('_', ' ')} {value}" for key, value in more.items())
    report_line(
        f"[{name}] sent {sent}, confirmed {confirmed}, consumed {consumed}, lost {lost}, "
        f"duplicated {duplicated}, dead-lettered {dead_lettered}{extra}"
    )


class ReadinessWatch:
    """Polls every service's /readyz while a fault lasts, each from a thread of its own
    (a probe of a service that lost its broker takes a second or two): how many times
    each one said "not ready"."""

    def __init__(self, stack: Stack, services: Sequence[str] = SERVICES, every: float = 0.1) -> None:
        self.stack = stack
        self.every = every
        self.not_ready: dict[str, int] = dict.fromkeys(services, 0)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._watch, args=(s,), daemon=True) for s in services]

    def __enter__(self) -> ReadinessWatch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _watch(self, service: str) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.stack.url(service)}/readyz", timeout=5) as r:
                    ready = r.status == 200
            except (urllib.error.URLError, OSError):
                ready = False
            if not ready:
                self.not_ready[service] += 1
            self._stop.wait(self.every)


# -- the broker itself (rabbitmqctl on this machine) -------------------------------------


def broker_is_local() -> bool:
    return shutil.which("rabbitmqctl") is not None


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()[-500:]}")
    return result.stdout


def consumers(namespace: str, services: Sequence[str] = SERVICES) -> dict[str, int]:
    """Consumers RabbitMQ itself counts on each service's queue."""
    listed: dict[str, int] = {}
    for line in rabbitmqctl("list_queues", "-q", "--no-table-headers", "name", "consumers").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            listed[parts[0]] = int(parts[1])
    return {s: listed.get(f"{namespace}.{s}", 0) for s in services}


def stop_broker_app() -> None:
    rabbitmqctl("stop_app")


def start_broker_app() -> None:
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def ensure_broker_running() -> None:
    """Whatever a test did, leave RabbitMQ running (the other runs on this machine need it)."""
    running = (
        subprocess.run(
            ["rabbitmq-diagnostics", "-q", "check_running"], capture_output=True, timeout=60
        ).returncode
        == 0
    )
    if not running:
        try:
            start_broker_app()
        except RuntimeError:
            subprocess.run(["rabbitmq-server", "-detached"], capture_output=True, timeout=60)
            rabbitmqctl("await_startup")


def slowest(values: Iterable[float]) -> float:
    return max(values, default=0.0)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] if ordered else 0.0
