"""The sales service process: `uvicorn sales.app:app`."""

from crm_kit.service import create_service_app

from . import api, consumers
from .settings import Settings

app = create_service_app(Settings(), title="CRM sales", routers=[api.router], handlers=consumers.handlers)
