"""The leads service process: `uvicorn leads.app:app`."""

from crm_kit.service import create_service_app

from . import consumers
from .settings import Settings

app = create_service_app(Settings(), title="CRM leads", handlers=consumers.handlers)
