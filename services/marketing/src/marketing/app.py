"""The marketing service process: `uvicorn marketing.app:app`."""

from crm_kit.service import create_service_app

from . import consumers
from .settings import Settings

app = create_service_app(Settings(), title="CRM marketing", handlers=consumers.handlers)
