# The kit's outbox and inbox tables join kit_metadata only when their modules are
# imported; without them autogenerate would propose dropping those tables.
import crm_kit.inbox  # noqa: F401
import crm_kit.outbox  # noqa: F401
from crm_kit.migrations import run_env

from gateway.models import Base

run_env(Base.metadata)
