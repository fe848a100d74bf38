from crm_kit import revocation
from crm_kit.migrations import run_env
from gateway.models import Base

run_env(Base.metadata, revocation.metadata)
