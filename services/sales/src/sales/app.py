"""The sales service process: `uvicorn sales.app:app`."""

from crm_kit.service import create_service_app, portfolio_router

from . import api, consumers, service
from .settings import Settings

app = create_service_app(
    Settings(),
    title="CRM sales",
    routers=[api.router, portfolio_router("sales", service.holdings)],
    handlers=consumers.handlers,
)
