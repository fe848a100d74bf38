from datetime import date, datetime

from pydantic import Field

from crm_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Days, months and years (document numbers, validity, performance periods) are
    counted in the business's zone, `business_timezone` (see ServiceSettings)."""

    service_name: str = "sales"
    #: Orders with a total (VAT included) of at least this many dong need a contract.
    contract_threshold: int = Field(default=500_000_000, ge=0)
    #: A quote without a `valid_until` is valid this many days from today.
    quote_validity_days: int = Field(default=30, ge=1, le=365)
    payment_terms_days: int = Field(default=30, ge=0, le=365)

    def local_date(self, moment: datetime) -> date:
        """The day `moment` falls on in the business's calendar (`business_timezone`)."""
        return moment.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The moment `day` begins in the business's zone."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)
