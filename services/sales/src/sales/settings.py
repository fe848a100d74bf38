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
    #: How long a request about a customer sales has not heard of waits for the
    #: customers service's event (a customer created a moment ago) before it answers
    #: 503 with Retry-After.
    customer_wait_s: float = Field(default=2.5, ge=0, le=30)

    def local_date(self, moment: datetime) -> date:
        """The day `moment` falls on in the business's calendar (`business_timezone`)."""
        return moment.astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """The moment `day` begins in the business's zone."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)
