from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from crm_kit.keys import kid_of_private, parse_public_keys
from crm_kit.settings import ServiceSettings

from .domain import SERVICES

DEFAULT_ADMIN_PASSWORD = "admin"


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"

    #: PEM of the Ed25519 key that signs tokens; only the gateway holds it.
    jwt_private_key: str = ""
    jwt_private_key_file: Path | None = None
    token_ttl_s: int = Field(default=8 * 3600, ge=60)
    #: Failed logins for one username from one address within the window before 429.
    login_max_failures: int = Field(default=5, ge=1)
    #: Failed logins from one address, whatever the usernames, within the window before
    #: 429 (an office behind one NAT address shares it: keep it well above a team's typos).
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_window_s: float = Field(default=300, gt=0)

    #: Password of the `admin` user seeded at first start (env CRM_ADMIN_PASSWORD).
    crm_admin_password: str = DEFAULT_ADMIN_PASSWORD

    leads_url: str = "http://127.0.0.1:8001"
    customers_url: str = "http://127.0.0.1:8002"
    sales_url: str = "http://127.0.0.1:8003"
    accounting_url: str = "http://127.0.0.1:8004"
    marketing_url: str = "http://127.0.0.1:8005"

    #: Whole-request budget for a proxied call; past it the caller gets 504.
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    upstream_connect_timeout_s: float = Field(default=5.0, gt=0)
    #: How long an idle pooled connection to a service may be reused. It must stay
    #: below the services' own idle keep-alive (uvicorn's default, 5 s): a request
    #: sent on a connection the service is just closing is lost with a 502.
    upstream_keepalive_s: float = Field(default=4.0, gt=0)
    #: Largest request body the gateway forwards (413 above it).
    #: Large enough for a 5 MB CSV or .xlsx import in a multipart body.
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1)

    @model_validator(mode="after")
    def _load_private_key(self) -> GatewaySettings:
        if not self.jwt_private_key and self.jwt_private_key_file is not None:
            self.jwt_private_key = self.jwt_private_key_file.read_text()
        if self.jwt_private_key:
            derived = _public_pem(self.jwt_private_key)
            # The gateway verifies its own tokens: a set without the signing key's public
            # half would make every login produce a token that nothing accepts.
            if not self.jwt_public_key and self.jwt_public_key_file is None:
                self.jwt_public_key = derived
            elif kid_of_private(self.jwt_private_key) not in parse_public_keys(self.public_keys_text()):
                raise PydanticCustomError(
                    "settings.jwt_key_mismatch",
                    "JWT_PUBLIC_KEY does not belong to JWT_PRIVATE_KEY (not in the set)",
                )
        return self

    def service_url(self, service: str) -> str:
        if service not in SERVICES:
            raise KeyError(service)
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("JWT_PRIVATE_KEY must be an Ed25519 key")
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
