"""JSON logs with the service name, correlation id, event id and trace id on every line.

Uvicorn's own loggers (`uvicorn`, `uvicorn.error`, `uvicorn.access`) write through the
same formatter, so its start-up lines and the tracebacks of a failed request are JSON
too (a traceback is the line's `exc` field), with the trace id of the request.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from . import context, tracing

#: The loggers uvicorn configures with handlers of its own before the app is imported.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (cid := context.correlation_id.get()) is not None:
            line["correlation_id"] = cid
        if (eid := context.event_id.get()) is not None:
            line["event_id"] = str(eid)
        if (ids := tracing.trace_ids()) is not None:
            line["trace_id"], line["span_id"] = ids
        for key in ("routing_key", "attempt", "reason"):
            if (value := record.__dict__.get(key)) is not None:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        # Uvicorn gave them plain-text handlers (none to `uvicorn.access` with
        # --no-access-log, which stays silent); whatever they had writes JSON now.
        own = logging.getLogger(name)
        if own.handlers:
            own.handlers[:] = [handler]
    # Per-message framework logs would cost a third of the throughput at INFO.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every request at INFO: a line per proxied request from the gateway
    # (the services log what they did themselves).
    logging.getLogger("httpx").setLevel(logging.WARNING)
