from crm_kit import customer_copy, directory, handovers, revocation
from crm_kit.migrations import run_env
from leads.models import Base

run_env(Base.metadata, directory.metadata, revocation.metadata, handovers.metadata, customer_copy.metadata)
