"""A leaver's portfolio ends empty in every service, whatever the order in which the
hand-over and the other events arrive (issue 16, item 4).

Each test makes one service handle the hand-over late (a database trigger fails its
tries until the test lets it through, so it waits in the retry queue) while something
else about the leaver's records goes through.
"""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

pytestmark = pytest.mark.e2e


async def fail_first_move_from(databases, service: str, table: str, column: str, owner: uuid.UUID) -> str:
    """Every transaction that moves a record of `table` away from `owner` fails (a
    hand-over's tries) until `let_through`; the later ones go through. Returns the
    trigger's name."""
    name = f"fault_{uuid.uuid4().hex[:8]}"
    await databases.execute(
        service,
        f"""
        CREATE SEQUENCE {name}_tries;
        CREATE TABLE {name}_blocked (since timestamptz);
        INSERT INTO {name}_blocked VALUES (now());
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('{name}_tries');
            IF EXISTS (SELECT 1 FROM {name}_blocked) THEN
                RAISE EXCEPTION 'fault injected: a move away from {owner} fails';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON {table} FOR EACH ROW
            WHEN (OLD.{column} = '{owner}' AND NEW.{column} IS DISTINCT FROM OLD.{column})
            EXECUTE FUNCTION {name}();
        """,
    )
    return name


async def tries(databases, service: str, name: str) -> int:
    """How many times a move was tried (`is_called`: none yet while the sequence is fresh)."""
    row = await databases.fetchval(
        service, f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {name}_tries"
    )
    return int(row)


async def let_through(databases, service: str, name: str) -> None:
    await databases.execute(service, f"DELETE FROM {name}_blocked")


async def drop(databases, service: str, table: str, name: str) -> None:
    await databases.execute(
        service,
        f"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}(); DROP SEQUENCE {name}_tries;"
        f" DROP TABLE {name}_blocked",
    )


async def nothing_left_with(admin, user_id: uuid.UUID, what: str) -> dict:
    answer = await eventually(
        lambda: admin.client.get(f"/api/users/{user_id}/portfolio"),
        until=lambda r: r.status_code == 200 and r.json()["total"] == 0,
        timeout=40,
        what=what,
    )
    return answer.json()


async def test_a_promotion_handled_before_a_late_hand_over_does_not_keep_the_leaver(
    stack, new_user, admin, databases
):
    """Issue 16: `CustomerReassigned` carried the offboarding's time, and the copies keep
    the owner with the newest time, so a promotion stamped after the offboarding but
    handled before the hand-over won: sales, accounting and marketing kept the
    deactivated owner for good."""
    leaving, taking = await new_user(Role.SALESPERSON), await new_user(Role.SALESPERSON)
    created = await leaving.client.post(
        "/api/customers", json={"name": f"Đại lý Bến Thành {uuid.uuid4().hex[:4]}", "region_code": "79"}
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    trigger = await fail_first_move_from(databases, "customers", "customers", "owner_id", leaving.user_id)
    try:
        offboarded = await admin.client.post(
            f"/api/users/{leaving.user_id}/offboard", json={"reassign_to": str(taking.user_id)}
        )
        assert offboarded.status_code == 202, offboarded.text
        await eventually(
            lambda: tries(databases, "customers", trigger),
            until=lambda n: n >= 1,
            what="the failed first try",
        )
        promoted = await admin.client.post(f"/api/customers/{customer_id}/promote")
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["owner_id"] == str(leaving.user_id)  # the hand-over is still waiting
        # The promotion (still naming the leaver) reaches the other services first.
        await eventually(
            lambda: databases.fetchval(
                "accounting", "SELECT owner_id FROM accounts WHERE customer_id = $1", uuid.UUID(customer_id)
            ),
            until=lambda owner: owner == leaving.user_id,
            what="the promotion handled in accounting before the hand-over",
        )
        await let_through(databases, "customers", trigger)
        await nothing_left_with(admin, leaving.user_id, "the leaver's portfolio empty everywhere")
    finally:
        await drop(databases, "customers", "customers", trigger)
    for service in ("sales", "accounting", "marketing"):
        owner = await databases.fetchval(
            service, "SELECT owner_id FROM known_customers WHERE customer_id = $1", uuid.UUID(customer_id)
        )
        assert owner == taking.user_id, service


async def test_chained_hand_overs_reordered_by_the_retry_queue_strand_nothing(
    stack, new_user, admin, databases
):
    """Issue 16: A -> B then B -> C, with A -> B retried after B -> C was handled: A's
    records moved to B after B's had gone, and stayed with B, who had left too."""
    first, second, third = [await new_user(Role.SALESPERSON) for _ in range(3)]
    customer = await first.client.post(
        "/api/customers", json={"name": f"Cửa hàng Hải Châu {uuid.uuid4().hex[:4]}", "region_code": "48"}
    )
    assert customer.status_code == 201, customer.text
    lead = await first.client.post(
        "/api/leads",
        json={
            "full_name": "Trần Văn Lộc",
            "company": f"Công ty Sơn Trà {uuid.uuid4().hex[:4]}",
            "source": "trade_fair",
        },
    )
    assert lead.status_code == 201, lead.text
    triggers = [
        (
            "customers",
            "customers",
            await fail_first_move_from(databases, "customers", "customers", "owner_id", first.user_id),
        ),
        (
            "leads",
            "leads",
            await fail_first_move_from(databases, "leads", "leads", "owner_id", first.user_id),
        ),
    ]
    try:
        to_second = await admin.client.post(
            f"/api/users/{first.user_id}/offboard", json={"reassign_to": str(second.user_id)}
        )
        assert to_second.status_code == 202, to_second.text
        for service, _, name in triggers:
            await eventually(
                lambda s=service, n=name: tries(databases, s, n), until=lambda n: n >= 1, what=service
            )
        to_third = await admin.client.post(
            f"/api/users/{second.user_id}/offboard", json={"reassign_to": str(third.user_id)}
        )
        assert to_third.status_code == 202, to_third.text
        # B -> C is handled where A -> B waits, before A -> B gets through.
        for service, _, _ in triggers:
            await eventually(
                lambda s=service: databases.fetchval(
                    s, "SELECT count(*) FROM owner_handovers WHERE from_user_id = $1", second.user_id
                ),
                until=lambda n: n == 1,
                what=f"B -> C handled in {service}",
            )
        for service, _, name in triggers:
            await let_through(databases, service, name)
        await nothing_left_with(admin, first.user_id, "nothing left with the first leaver")
        await nothing_left_with(admin, second.user_id, "nothing stranded on the second leaver")
    finally:
        for service, table, name in triggers:
            await drop(databases, service, table, name)
    held = (await admin.client.get(f"/api/users/{third.user_id}/portfolio")).json()["services"]
    assert held["customers"]["customers"] == 1
    assert held["leads"]["leads"] == 1
