"""What one node offers a hot-key analysis: LFU counters and the server's own ``HOTKEYS``.

Asked in one round trip: ``INFO memory`` (the eviction policy: counters exist only under an
LFU one), ``CONFIG GET lfu-log-factor`` and ``lfu-decay-time`` (what a counter means in
accesses; CONFIG may be renamed or refused, then the Redis defaults are assumed) and
``HOTKEYS GET``, which has no side effect: it answers nil or the last session's figures where
the command exists and this user may run it (ACL ``+hotkeys``), and an error reply otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hiredis

from keyscope import defaults
from keyscope.domain.errors import NodePermissionDenied
from keyscope.domain.topology import Node
from keyscope.redis.acl import check_replies
from keyscope.redis.auth import Auth
from keyscope.redis.connection import Endpoint, open_connection, pack, parse_info

LFU_POLICIES = ("allkeys-lfu", "volatile-lfu")


@dataclass(frozen=True, slots=True)
class NodeSources:
    """One node's ways of telling hot keys."""

    node: Node
    policy: str
    log_factor: int | None
    """``lfu-log-factor``; None where CONFIG GET was refused."""
    decay_time: int | None
    hotkeys: bool
    """``HOTKEYS`` answered (Redis 8.6+, and the ACL lets this user run it)."""

    @property
    def lfu(self) -> bool:
        return self.policy in LFU_POLICIES


def _config_int(reply: Any) -> int | None:
    if isinstance(reply, list) and len(reply) == 2:
        try:
            return int(reply[1])
        except (TypeError, ValueError):
            return None
    return None


def node_sources(
    node: Node, auth: Auth, *, timeout: float = defaults.CONNECT_TIMEOUT_S
) -> NodeSources:
    """Ask ``node`` for its policy, LFU settings and whether it has ``HOTKEYS``."""
    conn = open_connection(
        Endpoint(node.host, node.port, auth), connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        conn.send(
            pack("INFO", "memory")
            + pack("CONFIG", "GET", "lfu-log-factor")
            + pack("CONFIG", "GET", "lfu-decay-time")
            + pack("HOTKEYS", "GET")
        )
        memory, log_factor, decay_time, hotkeys = conn.read(4)
    finally:
        conn.close()
    try:
        check_replies([memory], ("INFO", "memory"))  # needed; CONFIG and HOTKEYS are optional
    except NodePermissionDenied as denied:
        raise NodePermissionDenied(denied.command, denied.rule, node=node.address) from None
    policy = ""
    if isinstance(memory, bytes):
        policy = str(parse_info(memory.decode("utf-8", "replace")).get("maxmemory_policy", ""))
    return NodeSources(
        node,
        policy,
        _config_int(log_factor),
        _config_int(decay_time),
        not isinstance(hotkeys, hiredis.ReplyError),
    )
