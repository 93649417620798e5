"""The error tree carries DCS codes and context, and its message is safe to show."""

from __future__ import annotations

from keyscope.domain.errors import (
    KeyscopeError,
    NodeUnreachable,
    NotFound,
    RdbFormatError,
    Unsupported,
)


def test_rdb_format_error_carries_its_offset_in_attribute_and_message() -> None:
    err = RdbFormatError("unexpected end of file", offset=1234)
    assert err.offset == 1234
    assert "1234" in str(err)
    assert isinstance(err, KeyscopeError)


def test_node_error_names_the_node() -> None:
    err = NodeUnreachable("connection refused", node="10.0.0.1:6379")
    assert err.node == "10.0.0.1:6379"
    assert str(err) == "10.0.0.1:6379: connection refused"
    assert err.code == "DCS.4971"


def test_http_status_follows_the_branch() -> None:
    assert NotFound("x").http_status == 404
    assert Unsupported("x", code="DCS.4919").code == "DCS.4919"
    assert Unsupported("x").http_status == 400
