"""Instances, keyscope's own resource: credentials go in and never come out.

The password and the TLS client key are write-only (``SecretStr`` in, ``has_*`` out); the
user name, the certificates and the TLS options are not secret, but only the user name and
the options are shown, the certificates as ``has_*`` flags (they are long).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from keyscope import defaults
from keyscope.api.schemas.common import Input, Output
from keyscope.domain.topology import InstanceMode
from keyscope.redis.auth import Auth, Tls

PEM_MAX_CHARS = 64 * 1024
"""The longest certificate, chain or key a registration takes."""


def check_address(value: str) -> str:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("each address must be host:port")
    return f"{host}:{int(port)}"


def _check_pem(value: str | None) -> str | None:
    if value is not None and "-----BEGIN " not in value:
        raise ValueError("must be PEM text (-----BEGIN ...)")
    return value


class TlsIn(Input):
    """TLS to every node; ``verify`` false accepts any server certificate."""

    enabled: bool = True
    ca_cert: str | None = Field(default=None, max_length=PEM_MAX_CHARS)
    client_cert: str | None = Field(default=None, max_length=PEM_MAX_CHARS)
    client_key: SecretStr | None = None
    server_name: str | None = Field(default=None, min_length=1, max_length=253)
    verify: bool = True

    check_pems = field_validator("ca_cert", "client_cert")(_check_pem)

    @field_validator("client_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if len(text) > PEM_MAX_CHARS or "-----BEGIN " not in text:
                raise ValueError("must be PEM text (-----BEGIN ...) of at most 64 KiB")
        return value

    def settings(self) -> Tls | None:
        if not self.enabled:
            return None
        key = self.client_key.get_secret_value() if self.client_key is not None else None
        return Tls(self.ca_cert, self.client_cert, key, self.server_name, self.verify)


def _secret(value: SecretStr | None) -> str | None:
    return (value.get_secret_value() or None) if value is not None else None


class InstanceIn(Input):
    name: str = Field(min_length=1, max_length=255)
    mode: InstanceMode
    addresses: list[str] = Field(min_length=1, max_length=64)
    username: str | None = Field(default=None, min_length=1, max_length=255)
    password: SecretStr | None = None
    tls: TlsIn | None = None

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(a) for a in value]

    def auth(self) -> Auth:
        tls = self.tls.settings() if self.tls is not None else None
        return Auth(self.username, _secret(self.password), tls)


class InstanceUpdate(Input):
    """``UpdateInstance``: each field given replaces the stored one (null clears it); a field
    left out is kept. ``tls`` replaces the TLS settings as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    username: str | None = Field(default=None, min_length=1, max_length=255)
    password: SecretStr | None = None
    tls: TlsIn | None = None

    def auth(self, current: Auth) -> Auth:
        """The login after this update of ``current``."""
        given = self.model_fields_set
        return Auth(
            self.username if "username" in given else current.username,
            _secret(self.password) if "password" in given else current.password,
            (self.tls.settings() if self.tls is not None else None)
            if "tls" in given
            else current.tls,
        )


class InstanceCreated(Output):
    instance_id: str


class TlsOut(Output):
    server_name: str | None
    verify: bool
    has_ca_cert: bool
    has_client_cert: bool
    has_client_key: bool


class Features(Output):
    support_acl: bool
    support_transparent_client_ip: bool
    support_ssl: bool
    support_audit_log: bool


class InstanceOut(Output):
    """One instance as ``ListInstances`` / ``ShowInstance`` of DCS show it, keyscope's own
    fields (``mode``, ``addresses``, ``node_count``, ``username``, ``has_password``, ``tls``,
    ``unreachable_nodes``) beside them.

    ``status`` is read live: ``RUNNING`` when every shard has a master answering INFO within
    a short deadline, else ``ERROR``. Memory is in MB over one master per shard, ``capacity``
    in GB (``capacity_minor`` its exact value when under 1 GB); a master without
    ``maxmemory`` counts its machine's memory. Figures are null while the instance is down.
    """

    instance_id: str
    name: str
    mode: str
    addresses: list[str]
    engine: str
    engine_version: str
    node_count: int
    username: str | None
    has_password: bool
    tls: TlsOut | None
    """None: plain TCP."""
    created_at: str | None
    status: str
    ip: str
    port: int
    capacity: int | None
    capacity_minor: str | None
    max_memory: int | None
    used_memory: int | None
    cache_mode: str
    product_type: str
    """``generic``: DCS's name for the community edition, which Redis and Valkey are."""
    sharding_count: int
    replica_count: int
    access_user: str | None
    no_password_access: str
    enable_ssl: bool
    az_codes: list[str]
    available_zones: list[str]
    features: Features
    updated_at: str | None
    update_at: str | None
    """ShowInstance spells it so; the list item ``updated_at``."""
    launched_at: str | None
    unreachable_nodes: list[str]
    """``host:port`` of the nodes that did not answer the live check."""


class InstanceList(Output):
    instance_num: int
    """Instances matching the filters (DCS); ``count`` is the same number (keyscope's)."""
    count: int
    instances: list[InstanceOut]


DcsStatus = Literal[
    "CREATING", "CREATEFAILED", "RUNNING", "ERROR", "RESTARTING", "FROZEN", "EXTENDING",
    "RESTORING", "FLUSHING",
]  # fmt: skip
"""The instance statuses DCS documents; keyscope's live check answers RUNNING or ERROR."""


class InstanceQuery(BaseModel):
    """``ListInstances`` query as DCS documents it: ``name`` matches part of the name, case
    aside (all of it with ``name_equal=true``); ``status`` is the live one. Other DCS
    parameters (``include_failure``, ``tags``, ...) are accepted and have no effect."""

    offset: int = Field(default=0, ge=0, le=defaults.MAX_LIST_OFFSET)
    limit: int = Field(default=defaults.DEFAULT_LIST_LIMIT, ge=0, le=1000)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    name_equal: str | None = Field(default=None, max_length=8)
    instance_id: str | None = Field(default=None, min_length=1, max_length=64)
    status: DcsStatus | None = None

    @property
    def exact_name(self) -> bool:
        return (self.name_equal or "").lower() == "true"
