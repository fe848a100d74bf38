from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import Field

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "sales"
    #: Orders with a total (VAT included) of at least this many dong need a contract.
    contract_threshold: int = Field(default=500_000_000, ge=0)
    #: A quote without a `valid_until` is valid this many days from today.
    quote_validity_days: int = Field(default=30, ge=1, le=365)
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    #: Where the business keeps its calendar: days, months and years (document numbers,
    #: validity, performance periods) are counted in this zone.
    business_timezone: str = "Asia/Ho_Chi_Minh"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The moment `day` begins in the business's zone."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)
