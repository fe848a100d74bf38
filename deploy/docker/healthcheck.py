"""Container health probe (slim images have no curl).

    python /app/healthcheck.py [/healthz|/readyz]

Exits 0 only if http://127.0.0.1:$PORT<path> answers 2xx within the timeout.
"""

import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
# No proxy: a proxy set in the environment must not answer for this container.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(url, timeout=4) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception as exc:  # HTTPError for 4xx/5xx, URLError when nothing listens
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
