"""Events the gateway reacts to (none yet; portfolio hand-over reports come with offboarding)."""

from crm_kit.bus import Handlers

handlers = Handlers()
