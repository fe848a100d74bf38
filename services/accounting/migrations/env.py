from crm_kit.migrations import run_env

from accounting.models import Base

run_env(Base.metadata)
