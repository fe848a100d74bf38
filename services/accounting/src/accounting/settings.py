from pydantic import Field

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "accounting"
    #: Credit limit of a new account until an accountant sets one, and of a prospect
    #: (a customer without an account) in a credit check (integer dong).
    default_credit_limit: int = Field(default=50_000_000, ge=0)
    #: The seller's two letters closing its e-invoice series (ký hiệu hóa đơn `C26TAA`).
    einvoice_series_letters: str = Field(default="AA", pattern=r"^[A-Z]{2}$")
