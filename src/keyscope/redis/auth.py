"""How keyscope logs in to the nodes of one deployment: ``Auth``, passed down as one value.

Every connection to a node (discovery, scans, INFO, replication) takes the deployment's
``Auth``: the ACL user, its password and, where the deployment speaks TLS, the ``Tls``
settings. Nothing below the instance directory handles a bare password, and ``repr`` never
shows a secret (the password, the client key).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS to every node: certificates as PEM text, so one value works for a file or a row.

    ``ca_cert`` None trusts the system's CAs; ``server_name`` None checks each node's
    certificate against the host keyscope connects to; ``verify`` False checks nothing
    (encryption without authentication of the server).
    """

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = field(default=None, repr=False)
    server_name: str | None = None
    verify: bool = True


@dataclass(frozen=True, slots=True)
class Auth:
    """An ACL user name (None: the default user), its password (None: none), TLS or not.

    A user name is always sent, as ``AUTH user password`` (an empty password for a
    ``nopass`` user): a login meant for one ACL user never quietly becomes the default user.
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: Tls | None = None

    @property
    def sends_auth(self) -> bool:
        """Whether connecting sends AUTH at all."""
        return self.username is not None or self.password is not None

    def auth_args(self) -> tuple[str, ...]:
        """The arguments of the AUTH command this login sends (empty: none)."""
        if self.username is not None:
            return ("AUTH", self.username, self.password or "")
        if self.password is not None:
            return ("AUTH", self.password)
        return ()

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this login replaced by ``***``."""
        for secret in (self.password, self.tls.client_key if self.tls else None):
            if secret:
                text = text.replace(secret, "***")
        return text


NO_AUTH = Auth()
"""Connect without logging in, over plain TCP."""
