"""The envelope and contract base: what every producer and consumer relies on."""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from crm_contracts import (
    REGISTRY,
    CustomerPromotedToTraditional,
    CustomerRegistered,
    Envelope,
    Event,
    MalformedEvent,
    decode,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh_key() -> Iterator[str]:
    """A routing key no contract uses, removed from the registry afterwards."""
    entity = "".join(random.choices(string.ascii_lowercase, k=12))
    key = f"contracttest.{entity}.happened.v1"
    yield key
    REGISTRY.pop(key, None)


def registered() -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=uuid.uuid4(),
        name="Công ty TNHH Thiết bị Minh Long",
        lifecycle_stage="prospect",
        owner_id=uuid.uuid4(),
        region_code="HN",
    )


# -- routing keys ------------------------------------------------------------


def test_a_contract_takes_type_and_version_from_its_routing_key(fresh_key: str) -> None:
    class Happened(Event, routing_key=fresh_key):
        n: int

    assert Happened.routing_key == fresh_key
    assert Happened.event_type == fresh_key.removesuffix(".v1")
    assert Happened.version == 1
    assert Happened.source_service() == "contracttest"
    assert REGISTRY[fresh_key] is Happened


@pytest.mark.parametrize(
    "bad_key",
    [
        "CustomerRegistered",  # a class name, not a key
        "customers.customer.registered",  # no version
        "customers.customer.registered.v0",  # versions start at 1
        "customers.customer.registered.V1",  # upper case
        "Customers.customer.registered.v1",
        "customers.customer.v1",  # missing the entity or event
        "customers.customer.registered.extra.v1",  # one part too many
        "customers.customer.registered.v1 ",
    ],
)
def test_a_routing_key_not_of_the_form_service_entity_event_version_is_refused(
    bad_key: str,
) -> None:
    before = dict(REGISTRY)
    with pytest.raises(ValueError, match=r"<service>\.<entity>\.<event>\.v<N>"):

        class Bad(Event, routing_key=bad_key):
            pass

    assert REGISTRY == before


def test_a_second_contract_with_a_taken_routing_key_is_refused(fresh_key: str) -> None:
    class First(Event, routing_key=fresh_key):
        pass

    with pytest.raises(ValueError, match="is taken"):

        class Second(Event, routing_key=fresh_key):
            pass

    assert REGISTRY[fresh_key] is First


def test_the_shipped_contracts_keep_their_routing_keys() -> None:
    # Consumers bind to these strings: renaming a class must not change them.
    assert CustomerRegistered.routing_key == "customers.customer.registered.v1"
    assert CustomerPromotedToTraditional.routing_key == "customers.customer.promoted_to_traditional.v1"
    assert REGISTRY["customers.customer.registered.v1"] is CustomerRegistered


# -- the envelope on the wire -------------------------------------------------


def test_an_envelope_survives_the_wire_with_every_attribute() -> None:
    event = registered()
    cause, actor, event_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sent = Envelope.wrap(event, correlation_id="flow-42", causation_id=cause, actor=actor, event_id=event_id)

    received = decode(sent.model_dump_json().encode())

    assert received == sent
    assert received.event_id == event_id
    assert received.event_type == "customers.customer.registered"
    assert received.version == 1
    assert received.routing_key == "customers.customer.registered.v1"
    assert received.source == "customers"
    assert received.correlation_id == "flow-42"
    assert received.causation_id == cause
    assert received.actor == actor
    assert received.occurred_at.tzinfo is not None
    assert received.payload(CustomerRegistered) == event


def test_each_wrapped_event_gets_its_own_id() -> None:
    event = registered()
    ids = {Envelope.wrap(event, correlation_id="c").event_id for _ in range(100)}
    assert len(ids) == 100


def test_a_str_body_decodes_like_bytes() -> None:
    sent = Envelope.wrap(registered(), correlation_id="c")
    assert decode(sent.model_dump_json()) == sent


def test_fields_a_newer_producer_added_are_ignored() -> None:
    """Within a version producers may add optional fields; old consumers keep working."""
    event = registered()
    wire = json.loads(Envelope.wrap(event, correlation_id="c").model_dump_json())
    wire["tenant"] = "vn-north"
    wire["data"]["loyalty_points"] = 120
    wire["data"]["tags"] = ["fair-2025"]

    received = decode(json.dumps(wire))

    assert received.payload(CustomerRegistered) == event
    assert not hasattr(received, "tenant")


def test_optional_fields_an_older_producer_did_not_send_take_their_defaults() -> None:
    customer_id = uuid.uuid4()
    body = json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "customers.customer.registered",
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
            "source": "customers",
            "correlation_id": "c",
            "data": {"customer_id": str(customer_id), "name": "A", "lifecycle_stage": "prospect"},
        }
    )
    event = decode(body).payload(CustomerRegistered)
    assert event.customer_id == customer_id
    assert event.owner_id is None
    assert event.grade is None


# -- what cannot be processed ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"not json at all", "json"),
        (b"\xff\xfe\x00garbage", "json"),
        (b"", "json"),
        (b"[1, 2, 3]", "envelope"),
        (b"{}", "event_type"),
        (b'{"event_type": "a.b.c", "version": 1, "source": "a", "data": {}}', "correlation_id"),
        (
            b'{"event_type": "a.b.c", "version": "one", "source": "a", "correlation_id": "c", "data": {}}',
            "version",
        ),
        (
            b'{"event_id": "not-a-uuid", "event_type": "a.b.c", "version": 1, '
            b'"source": "a", "correlation_id": "c", "data": {}}',
            "event_id",
        ),
        (
            b'{"event_type": "a.b.c", "version": 1, "source": "a", '
            b'"correlation_id": "c", "data": "a string"}',
            "data",
        ),
    ],
)
def test_garbage_raises_malformed_event_naming_the_problem(body: bytes, names: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        decode(body)
    message = str(caught.value)
    assert message.startswith("envelope:")
    assert names.lower() in message.lower()


def test_malformed_event_is_a_value_error() -> None:
    # Callers that catch ValueError around decoding still catch it.
    assert issubclass(MalformedEvent, ValueError)


def test_asking_for_the_wrong_contract_raises_naming_both() -> None:
    envelope = Envelope.wrap(registered(), correlation_id="c")
    with pytest.raises(MalformedEvent) as caught:
        envelope.payload(CustomerPromotedToTraditional)
    assert "customers.customer.registered.v1" in str(caught.value)
    assert "customers.customer.promoted_to_traditional.v1" in str(caught.value)


def test_a_payload_that_does_not_fit_its_contract_raises_naming_the_field() -> None:
    envelope = Envelope(
        event_type="customers.customer.registered",
        version=1,
        source="customers",
        correlation_id="c",
        data={"name": "A", "lifecycle_stage": "archived"},
    )
    with pytest.raises(MalformedEvent) as caught:
        envelope.payload(CustomerRegistered)
    message = str(caught.value)
    assert message.startswith("customers.customer.registered.v1 payload:")
    assert "customer_id" in message
    assert "lifecycle_stage" in message


def test_a_v2_envelope_is_not_a_v1_payload(fresh_key: str) -> None:
    class HappenedV1(Event, routing_key=fresh_key):
        n: int

    v2_key = fresh_key.removesuffix(".v1") + ".v2"
    try:

        class HappenedV2(Event, routing_key=v2_key):
            n: int
            unit: str

        envelope = Envelope.wrap(HappenedV2(n=1, unit="kg"), correlation_id="c")
        with pytest.raises(MalformedEvent, match="not"):
            envelope.payload(HappenedV1)
        assert envelope.payload(HappenedV2).unit == "kg"
    finally:
        REGISTRY.pop(v2_key, None)


def test_events_and_envelopes_are_immutable() -> None:
    event = registered()
    envelope = Envelope.wrap(event, correlation_id="c")
    with pytest.raises(ValidationError, match="frozen"):
        event.name = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        envelope.correlation_id = "changed"  # type: ignore[misc]
