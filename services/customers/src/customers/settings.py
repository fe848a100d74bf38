from typing import Annotated

from pydantic import Field

from crm_kit.settings import ServiceSettings

from .spreadsheet import MAX_BYTES, MAX_ROWS


class Settings(ServiceSettings):
    service_name: str = "customers"

    #: Care cadence of a customer no questionnaire has graded yet.
    default_care_cadence_days: int = Field(default=30, ge=1, le=3650)
    #: A traditional customer with no order for this many days is lapsed (`GET
    #: /api/customers/lapsed`), unless its grade has its own number below.
    lapsed_after_days: int = Field(default=90, ge=1, le=3650)
    #: Days without an order after which a customer of each grade is lapsed, e.g.
    #: LAPSED_DAYS_BY_GRADE='{"A": 45, "VIP": 30, "D": 180}'.
    lapsed_days_by_grade: dict[str, Annotated[int, Field(ge=1, le=3650)]] = Field(default_factory=dict)
    import_max_bytes: int = Field(default=MAX_BYTES, ge=1)
    import_max_rows: int = Field(default=MAX_ROWS, ge=1)
