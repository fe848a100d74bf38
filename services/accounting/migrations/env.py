from accounting.models import Base
from crm_kit import audit, customer_copy, directory, revocation
from crm_kit.documents import seller
from crm_kit.migrations import run_env

run_env(
    Base.metadata,
    customer_copy.metadata,
    directory.metadata,
    revocation.metadata,
    seller.metadata,
    audit.metadata,
)
