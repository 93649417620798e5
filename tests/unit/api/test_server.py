"""The pure parts of ``keyscope serve``'s server set-up: what counts as loopback, the 503."""

from __future__ import annotations

import json

import pytest

from keyscope.api.server import busy_response, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_tls_warning(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "keyscope.example"])
def test_other_hosts_are_beyond_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_the_connection_ceiling_answer_is_a_whole_dcs_503() -> None:
    head, _, body = busy_response("too many open connections; retry shortly").partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    assert {"retry-after: 1", "connection: close", f"content-length: {len(body)}"} <= set(lines)
    assert json.loads(body) == {
        "error_code": "DCS.5030",
        "error_msg": "too many open connections; retry shortly",
        "error_ext_msg": None,
    }
