"""The accounting service process: `uvicorn accounting.app:app`."""

from crm_kit.service import create_service_app

from . import api, consumers

app = create_service_app(
    consumers.settings, title="CRM accounting", routers=[api.router], handlers=consumers.handlers
)
