"""What leads tells the other services about a lead: captured, qualified, disqualified.

Each event carries where the lead came from and whose it is (`_attribution`), which
marketing and sales count it by.
"""

from __future__ import annotations

from typing import Any

from crm_contracts import LeadCaptured, LeadDisqualified, LeadQualified

from . import domain
from .models import Lead
from .schemas import OpportunityDraft


def captured(lead: Lead) -> LeadCaptured:
    return LeadCaptured(
        lead_id=lead.id,
        full_name=lead.full_name,
        company=lead.company,
        captured_at=lead.created_at,
        **_attribution(lead),
    )


def qualified(
    lead: Lead, opportunity: OpportunityDraft | None, *, onto_existing: bool = False
) -> LeadQualified:
    return LeadQualified(
        lead_id=lead.id,
        customer_id=lead.customer_id,
        opportunity_id=lead.opportunity_id,
        opportunity_name=opportunity.name if opportunity else None,
        expected_amount=opportunity.expected_amount if opportunity else None,
        name=domain.customer_name(lead.full_name, lead.company),
        contact_name=lead.full_name,
        phone=lead.phone,
        email=lead.email,
        qualified_at=lead.converted_at,
        onto_existing=onto_existing,
        **_attribution(lead),
    )


def disqualified(lead: Lead) -> LeadDisqualified:
    return LeadDisqualified(
        lead_id=lead.id,
        reason=lead.disqualify_reason,
        note=lead.disqualify_note,
        disqualified_at=lead.closed_at,
        **_attribution(lead),
    )


def _attribution(lead: Lead) -> dict[str, Any]:
    """Whose the lead is and where it came from (the source was validated on the way in)."""
    return {
        "owner_id": lead.owner_id,
        "source": lead.source,
        "region_code": lead.region_code,
        "channel_id": lead.channel_id,
        "campaign_id": lead.campaign_id,
    }
