"""The accounting service process: `uvicorn accounting.app:app`."""

from crm_kit.service import create_service_app, portfolio_router

from . import api, consumers, service

app = create_service_app(
    consumers.settings,
    title="CRM accounting",
    routers=[api.router, portfolio_router("accounting", service.holdings)],
    handlers=consumers.handlers,
)
