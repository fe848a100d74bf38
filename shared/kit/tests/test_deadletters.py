"""Dead letters an admin can see and send back (issue 16, item 8), against a real RabbitMQ and
Postgres: a running service parks what its dead-letter queue holds in its `dead_letters`
table, lists and shows them on its admin routes without taking anything off a queue, and
requeues them to its own queue with their event ids, where the inbox makes a second
copy a no-op."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, Event
from crm_kit.assembly import create_service_app
from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_kit.db import Database
from crm_kit.handlers import Handlers
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra, bus_policies, queue_depth

pytestmark = pytest.mark.integration

SERVICE = "dlsvc"
SERVICES = [SERVICE]
Eventually = Callable[..., Awaitable[Any]]
PRIVATE, PUBLIC = generate_keypair()
ISSUER = TokenIssuer(PRIVATE, issuer="crm-gateway", audience="crm", ttl=timedelta(minutes=10))

TEST_METADATA = MetaData()
effects = Table(
    "effects",
    TEST_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False),  # not unique: only the inbox stops a second effect
)


class Broken(Event, routing_key="dlsvc.thing.broken.v1"):
    label: str


#: While set, the handler fails for good (a bug); then it is fixed.
broken = True
handlers = Handlers()


@handlers.handles(Broken)
async def on_broken(session: AsyncSession, event: Broken, envelope: Envelope) -> None:
    await session.execute(effects.insert().values(event_id=envelope.event_id))
    if broken:
        raise RuntimeError("a bug, fixed in the next release")


def settings_for(infra: Infra, database: Database, namespace: str) -> ServiceSettings:
    return ServiceSettings(
        service_name=SERVICE,
        amqp_url=infra.amqp_url,
        database_url=database.url,
        bus_namespace=namespace,
        jwt_public_key=PUBLIC,
        retry_delay_s=0.2,
        max_attempts=2,
        delivery_limit=3,
        dead_letter_interval_s=0.2,
        retention_enabled=False,
    )


@pytest.fixture(scope="module")
async def http(infra: Infra, database: Database, namespace: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(infra, database, namespace)
    async with bus_policies(settings):
        app = create_service_app(settings, title="dead letters", handlers=handlers)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://dlsvc"
            ) as client:
                yield client


def as_role(role: Role) -> dict[str, str]:
    user = User(id=uuid.uuid4(), username=role.value, role=role)
    return {"Authorization": f"Bearer {ISSUER.issue(user)}"}


ADMIN = as_role(Role.ADMIN)
BASE = f"/api/admin/{SERVICE}/dead-letters"


async def publish(infra: Infra, namespace: str, envelope: Envelope, body: bytes | None = None) -> None:
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{namespace}.events")
        message = aio_pika.Message(
            body or envelope.model_dump_json().encode(),
            message_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
        )
        await exchange.publish(message, routing_key=envelope.routing_key, mandatory=True)


async def effects_of(database: Database, event_id: uuid.UUID) -> int:
    async with database.transaction() as session:
        return len((await session.execute(select(effects).where(effects.c.event_id == event_id))).all())


async def listed(http: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await http.get(BASE, headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_dead_letter_is_parked_listed_shown_and_requeued_once(
    infra: Infra, database: Database, namespace: str, http: httpx.AsyncClient, eventually: Eventually
) -> None:
    global broken
    envelope = Envelope.wrap(Broken(label="doomed until fixed"), correlation_id="dl-flow")
    await publish(infra, namespace, envelope)

    page = await eventually(
        lambda: listed(http), lambda p: any(i["message_id"] == str(envelope.event_id) for i in p["items"])
    )
    item = next(i for i in page["items"] if i["message_id"] == str(envelope.event_id))
    assert item["routing_key"] == Broken.routing_key
    assert item["reason"].startswith("gave up after 2 tries: RuntimeError: a bug")
    assert item["requeued_at"] is None
    # Parked: off the dead-letter queue, in the table.
    assert await queue_depth(infra.amqp_url, f"{namespace}.{SERVICE}.dlq") == 0

    shown = await http.get(f"{BASE}/{item['id']}", headers=ADMIN)
    assert shown.status_code == 200, shown.text
    assert Envelope.model_validate_json(shown.json()["body"]) == envelope
    assert shown.json()["correlation_id"] == "dl-flow"
    assert (await http.get(f"{BASE}/{item['id'] + 10_000}", headers=ADMIN)).status_code == 404
    assert (await http.get(BASE, headers=as_role(Role.SALES_MANAGER))).status_code == 403
    assert await effects_of(database, envelope.event_id) == 0  # every try rolled back

    broken = False  # the fix is deployed
    requeued = await http.post(f"{BASE}/{item['id']}/requeue", headers=ADMIN)
    assert requeued.status_code == 200, requeued.text
    assert requeued.json() == {"requeued": 1}
    await eventually(lambda: effects_of(database, envelope.event_id), lambda n: n == 1, what="handled")

    again = await http.post(f"{BASE}/{item['id']}/requeue", headers=ADMIN)
    assert again.status_code == 409, again.text
    assert item["id"] not in [i["id"] for i in (await listed(http))["items"]]
    assert item["id"] in [i["id"] for i in (await listed(http, requeued="true"))["items"]]


async def test_bulk_requeue_sends_each_back_and_the_inbox_makes_a_second_copy_a_no_op(
    infra: Infra, database: Database, namespace: str, http: httpx.AsyncClient, eventually: Eventually
) -> None:
    global broken
    broken = False
    handled = Envelope.wrap(Broken(label="handled already"), correlation_id="dl-bulk")
    await publish(infra, namespace, handled)
    await eventually(lambda: effects_of(database, handled.event_id), lambda n: n == 1, what="handled")
    # The same event again, with a body the service cannot read: dead-lettered at once.
    garbled = Envelope.wrap(Broken(label="garbled"), correlation_id="dl-bulk")
    await publish(infra, namespace, garbled, body=b"{not json")

    await eventually(
        lambda: listed(http), lambda p: any(i["message_id"] == str(garbled.event_id) for i in p["items"])
    )
    assert (await http.post(f"{BASE}/requeue", headers=ADMIN, json={})).status_code == 422
    ids_and_all = {"ids": [1], "all": True}
    assert (await http.post(f"{BASE}/requeue", headers=ADMIN, json=ids_and_all)).status_code == 422

    # A copy of the handled event, dead-lettered as if its ack had been lost, is sent back too.
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dlx = await channel.get_exchange(f"{namespace}.dlx")
        copy = aio_pika.Message(handled.model_dump_json().encode(), message_id=str(handled.event_id))
        await dlx.publish(copy, routing_key=f"{namespace}.{SERVICE}", mandatory=True)
    page = await eventually(
        lambda: listed(http), lambda p: any(i["message_id"] == str(handled.event_id) for i in p["items"])
    )
    copy_item = next(i for i in page["items"] if i["message_id"] == str(handled.event_id))
    assert copy_item["reason"] == "no reason given"

    bulk = await http.post(f"{BASE}/requeue", headers=ADMIN, json={"all": True})

    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["requeued"] == page["total"]
    # The copy of the handled event had no second effect; the garbled one is dead again.
    await eventually(
        lambda: listed(http), lambda p: any(i["message_id"] == str(garbled.event_id) for i in p["items"])
    )
    assert await effects_of(database, handled.event_id) == 1
    assert all(i["message_id"] != str(handled.event_id) for i in (await listed(http))["items"])


async def run_command(infra: Infra, database: Database, namespace: str, *args: str) -> tuple[int, str]:
    """`python -m <args>` with the service's environment, as an operator runs it."""
    env = {
        **os.environ,
        "SERVICE_NAME": SERVICE,
        "DATABASE_URL": database.url,
        "AMQP_URL": infra.amqp_url,
        "BUS_NAMESPACE": namespace,
        "JWT_PUBLIC_KEY": PUBLIC,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def test_an_operator_lists_shows_and_requeues_with_the_command(
    infra: Infra, database: Database, namespace: str, http: httpx.AsyncClient, eventually: Eventually
) -> None:
    garbled = Envelope.wrap(Broken(label="for the operator"), correlation_id="dl-cli")
    await publish(infra, namespace, garbled, body=b"[1, 2")
    page = await eventually(
        lambda: listed(http), lambda p: any(i["message_id"] == str(garbled.event_id) for i in p["items"])
    )
    item = next(i for i in page["items"] if i["message_id"] == str(garbled.event_id))

    code, out = await run_command(infra, database, namespace, "crm_kit.deadletters", "list")
    assert code == 0, out
    assert item["id"] in [i["id"] for i in json.loads(out)["items"]]
    code, out = await run_command(infra, database, namespace, "crm_kit.deadletters", "show", str(item["id"]))
    assert code == 0, out
    assert json.loads(out)["body"] == "[1, 2"
    code, out = await run_command(infra, database, namespace, "crm_kit.deadletters", "requeue")
    assert code == 2 and "requeue, or --all" in out, out
    code, out = await run_command(
        infra, database, namespace, "crm_kit.deadletters", "requeue", str(item["id"])
    )
    assert code == 0, out
    assert json.loads(out) == {"requeued": 1}
    code, out = await run_command(infra, database, namespace, "crm_kit.deadletters", "show", "999999")
    assert code == 2 and "not found" in out.lower(), out


async def test_the_replay_command_refuses_a_key_the_service_does_not_publish(
    infra: Infra, database: Database, namespace: str, http: httpx.AsyncClient
) -> None:
    args = ["--types", "sales.order.placed.v1", "--since", "2026-01-01T00:00:00Z", "--queue", "nowhere"]
    code, out = await run_command(infra, database, namespace, "crm_kit.replay", *args)
    assert code == 2, out
    assert "dlsvc does not publish sales.order.placed.v1" in out
    code, out = await run_command(infra, database, namespace, "crm_kit.replay", *args[:2], "--since", "soon")
    assert code == 2, out
    assert "since" in out
