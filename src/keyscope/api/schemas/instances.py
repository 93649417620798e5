"""Instances, keyscope's own resource: the password goes in and never comes out."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from keyscope.api.schemas.common import Input, Output
from keyscope.domain.topology import InstanceMode


def check_address(value: str) -> str:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("each address must be host:port")
    return f"{host}:{int(port)}"


class InstanceIn(Input):
    name: str = Field(min_length=1, max_length=255)
    mode: InstanceMode
    addresses: list[str] = Field(min_length=1, max_length=64)
    password: SecretStr | None = None

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(a) for a in value]


class InstanceCreated(Output):
    instance_id: str


class InstanceOut(Output):
    instance_id: str
    name: str
    mode: str
    addresses: list[str]
    engine: str
    engine_version: str
    node_count: int
    has_password: bool
    created_at: str | None


class InstanceList(Output):
    count: int
    instances: list[InstanceOut]
