from crm_kit import directory, ownership
from crm_kit.migrations import run_env
from sales.models import Base

run_env(Base.metadata, ownership.metadata, directory.metadata)
