"""One service under test, in-process: its own database (migrated), bus namespace and
signing key, its app started with its lifespan (consumer, relay), an HTTP client on it,
and a channel to publish the events it consumes::

    async with running_service(infra, "accounting", create_app, Settings, retry_delay_s=0.5) as svc:
        await svc.http.get("/api/accounts", headers=svc.headers_for(user))
        envelope = await svc.publish(CustomerPromotedToTraditional(...))
        await svc.handled(envelope)

The policies of its queues (dead-lettering, retry delay, delivery limit) are set from
its settings for its namespace only, and cleared afterwards. Settings go by argument,
never through the environment: the test run imports every
service into one process, and none may inherit another's. The database and namespace
carry a random suffix, so two runs side by side (two developers, CI beside a session)
never meet; both are removed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import aio_pika
import httpx
from fastapi import FastAPI
from sqlalchemy import Row, text

from crm_contracts import Envelope, Event, UserDeactivated, UserRegistered
from crm_kit import directory
from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_kit.db import Database
from crm_kit.migrations import drop_database
from crm_kit.settings import ServiceSettings

from .infra import Infra, bus_policies, delete_namespace, migrated_database, unique_namespace
from .polling import DEADLINE_S, eventually
from .subscriber import publish_as_relay

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


@dataclass
class Staff:
    """A member of staff the service knows, with a token to call it as them."""

    user: User
    headers: dict[str, str]

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def username(self) -> str:
        """What imports name an owner by (the directory matches it case-insensitively)."""
        return self.user.username


@dataclass
class ServiceUnderTest(Generic[S]):
    service: str
    app: FastAPI
    settings: S
    http: httpx.AsyncClient
    db: Database
    issuer: TokenIssuer
    #: A channel with publisher confirms, and the namespace's event exchange on it.
    channel: aio_pika.abc.AbstractChannel
    exchange: aio_pika.abc.AbstractExchange
    infra: Infra

    @property
    def namespace(self) -> str:
        return self.settings.bus_namespace

    def headers_for(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(user)}"}

    async def publish(
        self,
        event: Event,
        *,
        envelope: Envelope | None = None,
        actor: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Publish `event` as its producer's relay would (persistent, message id = event id,
        routed or refused); `envelope` to send one made by the test."""
        if envelope is None:
            envelope = Envelope.wrap(
                event, correlation_id=f"test-{uuid.uuid4().hex[:8]}", actor=actor, event_id=event_id
            )
        if occurred_at is not None:
            envelope = envelope.model_copy(update={"occurred_at": occurred_at})
        await publish_as_relay(self.exchange, envelope, event.routing_key)
        return envelope

    async def handled(self, *envelopes: Envelope | uuid.UUID, timeout: float = DEADLINE_S) -> None:
        """Wait until the service's inbox holds these events: their effect is committed."""
        ids = list({e if isinstance(e, uuid.UUID) else e.event_id for e in envelopes})

        async def count() -> int:
            return int(await self.scalar("SELECT count(*) FROM inbox WHERE event_id = ANY(:ids)", ids=ids))

        await eventually(count, lambda n: n == len(ids), timeout=timeout, what=f"{len(ids)} event(s) handled")

    async def eventually(
        self, probe: Callable[[], Awaitable[T]], done: Callable[[T], Any] = bool, **options: Any
    ) -> T:
        return await eventually(probe, done, **options)

    async def staff(self, role: Role, *, username: str | None = None) -> Staff:
        """A member of staff with a token, known to the service's staff directory the way
        staff join it in production: by a `UserRegistered` event from the gateway."""
        user = User(
            id=uuid.uuid4(), username=username or f"{role.value[:5]}.{uuid.uuid4().hex[:8]}", role=role
        )
        await self.publish(
            UserRegistered(
                user_id=user.id,
                username=user.username,
                full_name=f"Nhân viên {user.username}",
                role=role.value,
                registered_at=datetime.now(UTC),
            )
        )

        async def known() -> bool:
            async with self.db.transaction() as session:
                return await directory.by_id(session, user.id) is not None

        await self.eventually(known, what=f"{user.username} in the directory")
        return Staff(user, self.headers_for(user))

    async def deactivate(self, member: Staff) -> None:
        """Offboard `member` as the gateway does (`UserDeactivated`); wait until it is known."""
        await self.publish(UserDeactivated(user_id=member.id, deactivated_at=datetime.now(UTC)))

        async def gone() -> bool:
            async with self.db.transaction() as session:
                found = await directory.by_id(session, member.id)
                return found is not None and not found.active

        await self.eventually(gone, what=f"{member.user.username} deactivated")

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.transaction() as session:
            return (await session.execute(text(sql), params)).scalar_one()

    async def rows(self, sql: str, **params: Any) -> list[Row[Any]]:
        async with self.db.transaction() as session:
            return list((await session.execute(text(sql), params)).all())

    async def execute(self, sql: str, **params: Any) -> None:
        async with self.db.transaction() as session:
            await session.execute(text(sql), params)


U = TypeVar("U", bound=ServiceUnderTest[Any])


@asynccontextmanager
async def running_service(
    infra: Infra,
    service: str,
    create_app: Callable[[S], FastAPI],
    settings_class: Callable[..., S],
    *,
    kind: Callable[..., U] = ServiceUnderTest,  # type: ignore[assignment]
    keys: tuple[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[U]:
    """`service` started from `create_app(settings_class(...))`; `settings` override the test
    defaults (its own database, namespace and public key are always given). `kind`: a
    subclass of `ServiceUnderTest` with the test's own helpers. `keys`: the (private, public)
    signing pair to use, for a service that also holds the private key (the gateway)."""
    url = await migrated_database(infra, service, f"crm_test_{service}_{uuid.uuid4().hex[:8]}")
    private, public = keys or generate_keypair()
    configured = settings_class(
        **{
            "database_url": url,
            "amqp_url": infra.amqp_url,
            "bus_namespace": unique_namespace(f"t{service[:4]}"),
            "jwt_public_key": public,
            **settings,
        }
    )
    issuer = TokenIssuer(
        private, issuer=configured.jwt_issuer, audience=configured.jwt_audience, ttl=timedelta(hours=1)
    )
    app = create_app(configured)
    connection = await aio_pika.connect(infra.amqp_url)
    try:
        async with bus_policies(configured), app.router.lifespan_context(app):
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(f"{configured.bus_namespace}.events")
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as http:
                yield kind(
                    service, app, configured, http, app.state.runtime.db, issuer, channel, exchange, infra
                )
    finally:
        await connection.close()
        await delete_namespace(infra.amqp_url, configured.bus_namespace, [service])
        await drop_database(url)
