"""How keyscope logs in to a stored instance: its row's credential columns ⇄ one ``Auth``.

The one place that builds an ``Auth`` from a row (``auth_of``) and the columns from an
``Auth`` (``sealed``): the password and the TLS client key are stored encrypted by the
caller's ``encrypt`` (``store.secrets.SecretBox``); the user name, the certificates and the
TLS options are not secret and are stored as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keyscope.redis.auth import Auth, Tls
from keyscope.store.tables import InstanceRow

Encrypt = Callable[[str], str]
Decrypt = Callable[[str], str]

LOGIN_COLUMNS = ("username", "password_encrypted", "tls", "tls_client_key_encrypted")
"""The columns of ``InstanceRow`` that ``sealed`` fills."""


def sealed(auth: Auth, encrypt: Encrypt) -> dict[str, Any]:
    """The credential columns that store ``auth``, its secrets encrypted."""
    tls = auth.tls
    return {
        "username": auth.username,
        "password_encrypted": encrypt(auth.password) if auth.password else None,
        "tls": None
        if tls is None
        else {
            "ca_cert": tls.ca_cert,
            "client_cert": tls.client_cert,
            "server_name": tls.server_name,
            "verify": tls.verify,
        },
        "tls_client_key_encrypted": encrypt(tls.client_key) if tls and tls.client_key else None,
    }


def store_login(row: InstanceRow, auth: Auth, encrypt: Encrypt) -> None:
    """Make ``auth`` the row's login (replacing every credential column)."""
    for name, value in sealed(auth, encrypt).items():
        setattr(row, name, value)


def auth_of(row: InstanceRow, decrypt: Decrypt) -> Auth:
    """How to log in to the row's nodes: its secrets decrypted (``SecretKeyError`` if the
    key is not the one they were encrypted with)."""
    password = decrypt(row.password_encrypted) if row.password_encrypted is not None else None
    tls = None
    if row.tls is not None:
        key = row.tls_client_key_encrypted
        tls = Tls(
            ca_cert=row.tls.get("ca_cert"),
            client_cert=row.tls.get("client_cert"),
            client_key=decrypt(key) if key is not None else None,
            server_name=row.tls.get("server_name"),
            verify=bool(row.tls.get("verify", True)),
        )
    return Auth(username=row.username, password=password, tls=tls)
