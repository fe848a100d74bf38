"""How the document generator reaches each service's code without running it.

`build_app` makes a service's FastAPI app as its process does, with its settings read
from the environment and a throw-away signing key. Nothing connects: the database engine and the broker
are only created; they connect in the app's lifespan, which is never entered here.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI

from crm_kit.auth import generate_keypair
from crm_kit.settings import ServiceSettings

SERVICES = ("gateway", "leads", "customers", "sales", "accounting", "marketing")


def settings_class(service: str) -> type[ServiceSettings]:
    """The one settings class `<service>.settings` declares."""
    module = importlib.import_module(f"{service}.settings")
    [cls] = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings)
        and cls is not ServiceSettings
        and cls.__module__ == module.__name__
    ]
    return cls


def build_app(service: str) -> FastAPI:
    """The service's app, built by its own `create_app`, never started."""
    private_key, public_key = generate_keypair()
    keys: dict[str, Any] = {"jwt_public_key": public_key}
    if service == "gateway":
        keys["jwt_private_key"] = private_key
    settings = settings_class(service).model_validate(keys)
    create_app = importlib.import_module(f"{service}.app").create_app
    with _logging_kept():
        app: FastAPI = create_app(settings)
    return app


@contextmanager
def _logging_kept() -> Iterator[None]:
    # `create_service_app` configures the process's logging for a service (JSON lines to
    # stdout); the generator, and a test run that calls it, keep their own.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
