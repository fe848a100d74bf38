from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "customers"

    #: Care cadence of a customer no questionnaire has graded yet.
    default_care_cadence_days: int = Field(default=30, ge=1, le=3650)
    #: The zone whose calendar "today", due dates and review dates follow.
    business_timezone: str = "Asia/Ho_Chi_Minh"
    import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    import_max_rows: int = Field(default=10_000, ge=1)

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
