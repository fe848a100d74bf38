"""Events leads reacts to (none yet; its own issue brings capture and conversion)."""

from crm_kit.bus import Handlers

handlers = Handlers()
