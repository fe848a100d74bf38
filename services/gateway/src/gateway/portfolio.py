"""`GET /api/users/{id}/portfolio`: what every service still holds for a member of staff.

The gateway asks each service's `GET /api/portfolio/{user_id}` at once (with the
caller's token and the flow's correlation id) and sums the answers. A service
without that route (404) holds nothing that is counted ("not tracked"); one that
is down, slow, errors or answers something unreadable is "unavailable", and the
sum is then incomplete.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from fastapi import Request
from pydantic import ValidationError

from crm_kit.context import current_correlation_id
from crm_kit.http import CORRELATION_HEADER, Holdings

from . import domain, transport
from .proxy import Upstreams
from .schemas import PortfolioOut

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    service: str
    #: Counts by kind when the service answered; None when it was not tracked or unavailable.
    holdings: dict[str, int] | None = None
    not_tracked: bool = False

    @property
    def unavailable(self) -> bool:
        return self.holdings is None and not self.not_tracked


def portfolio_headers(request: Request) -> dict[str, str]:
    headers = {"accept": "application/json", CORRELATION_HEADER: current_correlation_id()}
    if authorization := request.headers.get("authorization"):
        headers["authorization"] = authorization
    return headers


async def ask(upstreams: Upstreams, service: str, user_id: uuid.UUID, headers: dict[str, str]) -> Answer:
    url = f"{upstreams.settings.service_url(service)}/api/portfolio/{user_id}"
    try:
        response = await upstreams.request("GET", url, headers)
    except transport.UpstreamError as exc:
        log.warning("portfolio: %s is unavailable: %s: %s", service, type(exc).__name__, exc)
        return Answer(service)
    if response.status == 404:
        return Answer(service, not_tracked=True)
    if response.status != 200:
        log.warning("portfolio: %s answered %s", service, response.status)
        return Answer(service)
    try:
        holdings = Holdings.model_validate_json(response.body)
    except ValidationError as exc:
        log.warning("portfolio: %s answered an unreadable body: %s", service, exc)
        return Answer(service)
    # A misconfigured URL (two settings naming one service) must not count twice.
    if holdings.service != service or holdings.user_id != user_id:
        log.warning(
            "portfolio: asked %s about %s, got an answer from %s about %s",
            service,
            user_id,
            holdings.service,
            holdings.user_id,
        )
        return Answer(service)
    if any(count < 0 for count in holdings.holdings.values()):
        log.warning("portfolio: %s answered negative counts: %s", service, holdings.holdings)
        return Answer(service)
    return Answer(service, holdings=dict(holdings.holdings))


async def gather(upstreams: Upstreams, user_id: uuid.UUID, headers: dict[str, str]) -> PortfolioOut:
    answers = await asyncio.gather(*(ask(upstreams, s, user_id, headers) for s in domain.SERVICES))
    return summarise(user_id, answers)


def summarise(user_id: uuid.UUID, answers: list[Answer]) -> PortfolioOut:
    services = {a.service: a.holdings for a in answers if a.holdings is not None}
    unavailable = [a.service for a in answers if a.unavailable]
    return PortfolioOut(
        user_id=user_id,
        services=services,
        total=sum(sum(h.values()) for h in services.values()),
        complete=not unavailable,
        unavailable=unavailable,
        not_tracked=[a.service for a in answers if a.not_tracked],
    )
