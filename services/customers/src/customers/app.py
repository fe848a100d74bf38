"""The customers service process: `uvicorn customers.app:app`."""

from crm_kit.service import create_service_app

from . import api, consumers
from .settings import Settings

app = create_service_app(Settings(), title="CRM customers", routers=[api.router], handlers=consumers.handlers)
