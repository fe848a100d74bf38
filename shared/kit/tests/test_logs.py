"""Every log line is one JSON object with the trace id of the flow it belongs to, uvicorn's
own lines and tracebacks included."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from uvicorn.config import LOGGING_CONFIG

from crm_kit.logs import UVICORN_LOGGERS, configure_logging


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back afterwards."""
    names = ["", *UVICORN_LOGGERS]
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in UVICORN_LOGGERS}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)
    for name, value in propagate.items():
        logging.getLogger(name).propagate = value


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_line_logged_inside_a_span_carries_its_trace_and_span_id(logging_restored, capsys):
    configure_logging("logsvc")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("logsvc.things").warning("inside")
    logging.getLogger("logsvc.things").warning("outside")
    inside, outside = _lines(capsys.readouterr().out)
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside and outside["msg"] == "outside"


def test_uvicorns_own_lines_and_tracebacks_are_json(logging_restored, capsys):
    # As `python -m uvicorn` does before it imports the app (which configures the logs).
    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging("logsvc")
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8000")
    try:
        raise RuntimeError("boom in a route")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    captured = capsys.readouterr()
    assert captured.err == ""  # uvicorn's default handler wrote plain text to stderr
    started, failed = _lines(captured.out)
    assert started["logger"] == "uvicorn.error" and started["service"] == "logsvc"
    assert started["msg"] == "Uvicorn running on http://127.0.0.1:8000"
    assert failed["level"] == "ERROR" and failed["msg"] == "Exception in ASGI application"
    assert "Traceback" in str(failed["exc"]) and "RuntimeError: boom in a route" in str(failed["exc"])
    assert len(logging.getLogger("uvicorn").handlers) == 1
