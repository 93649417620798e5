"""ASGI middleware that authenticates every DCS route from its headers, before its body.

Every path under ``/v2/`` needs a signed request or a console token, except the download
behind a backup link (which carries its own token in the query). The Authorization header is
parsed and everything the headers show is checked here (``signing.check_headers``) before a
byte of the body is read, so a request with a bad or missing signature is refused with 401
and ``Connection: close`` however large a body it announces. Then:

- no body: the signature is checked at once, over the empty-body hash;
- ``X-Sdk-Content-Sha256`` declared (``UNSIGNED-PAYLOAD``, as the SDK sends files, on the
  upload route only; or a hex SHA-256): the signature is checked at once, and a declared
  hash is held against the body as it streams (``BodyDigestMismatch`` at its end);
- otherwise (the SDK's JSON bodies): the body, capped by ``limits.BodySizeLimitMiddleware``
  at ``MAX_JSON_BODY_BYTES``, is read, hashed and checked, then handed to the app as read.
  The upload route refuses this case: a file must declare its payload hash.

The credential is left in the scope under ``CALLER_KEY`` for ``deps.get_caller``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyscope.api import console_tokens
from keyscope.api.credentials import Credential
from keyscope.api.limits import UPLOAD_PATH_SUFFIX
from keyscope.api.signing import (
    EMPTY_PAYLOAD_HASH,
    UNSIGNED_PAYLOAD,
    SignedRequest,
    check_body_digest,
    check_headers,
    check_signature,
    declared_payload_hash,
    payload_hash_of,
)
from keyscope.domain.errors import InvalidInput, KeyscopeError, Unauthorized
from keyscope.store import console_sessions

JSON_BODY_DEADLINE_S = 60.0
"""Longest a signed JSON body (at most ``MAX_JSON_BODY_BYTES``) may take to arrive in all; a
body dripping under the server's idle body timeout cannot keep the connection longer."""

CALLER_KEY = "keyscope.caller"
"""Scope key under which the authenticated ``Credential`` is handed to the routes."""

GATED_PREFIX = "/v2/"
"""Paths under this prefix are DCS routes: each needs a signature or a console token."""

_LINK_ROUTE = re.compile(r"/v2/[^/]+/instances/[^/]+/backups/[^/]+/download/?")
"""The download behind a backup link: authorised by the token in its query instead."""


class BodyDigestMismatch(Unauthorized):
    """Raised from ``receive`` at the end of a body whose SHA-256 is not the declared one."""


def is_gated(path: str) -> bool:
    """Whether a request to ``path`` must be authenticated here."""
    return path.startswith(GATED_PREFIX) and not _LINK_ROUTE.fullmatch(path)


class SignatureGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_gated(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        try:
            credential, receive = await _authenticate(scope, receive)
        except Unauthorized as exc:
            await _refuse(send, exc, close=_body_follows(scope))
            return
        except TimeoutError:
            late = InvalidInput(
                f"the request body did not arrive within {JSON_BODY_DEADLINE_S:.0f} s"
            )
            await _refuse(send, late, close=True)
            return
        scope[CALLER_KEY] = credential
        await self.app(scope, receive, send)


async def _authenticate(scope: Scope, receive: Receive) -> tuple[Credential, Receive]:
    services: Any = scope["app"].state.services
    headers = _headers(scope)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == console_tokens.SCHEME.lower():  # the web console's second scheme
        return _console_caller(services, token.strip()), receive
    raw_path: bytes = scope.get("raw_path") or str(scope["path"]).encode()
    req = SignedRequest(
        method=str(scope["method"]),
        path=raw_path.decode("latin-1"),
        query=bytes(scope.get("query_string", b"")).decode("latin-1"),
        headers=headers,
    )
    check = check_headers(
        req, services.credentials, now=services.clock(), window_s=services.signature_window_s
    )
    if not _body_follows(scope):
        return check_signature(req, check, EMPTY_PAYLOAD_HASH), receive
    takes_file = str(scope["path"]).rstrip("/").endswith(UPLOAD_PATH_SUFFIX)
    declared = declared_payload_hash(req.headers, allow_unsigned=takes_file)
    if declared is not None:
        credential = check_signature(req, check, declared)
        if declared == UNSIGNED_PAYLOAD:
            return credential, receive
        return credential, _digest_checking(receive, declared)
    if takes_file:
        raise Unauthorized(
            "an upload must declare its payload hash before its body: X-Sdk-Content-Sha256 "
            "UNSIGNED-PAYLOAD (as the SDK signs files) or the body's hex SHA-256"
        )
    async with asyncio.timeout(JSON_BODY_DEADLINE_S):
        body, rest = await _read_body(receive)
    full = replace(req, body=body)
    return check_signature(req, check, payload_hash_of(full)), _replaying(body, rest)


def _console_caller(services: Any, token: str) -> Credential:
    """The credential of a console token whose session is still open (not signed out)."""
    now = services.clock()
    credential = console_tokens.verify(token, services.credentials, now=now)
    with services.quick_reads() as session:  # one indexed read, on the loop's own pool
        alive = console_sessions.is_open(
            session, console_tokens.session_id(token), credential.access_key, now=now
        )
    if not alive:
        raise Unauthorized("the console session has ended (signed out or replaced); sign in again")
    return credential


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if headers.get(name, value) != value:
            if name in ("authorization", "x-sdk-date", "host", "x-sdk-content-sha256"):
                raise Unauthorized(f"{name} is given twice with different values")
            value = f"{headers[name]}, {value}"  # how Starlette would join them
        headers[name] = value
    return headers


def _body_follows(scope: Scope) -> bool:
    """Whether the request announces a body (a length above zero, or chunks)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _after(message, receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), receive


def _after(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``message`` (a disconnect) again, then the original."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return message
        return await receive()

    return again


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` whose first message is the whole body already read."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _digest_checking(receive: Receive, declared: str) -> Receive:
    digest = hashlib.sha256()

    async def checking() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            digest.update(message.get("body", b""))
            if not message.get("more_body", False):
                try:
                    check_body_digest(digest.hexdigest(), declared)
                except Unauthorized as exc:
                    raise BodyDigestMismatch(exc.message) from None
        return message

    return checking


async def _refuse(send: Send, exc: KeyscopeError, *, close: bool) -> None:
    body = json.dumps(
        {"error_code": exc.code, "error_msg": exc.message[:1024], "error_ext_msg": None}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:  # the body is never read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
