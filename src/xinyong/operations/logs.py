"""Log lines of a serving process: one JSON object a line, with the request id when there is one.

Every line goes through the standard library's logging (uvicorn's, the check log's, the
request line), and structlog's formatter renders it: the time in UTC, the level, the logger,
the message, the fields passed as ``extra`` and the id of the request being served. ``uvicorn`` builds the formatter in each worker from ``log_config()``.
"""

import logging
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from xinyong.tracing import REQUEST_ID

REQUESTS = "xinyong.requests"


def _json(event: EventDict, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def _request_id(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event["request_id"] = request_id
    return event


def _logger_name(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    record = event.get("_record")
    if record is not None:
        event["logger"] = record.name
    return event


def _without_colours(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's copy of its message for terminals
    return event


def formatter() -> logging.Formatter:
    """The JSON formatter (named in ``log_config``; a string path, so workers can build it)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            _request_id,
            structlog.stdlib.add_log_level,
            _logger_name,
            structlog.stdlib.ExtraAdder(),
            _without_colours,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=_json),
        ],
    )


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``uvicorn.run``: JSON lines on standard error."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "xinyong.operations.logs.formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # The request line replaces uvicorn's access log (it has the route and request id).
            "uvicorn.access": {"handlers": [], "propagate": False},
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # Every /readyz asks alembic for the revision; its notes would fill the log.
            "alembic": {"level": "WARNING"},
        },
    }
