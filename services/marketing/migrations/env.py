from crm_kit import audit, customer_copy, directory, handovers, revocation
from crm_kit.migrations import run_env
from marketing.models import Base

run_env(
    Base.metadata,
    directory.metadata,
    customer_copy.metadata,
    revocation.metadata,
    handovers.metadata,
    audit.metadata,
)
