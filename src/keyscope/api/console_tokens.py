"""Bearer tokens for the web console: signed in once with AK and SK, then no secret in the page.

A token is ``<access key>.<expiry, unix seconds>.<nonce>.<mac>`` where ``mac`` is an
HMAC-SHA256 over the first three parts, keyed by a key derived from the credential's secret
key: a forged or altered token is refused without a look-up. A genuine one is accepted only
while its session row lives in the database (``store.console_sessions``, keyed by
``session_id``, the SHA-256 of its nonce; the token itself is not stored), so every
``keyscope serve`` sharing the database honours a sign-out, and the number of sessions per
access key is bounded. It expires on its own, and rotating the secret key revokes it too.
The token never contains the secret key nor anything from which it can be recovered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from keyscope.api.credentials import Credential, CredentialStore
from keyscope.domain.errors import Unauthorized

TOKEN_TTL_S = 3600
"""How long a console token is accepted after sign-in, by default
(``Settings.console_token_ttl_s``)."""

SESSIONS_PER_KEY = 10
"""Console sessions one access key may hold at once, by default
(``Settings.console_sessions_per_key``); a new sign-in past it ends the oldest."""

SCHEME = "Bearer"
"""The Authorization scheme a console request uses (the SDK's is ``SDK-HMAC-SHA256``)."""

_PURPOSE = b"keyscope console token v1"


def _key(credential: Credential) -> bytes:
    return hmac.new(credential.secret_key.get_secret_value().encode(), _PURPOSE, "sha256").digest()


def _mac(credential: Credential, body: str) -> str:
    digest = hmac.new(_key(credential), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(credential: Credential, *, now: datetime, ttl_s: int = TOKEN_TTL_S) -> tuple[str, int]:
    """A new token for ``credential`` and its expiry (unix seconds)."""
    expires = int(now.timestamp()) + ttl_s
    body = f"{credential.access_key}.{expires}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_mac(credential, body)}", expires


def verify(token: str, credentials: CredentialStore, *, now: datetime) -> Credential:
    """The credential a token was issued to; ``Unauthorized`` if forged, malformed or expired."""
    parts = token.rsplit(".", 3)  # an access key may itself contain dots
    if len(parts) != 4 or not parts[1].isdigit():
        raise Unauthorized("the console token is malformed; sign in again")
    access_key, expires, _nonce, mac = parts
    credential = credentials.get(access_key)
    body = ".".join(parts[:3])
    if credential is None or not hmac.compare_digest(
        _mac(credential, body).encode(), mac.encode("ascii", "replace")
    ):
        raise Unauthorized("the console token is not valid; sign in again")
    if int(expires) <= now.timestamp():
        raise Unauthorized("the console token has expired; sign in again")
    return credential


def session_id(token: str) -> str:
    """The key of a token's session row: the hex SHA-256 of its nonce (``verify`` it first)."""
    nonce = token.rsplit(".", 3)[2] if token.count(".") >= 3 else token
    return hashlib.sha256(nonce.encode("utf-8", "replace")).hexdigest()


def check_secret(credentials: CredentialStore, access_key: str, secret_key: str) -> Credential:
    """The credential whose AK and SK these are; ``Unauthorized`` (same message) otherwise."""
    credential = credentials.get(access_key)
    expected = credential.secret_key.get_secret_value() if credential else secrets.token_hex(20)
    if credential is None or not hmac.compare_digest(expected.encode(), secret_key.encode()):
        raise Unauthorized("wrong access key or secret key")
    return credential
