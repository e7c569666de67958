"""The id of the HTTP request being served, for the rows and log lines it causes.

The serving layer sets it for each request (``xinyong.operations.requests``); the check log
and the access log store it beside their rows, outside what the ledger seals: it says where a
row came from, not what the row is. Outside a request (a command, a worker) it is None.
"""

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("xinyong_request_id", default=None)
