"""The headers every answer carries: what a browser may load, frame, sniff, send and keep.

The content security policy allows scripts, styles and everything else from this origin only,
and no inline script at all: the pages keep their scripts in ``/static`` and their data in
``<script type="application/json">`` blocks, which are never run. No page may be framed by
another site (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older browsers). A route
that needs another policy (the evidence viewer, the API documentation) sets its own, and it is
kept. Answers to requests that carry credentials are not stored by any cache: they hold
personal data.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'self'",  # evidence PDFs shown in the reviewer's console
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def style_hash(document: str) -> str:
    """The CSP source that allows the one ``<style>`` block of a standalone document (the
    credit report keeps its style inside, so that a saved copy prints the same)."""
    found = re.search(r"<style>(.*?)</style>", document, re.S)
    if found is None:
        raise ValueError("the document has no <style> block")
    digest = hashlib.sha256(found.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def policy(overrides: Mapping[str, str] | None = None) -> str:
    """A content security policy: ``DIRECTIVES`` with some replaced."""
    directives = {**DIRECTIVES, **(overrides or {})}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


SESSION_COOKIE = b"xinyong_session="
HSTS_SECONDS = 365 * 24 * 3600


class SecurityHeaders:
    """Adds the security headers to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp, content_policy: str) -> None:
        self.app = app
        self.content_policy = content_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_policy = self.content_policy
        credentials = any(
            name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value)
            for name, value in scope["headers"]
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers.setdefault("Content-Security-Policy", content_policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if credentials:
                    headers.setdefault("Cache-Control", "no-store")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
