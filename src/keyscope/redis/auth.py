"""How keyscope logs in to the nodes of one deployment: ``Auth``, passed down as one value.

Every connection to a node (discovery, scans, INFO, replication) takes the deployment's
``Auth``; nothing below the instance directory handles a bare password. ``repr`` never shows
a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Auth:
    """An ACL user name (None: the default user) and its password (None: no AUTH)."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this login replaced by ``***``."""
        return text.replace(self.password, "***") if self.password else text


NO_AUTH = Auth()
"""Connect without logging in."""
