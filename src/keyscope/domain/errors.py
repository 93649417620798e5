"""The one exception tree of keyscope.

KeyscopeError
├── InvalidInput            400  the caller sent something wrong          (DCS.4000-ish codes)
├── Unauthorized            401  missing, malformed, wrong or stale signature
├── Forbidden               403  a valid credential used on a foreign project
├── NotFound                404  no such instance, task, backup or node
├── Unsupported             400  the instance cannot do this analysis (DCS.49xx, DCS.4818, DCS.4230)
├── Conflict                400  an analysis of the same kind already runs on the instance
├── NodeError               400  a Redis node failed: unreachable, auth refused, went away
│   ├── NodeUnreachable          no Redis answers there (or it stopped answering)
│   ├── NodeAuthFailed           it refused the user name or password
│   ├── NodePermissionDenied     its ACL denies the user a command (names the rule to add)
│   └── TlsRefused               the TLS handshake failed for a reason keyscope can name
├── TaskCancelled           -    the task was deleted while it ran
├── RdbFormatError          -    a corrupt or truncated RDB file, with the byte offset
├── SecretKeyError          500  the key for secrets at rest is wrong, malformed or unsafe
├── StorageError            500  disk full, data folder not writable, database failing (DCS.500x)
└── DataDirInUse            -    another keyscope process holds the data folder (start-up)

Every error carries a DCS error code and a message that is safe to show: never a password,
never a secret key. One handler in ``keyscope.api.errors`` turns them into the DCS body.
"""

from __future__ import annotations

from typing import ClassVar


class KeyscopeError(Exception):
    """Root of every error keyscope raises on purpose."""

    http_status: ClassVar[int] = 500
    default_code: ClassVar[str] = "DCS.5000"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class InvalidInput(KeyscopeError):
    """The request is malformed or a value is out of range."""

    http_status = 400
    default_code = "DCS.4000"


class Unauthorized(KeyscopeError):
    """The request is not signed, or signed wrongly, or its date is outside the window."""

    http_status = 401
    default_code = "DCS.4010"


class Forbidden(KeyscopeError):
    """The credential is valid but does not own the project."""

    http_status = 403
    default_code = "DCS.4030"


class NotFound(KeyscopeError):
    """A named resource does not exist (or is not visible to the caller)."""

    http_status = 404
    default_code = "DCS.4040"


class Unsupported(KeyscopeError):
    """The instance cannot run this analysis; the code says which (DCS.4919, DCS.4922, ...)."""

    http_status = 400
    default_code = "DCS.4900"


class Conflict(KeyscopeError):
    """An analysis of the same kind is already waiting or running on the instance."""

    http_status = 400
    default_code = "DCS.4960"


class NodeError(KeyscopeError):
    """A Redis node failed while keyscope talked to it."""

    http_status = 400
    default_code = "DCS.4970"

    def __init__(self, message: str, *, node: str | None = None, code: str | None = None) -> None:
        super().__init__(f"{node}: {message}" if node else message, code=code)
        self.node = node

    def at(self, node: str) -> NodeError:
        """This error, naming ``node`` (for one raised where the node was not known)."""
        if self.node is not None:
            return self
        named = type(self).__new__(type(self))  # no __init__: subclasses differ in arguments
        named.__dict__.update(self.__dict__)
        named.node = node
        named.message = f"{node}: {self.message}"
        named.args = (named.message,)
        return named


class NodeUnreachable(NodeError):
    """The node does not answer (refused, timed out, closed the connection)."""

    default_code = "DCS.4971"


class NodeAuthFailed(NodeError):
    """The node refused the password (or needs one that was not given)."""

    default_code = "DCS.4972"


class NodePermissionDenied(NodeError):
    """The node's ACL does not let the user run a command keyscope needs (NOPERM).

    ``command`` is what was refused (``MEMORY USAGE``, or ``key access``), ``rule`` the ACL
    rule that allows it (``+memory|usage``, ``%R~*``).
    """

    default_code = "DCS.4973"

    def __init__(self, command: str, rule: str, *, node: str | None = None) -> None:
        super().__init__(
            f"the server refused {command} to this user (NOPERM); "
            f"allow it with the ACL rule {rule}",
            node=node,
        )
        self.command = command
        self.rule = rule


class TlsRefused(NodeError):
    """The TLS handshake failed for a reason keyscope can name (certificate, client cert)."""

    default_code = "DCS.4974"


class TaskCancelled(KeyscopeError):
    """The task was deleted while it ran."""

    default_code = "DCS.4980"


class RdbFormatError(KeyscopeError):
    """The RDB stream is corrupt or truncated at ``offset``."""

    http_status = 400
    default_code = "DCS.4990"

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} at byte offset {offset}")
        self.reason = message
        self.offset = offset


class SecretKeyError(KeyscopeError):
    """The key for secrets at rest cannot decrypt a value, is malformed, or is exposed."""


class StorageError(KeyscopeError):
    """The disk is full, the data folder is not writable, or the database is failing.

    The code says which (``codes.NO_SPACE_LEFT``, ``NOT_WRITABLE``, ``DATABASE_FAILING``).
    """


class DataDirInUse(KeyscopeError):
    """Another live keyscope process holds the data folder's lock; ``holder`` names it."""

    def __init__(self, message: str, *, holder: str) -> None:
        super().__init__(message)
        self.holder = holder
