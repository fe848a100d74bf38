from pydantic import Field

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "accounting"
    #: Credit limit of a new account (and of a prospect in a credit check) while accounting
    #: has set no credit policy (`PUT /api/credit-policy`), integer dong.
    default_credit_limit: int = Field(default=50_000_000, ge=0)
    #: The seller's two letters closing its e-invoice series (ký hiệu hóa đơn `C26TAA`).
    einvoice_series_letters: str = Field(default="AA", pattern=r"^[A-Z]{2}$")
