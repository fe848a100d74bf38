from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "accounting"
    #: Credit limit of a new account until an accountant sets one, and of a prospect
    #: (a customer without an account) in a credit check (integer dong).
    default_credit_limit: int = Field(default=50_000_000, ge=0)
    #: The zone whose calendar "today", overdue days and credit-note dates follow.
    business_timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)  # fail at start, not at the first request
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    def today(self) -> date:
        return datetime.now(self.zone).date()
