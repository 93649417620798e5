"""What a NOPERM reply means: which command the node's ACL refused, and the rule that allows it.

The rule is built from the command keyscope sent, never from the reply's text, so the
message says exactly what to add (``ACL SETUSER <user> +memory|usage``) and nothing the
server chose. README lists the rules each analysis needs; the tests run every analysis as a
user with exactly those rules, and without each one in turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import hiredis

from keyscope.domain.errors import NodePermissionDenied

KEY_RULE = "%R~*"
"""Read access to every key (Redis 7.0+; ``~*`` on Redis 6)."""

_CONTAINERS = frozenset(
    {"acl", "client", "cluster", "command", "config", "memory", "object", "xinfo"}
)
"""Commands whose ACL rule names a subcommand (``+memory|usage``, not ``+memory``)."""


def _text(value: str | bytes | int) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def command_rule(args: Sequence[str | bytes | int]) -> tuple[str, str]:
    """(``"MEMORY USAGE"``, ``"+memory|usage"``) for a command sent as ``args``."""
    name = _text(args[0]).lower()
    if name in _CONTAINERS and len(args) > 1:
        sub = _text(args[1]).lower()
        return f"{name.upper()} {sub.upper()}", f"+{name}|{sub}"
    return name.upper(), f"+{name}"


def is_denial(text: str) -> bool:
    return text.startswith("NOPERM")


def denial(text: str, args: Sequence[str | bytes | int]) -> NodePermissionDenied | None:
    """The permission error behind error reply ``text`` to ``args``; None if it is not one."""
    if not is_denial(text):
        return None
    lowered = text.lower()
    if "key" in lowered and "run the" not in lowered:
        return NodePermissionDenied("read access to keys", KEY_RULE)
    command, rule = command_rule(args)
    return NodePermissionDenied(command, rule)


def check_replies(replies: Iterable[Any], args: Sequence[str | bytes | int]) -> None:
    """Raise the permission error of the first NOPERM among ``replies`` to ``args``."""
    for reply in replies:
        if reply.__class__ is hiredis.ReplyError:
            denied = denial(str(reply), args)
            if denied is not None:
                raise denied
