from pydantic import Field

from crm_kit.settings import ServiceSettings

from .spreadsheet import MAX_BYTES, MAX_ROWS


class Settings(ServiceSettings):
    service_name: str = "customers"

    #: Care cadence of a customer no questionnaire has graded yet.
    default_care_cadence_days: int = Field(default=30, ge=1, le=3650)
    import_max_bytes: int = Field(default=MAX_BYTES, ge=1)
    import_max_rows: int = Field(default=MAX_ROWS, ge=1)
