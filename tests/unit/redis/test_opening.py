"""The opening of a connection judged from its replies alone: Redis answers, and the rest."""

from __future__ import annotations

from typing import Any

import hiredis
import pytest

from keyscope.domain.errors import (
    KeyscopeError,
    NodeAuthFailed,
    NodePermissionDenied,
    NodeUnreachable,
)
from keyscope.redis.acl import command_rule, denial
from keyscope.redis.auth import Auth, Tls
from keyscope.redis.connection import parse_url
from keyscope.redis.opening import judge
from keyscope.redis.transport import NOT_REDIS

NODE = "10.0.0.5:6379"
ERR = hiredis.ReplyError


def message(auth: Auth, auth_reply: Any, ping_reply: Any) -> str | None:
    error = judge(NODE, auth, auth_reply, ping_reply)
    assert error is None or isinstance(error, KeyscopeError)
    return None if error is None else error.message


def test_auth_is_exactly_the_login_given() -> None:
    assert Auth().auth_args() == ()
    assert Auth(password="p").auth_args() == ("AUTH", "p")
    assert Auth("u", "p").auth_args() == ("AUTH", "u", "p")
    assert Auth("u").auth_args() == ("AUTH", "u", "")  # a nopass user, never the default


def test_a_redis_that_answers_pong_is_in() -> None:
    assert message(Auth(), None, b"PONG") is None
    assert message(Auth("u", "p"), b"OK", b"PONG") is None
    # A password for a node that needs none: not an error for the default user (redis-cli).
    no_password = ERR("ERR AUTH <password> called without any password configured for the "
                      "default user. Are you sure your configuration is correct?")  # fmt: skip
    assert message(Auth(password="p"), no_password, b"PONG") is None


def test_refused_logins_are_named_in_keyscope_words() -> None:
    wrong = ERR("WRONGPASS invalid username-password pair or user is disabled.")
    assert (
        message(Auth("u", "p"), wrong, b"PONG")
        == f"{NODE}: the node refused user 'u' or its password"
    )
    assert message(Auth(password="p"), wrong, ERR("NOAUTH Authentication required.")) == (
        f"{NODE}: the node refused the password"
    )
    assert message(Auth(), None, ERR("NOAUTH Authentication required.")) == (
        f"{NODE}: the node requires a password"
    )
    old_redis = ERR("ERR wrong number of arguments for 'auth' command")
    assert message(Auth("u", "p"), old_redis, ERR("NOAUTH Authentication required.")) == (
        f"{NODE}: the node has no ACL users (Redis 6.0 or later); connect without a user name"
    )


def test_a_user_name_refused_by_a_node_without_passwords_is_never_ignored() -> None:
    no_password = ERR("ERR Client sent AUTH, but no password is set")
    error = judge(NODE, Auth("u", "p"), no_password, b"PONG")
    assert isinstance(error, NodeAuthFailed)


@pytest.mark.parametrize(
    ("auth_reply", "ping_reply"),
    [
        (None, b"OK"),  # "+OK" to everything
        (b"OK", b"OK"),
        (ERR("ERR secret banner"), ERR("ERR secret banner")),
        (None, ERR("ERR secret banner")),
        (b"HELLO", b"PONG"),
        (None, [b"PONG"]),
    ],
)
def test_anything_else_is_not_a_redis_server_and_repeats_nothing(
    auth_reply: Any, ping_reply: Any
) -> None:
    login = Auth(password="p") if auth_reply is not None else Auth()
    error = judge(NODE, login, auth_reply, ping_reply)
    assert isinstance(error, NodeUnreachable)
    assert error.message == f"{NODE}: {NOT_REDIS}"


def test_a_denied_ping_and_a_loading_node_are_redis_answers() -> None:
    denied = judge(
        NODE,
        Auth("u", "p"),
        b"OK",
        ERR("NOPERM User u has no permissions to run the 'ping' command"),
    )
    assert isinstance(denied, NodePermissionDenied)
    assert denied.rule == "+ping"
    loading = judge(NODE, Auth(), None, ERR("LOADING Redis is loading the dataset in memory"))
    assert isinstance(loading, NodeUnreachable)
    assert "loading" in loading.message


def test_the_rule_comes_from_the_command_sent_not_the_reply() -> None:
    assert command_rule(("MEMORY", "USAGE", b"k")) == ("MEMORY USAGE", "+memory|usage")
    assert command_rule((b"SCAN", b"0")) == ("SCAN", "+scan")
    assert command_rule(("CLUSTER", "NODES")) == ("CLUSTER NODES", "+cluster|nodes")
    lying = denial("NOPERM User u has no permissions to run the 'flushall' command", ("TYPE",))
    assert lying is not None and lying.rule == "+type"
    key_62 = denial("NOPERM this user has no permissions to access one of the keys used as "
                    "arguments", ("TYPE",))  # fmt: skip
    key_72 = denial("NOPERM No permissions to access a key", ("TYPE",))
    assert key_62 is not None and key_72 is not None
    assert key_62.rule == key_72.rule == "%R~*"
    assert denial("ERR unknown command 'MEMORY'", ("MEMORY", "USAGE")) is None


def test_urls_carry_the_user_and_tls() -> None:
    plain = parse_url("redis://reader:p%40ss@db.internal:6380")
    assert (plain.host, plain.port, plain.auth) == ("db.internal", 6380, Auth("reader", "p@ss"))
    secure = parse_url("rediss://reader@10.0.0.5")
    assert (secure.port, secure.auth) == (6379, Auth("reader", None, Tls()))
    assert "p@ss" not in repr(plain) and "p%40ss" not in repr(plain)


def test_secrets_stay_out_of_repr_and_are_scrubbed() -> None:
    auth = Auth("u", "pw-123", Tls(client_key="-----BEGIN KEY-----secret"))
    assert "pw-123" not in repr(auth) and "secret" not in repr(auth)
    assert auth.scrub("pw-123 and -----BEGIN KEY-----secret") == "*** and ***"
