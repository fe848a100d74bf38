"""Events the gateway reacts to: each one that concerns a person becomes a notification
for them (shown in the web UI's header). Handlers decode and delegate; the inbox makes
each event's notification happen once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CareActivityClosed,
    CareActivityPlanned,
    CustomerGraded,
    Envelope,
    LeadCaptured,
    QuoteApproved,
    QuoteRejected,
    QuoteSubmittedForApproval,
)
from crm_kit.auth import Role
from crm_kit.handlers import Handlers

from .domain import NotificationKind
from .notifications import active_users_with_role, notify, withdraw
from .settings import GatewaySettings


def build_handlers(settings: GatewaySettings) -> Handlers:
    """Each contract's handler; reminders fall due on the business zone's calendar."""
    handlers = Handlers()
    handlers.handles(QuoteSubmittedForApproval)(quote_waiting)
    handlers.handles(QuoteApproved)(quote_approved)
    handlers.handles(QuoteRejected)(quote_rejected)
    handlers.handles(LeadCaptured)(lead_assigned)
    handlers.handles(CustomerGraded)(partial(review_reminder, zone=settings.zone))
    handlers.handles(CareActivityPlanned)(partial(care_reminder, zone=settings.zone))
    handlers.handles(CareActivityClosed)(care_closed)
    return handlers


def start_of_business_day(day: date, zone: ZoneInfo) -> datetime:
    """Reminders become due at the start of the business day, in the business's zone."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


async def quote_waiting(session: AsyncSession, event: QuoteSubmittedForApproval, envelope: Envelope) -> None:
    """Every sales manager: a quote waits for approval (unless the rules approve it on a passed check)."""
    if not event.needs_manager:
        return
    managers = await active_users_with_role(session, Role.SALES_MANAGER)
    await notify(
        session,
        managers,
        NotificationKind.QUOTE_WAITING,
        {"number": event.quote_number, "customer": event.customer_name, "total": event.total},
        link=f"/quotes/{event.quote_id}",
        event_id=envelope.event_id,
        # A resubmitted quote replaces its earlier "waiting" notice.
        dedupe_key=f"{NotificationKind.QUOTE_WAITING}:{event.quote_id}",
    )


async def quote_approved(session: AsyncSession, event: QuoteApproved, envelope: Envelope) -> None:
    await notify(
        session,
        [event.owner_id],
        NotificationKind.QUOTE_APPROVED,
        {"number": event.quote_number, "total": event.total, "automatic": event.automatic},
        link=f"/quotes/{event.quote_id}",
        event_id=envelope.event_id,
    )


async def quote_rejected(session: AsyncSession, event: QuoteRejected, envelope: Envelope) -> None:
    await notify(
        session,
        [event.owner_id],
        NotificationKind.QUOTE_REJECTED,
        {"number": event.quote_number, "reason": event.reason},
        link=f"/quotes/{event.quote_id}",
        event_id=envelope.event_id,
    )


async def lead_assigned(session: AsyncSession, event: LeadCaptured, envelope: Envelope) -> None:
    """The owner, when someone else gave them the lead (a manager, an import)."""
    if envelope.actor == event.owner_id:
        return
    await notify(
        session,
        [event.owner_id],
        NotificationKind.LEAD_ASSIGNED,
        {"name": event.full_name, "company": event.company},
        link=f"/leads/{event.lead_id}",
        event_id=envelope.event_id,
    )


async def review_reminder(
    session: AsyncSession, event: CustomerGraded, envelope: Envelope, *, zone: ZoneInfo
) -> None:
    """The owner, on the day the customer's re-grading is due; a later grading moves it."""
    if event.owner_id is None or event.next_review_on is None:
        return
    due = start_of_business_day(event.next_review_on, zone)
    await notify(
        session,
        [event.owner_id],
        NotificationKind.REVIEW_DUE,
        {"grade": event.grade, "due_on": event.next_review_on.isoformat()},
        link=f"/customers/{event.customer_id}",
        event_id=envelope.event_id,
        visible_from=due,
        dedupe_key=f"{NotificationKind.REVIEW_DUE}:{event.customer_id}",
    )


def care_due_key(activity_id: uuid.UUID) -> str:
    return f"{NotificationKind.CARE_DUE}:{activity_id}"


async def care_reminder(
    session: AsyncSession, event: CareActivityPlanned, envelope: Envelope, *, zone: ZoneInfo
) -> None:
    """The person who should do the care, from its due day on; when the work moves to
    someone else, their reminder replaces the previous person's (if still unread)."""
    key = care_due_key(event.activity_id)
    await withdraw(session, key, keep_for=event.owner_id)
    if event.owner_id is None:
        return
    await notify(
        session,
        [event.owner_id],
        NotificationKind.CARE_DUE,
        {"customer": event.customer_name, "activity_kind": event.kind, "due_on": event.due_on.isoformat()},
        link=f"/customers/{event.customer_id}",
        event_id=envelope.event_id,
        visible_from=start_of_business_day(event.due_on, zone),
        dedupe_key=key,
    )


async def care_closed(session: AsyncSession, event: CareActivityClosed, envelope: Envelope) -> None:
    """Done or cancelled care reminds nobody: an unread reminder of it goes."""
    await withdraw(session, care_due_key(event.activity_id))
