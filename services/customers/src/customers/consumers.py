"""Events the customers service reacts to (none yet: leads' LeadQualified comes with the pipeline)."""

from crm_kit.bus import Handlers

handlers = Handlers()
