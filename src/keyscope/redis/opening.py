"""The opening of every node connection: ``[AUTH ...] PING`` sent in one write, the replies judged.

A connection counts as Redis only once the node has answered both the way Redis does. The
judgement names what a Redis said (a refused login, a denied PING, a data set still
loading) in keyscope's own words, and anything else as ``transport.NOT_REDIS``, so the
other end's text is never repeated.
"""

from __future__ import annotations

from typing import Any

import hiredis

from keyscope.domain.errors import (
    KeyscopeError,
    NodeAuthFailed,
    NodePermissionDenied,
    NodeUnreachable,
)
from keyscope.redis import acl, transport
from keyscope.redis.auth import Auth

OPENING_BYTES = 16 * 1024
"""The most a node may send before its replies to the opening AUTH and PING are complete."""

_WRONG_LOGIN = ("WRONGPASS", "ERR invalid password", "ERR invalid username-password")


def no_password_set(text: str) -> bool:
    """An AUTH error meaning only that the node needs no password."""
    return "no password is set" in text or "without any password configured" in text


def refused_login(auth: Auth) -> str:
    if auth.username is not None:
        return f"the node refused user {auth.username!r} or its password"
    return "the node refused the password"


def judge(node: str, auth: Auth, auth_reply: Any, ping_reply: Any) -> KeyscopeError | None:
    """What the replies to the opening say is wrong (None: a Redis, logged in as asked).

    ``auth_reply`` is None when no AUTH was sent.
    """
    pong = ping_reply == b"PONG"
    if isinstance(auth_reply, hiredis.ReplyError):
        refused = _auth_refused(node, auth, str(auth_reply), pong)
        if refused is not None:
            return refused
    elif auth_reply is not None and auth_reply != b"OK":
        return transport.not_redis(node, "an AUTH reply that is not Redis")
    if isinstance(ping_reply, hiredis.ReplyError):
        text = str(ping_reply)
        if text.startswith("NOAUTH"):
            message = refused_login(auth) if auth.sends_auth else "the node requires a password"
            return NodeAuthFailed(message, node=node)
        if acl.is_denial(text):
            return NodePermissionDenied("PING", "+ping", node=node)
        if text.startswith("LOADING"):
            return NodeUnreachable("the node is loading its data set; try again later", node=node)
    return None if pong else transport.not_redis(node, "no PONG")


def _auth_refused(node: str, auth: Auth, text: str, pong: bool) -> KeyscopeError | None:
    if text.startswith(_WRONG_LOGIN):
        return NodeAuthFailed(refused_login(auth), node=node)
    if auth.username is not None and "wrong number of arguments" in text:
        return NodeAuthFailed(
            "the node has no ACL users (Redis 6.0 or later); connect without a user name",
            node=node,
        )
    if auth.username is None and no_password_set(text):
        # A password given to a node that needs none is not an error (redis-cli agrees); a
        # user name always is, or the connection would quietly run as the default user.
        return None
    if pong:
        return NodeAuthFailed(refused_login(auth), node=node)
    return None  # the PING reply decides: NOAUTH, or not Redis at all
