from crm_kit import customer_copy, directory, handovers, revocation
from crm_kit.documents import seller
from crm_kit.migrations import run_env
from sales.models import Base

run_env(
    Base.metadata,
    customer_copy.metadata,
    directory.metadata,
    revocation.metadata,
    handovers.metadata,
    seller.metadata,
)
