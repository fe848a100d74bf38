"""The end-to-end suite's fixtures (`stack`, `admin`, `new_user`, `issuer`, `databases`)
are in `tests/conftest.py`, shared with the fault and security suites; the helpers
behind them are in `tests/harness.py`. Re-exported here for code that imports them
from this module (no fixtures are defined here)."""

from ..harness import ADMIN_PASSWORD, PASSWORD, ROOT, SERVICES, Api, Databases, Stack, free_port_block, login

__all__ = [
    "ADMIN_PASSWORD",
    "PASSWORD",
    "ROOT",
    "SERVICES",
    "Api",
    "Databases",
    "Stack",
    "free_port_block",
    "login",
]
