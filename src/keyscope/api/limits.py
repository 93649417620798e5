"""ASGI middleware that refuses request bodies over a size limit before the app reads them.

A JSON request of the DCS API is a few hundred bytes; the signature check of a JSON body
reads it whole (after its headers have passed, see ``gate``), so it has a small ceiling. A
declared ``Content-Length`` over the limit is refused at once; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the limit. The upload
route takes RDB files, streamed to disk, and has its own, much larger ceiling.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyscope import defaults
from keyscope.domain import codes
from keyscope.domain.errors import InvalidInput

MAX_JSON_BODY_BYTES = 1024 * 1024
"""Largest body of an ordinary API request: the largest DCS body is well under 1 KB."""

UPLOAD_PATH_SUFFIX = "/backups/upload"
"""Requests to paths ending so carry an RDB file (``Settings.upload_max_bytes``)."""


class BodyTooLarge(InvalidInput):
    """Raised inside ``receive`` when a body without Content-Length passes the limit."""


def body_limit(path: str, upload_limit: int = defaults.BACKUP_UPLOAD_MAX_BYTES) -> int:
    """The largest body accepted on ``path``."""
    if path.rstrip("/").endswith(UPLOAD_PATH_SUFFIX):
        return upload_limit
    return MAX_JSON_BODY_BYTES


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, upload_limit: int = defaults.BACKUP_UPLOAD_MAX_BYTES) -> None:
        self.app = app
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(str(scope.get("path", "")), self.upload_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"the request body is larger than {limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error_code": codes.INVALID_REQUEST,
         "error_msg": f"the request body is larger than {limit} bytes", "error_ext_msg": None}
    ).encode()  # fmt: skip
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
