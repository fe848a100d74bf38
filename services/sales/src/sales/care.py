"""The customers service's care activities as sales keeps them for performance: who should
do each and by when (the latest `CareActivityPlanned`), and whether and when it was done or
cancelled (`CareActivityClosed`). The two arrive in any order and may repeat: a plan older
than the one kept changes nothing, a close that came first keeps the activity closed when
its plan arrives, and a close is final."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CareActivityClosed, CareActivityPlanned
from crm_kit.db import table_of

from .models import CareActivity, SalesCustomer
from .performance_rules import CareStatus, care_ended_on
from .settings import Settings


def _customers(event: CareActivityPlanned | CareActivityClosed) -> dict[str, object]:
    """The customer's channel and province from sales' record of it, as they are now."""
    of = SalesCustomer.id == event.customer_id
    return {
        "channel_id": select(SalesCustomer.channel_id).where(of).scalar_subquery(),
        "region_code": select(SalesCustomer.region_code).where(of).scalar_subquery(),
    }


async def activity_planned(session: AsyncSession, event: CareActivityPlanned, sent_at: datetime) -> None:
    """Keep who should do the activity and by when, if this plan is newer than the one kept
    (`sent_at`: its envelope's time); a closed activity keeps its status and its doer."""
    kept = table_of(CareActivity).c
    stmt = insert(CareActivity).values(
        activity_id=event.activity_id,
        customer_id=event.customer_id,
        owner_id=event.owner_id,
        due_on=event.due_on,
        planned_as_of=sent_at,
        status=CareStatus.PLANNED,
        **_customers(event),
    )
    newer = (kept.planned_as_of.is_(None)) | (kept.planned_as_of < stmt.excluded.planned_as_of)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CareActivity.activity_id],
            set_={
                "due_on": case((newer, stmt.excluded.due_on), else_=kept.due_on),
                "owner_id": case(
                    (newer & kept.closed_at.is_(None), stmt.excluded.owner_id), else_=kept.owner_id
                ),
                "planned_as_of": func.greatest(kept.planned_as_of, stmt.excluded.planned_as_of),
                "channel_id": func.coalesce(kept.channel_id, stmt.excluded.channel_id),
                "region_code": func.coalesce(kept.region_code, stmt.excluded.region_code),
            },
        )
    )


#: What a close says of an activity.
_CLOSE = ("status", "done_on", "ended_on", "closed_at")


async def activity_closed(session: AsyncSession, event: CareActivityClosed, settings: Settings) -> None:
    """Done (on `done_on`) or cancelled, whether its plan has arrived or not; of two closes of
    one activity the later stands."""
    status = CareStatus(event.status)
    kept = table_of(CareActivity).c
    stmt = insert(CareActivity).values(
        activity_id=event.activity_id,
        customer_id=event.customer_id,
        owner_id=event.owner_id,
        status=status,
        done_on=event.done_on if status == CareStatus.DONE else None,
        ended_on=care_ended_on(status, event.done_on, settings.local_date(event.closed_at)),
        closed_at=event.closed_at,
        **_customers(event),
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CareActivity.activity_id],
            set_={
                **{
                    column: stmt.excluded[column] for column in ("status", "done_on", "ended_on", "closed_at")
                },
                # The close names whom it was for at the time: newer than any plan.
                "owner_id": func.coalesce(stmt.excluded.owner_id, kept.owner_id),
                "channel_id": func.coalesce(kept.channel_id, stmt.excluded.channel_id),
                "region_code": func.coalesce(kept.region_code, stmt.excluded.region_code),
            },
            where=kept.closed_at.is_(None) | (kept.closed_at < stmt.excluded.closed_at),
        )
    )
