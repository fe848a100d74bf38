"""Fixtures every test level shares come from the `crm_testkit` pytest plugin:
`infra` (where the real RabbitMQ and Postgres are) and `eventually`."""

import os
import time

# The tests are the business's people: their "today" is the business's calendar day
# (Vietnam, the services' BUSINESS_TIMEZONE default), not the test machine's UTC one.
# Between 17:00 and 24:00 UTC the two differ, and a test's `date.today()` would be
# yesterday to every service. The services never read the process's zone for a
# business date (they use `settings.today()` / the UI's `ui.today()`).
os.environ["TZ"] = "Asia/Ho_Chi_Minh"
time.tzset()
