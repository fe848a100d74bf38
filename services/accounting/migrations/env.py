from accounting.models import Base
from crm_kit import directory, ownership
from crm_kit.migrations import run_env

run_env(Base.metadata, ownership.metadata, directory.metadata)
