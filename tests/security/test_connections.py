"""Issue 18 #2: idle and slow sockets cannot take the service down; the cap answers in DCS form.

Against the real ``keyscope serve`` over real sockets. Before: uvicorn's
``limit_concurrency=100`` counted open connections, so 101 sockets that sent nothing made
every signed request and ``/healthz`` get a plain-text 503 for as long as they stayed open,
a header line every 10 s held them forever, and a burst of 300 genuine GETs got 278
refusals. Now idle sockets hold no request slot, a header deadline closes them, requests
beyond the cap wait briefly for a slot, and a refusal is the DCS 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from keyscope.api import gate
from keyscope.api.signing import SignedRequest, sign_request
from tests.utils.dcs import AK, FILE_CONTENT_TYPE, PROJECT, SK, SignedClient
from tests.utils.serve import Serve, body_of, request_head, serving, status_of
from tests.utils.servers import RedisServer
from tests.utils.service import running_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEADER_TIMEOUT_S = 3
CLOSE_DEADLINE_S = 60.0
"""How long a test waits for the server to hang up a socket it must hang up."""


def _open(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]


def _closed_by_server(sock: socket.socket) -> bytes | None:
    """What the server sent before hanging up (maybe b""), or None if it never did."""
    sock.settimeout(CLOSE_DEADLINE_S)
    received = b""
    try:
        while data := sock.recv(4096):
            received += data
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def _slowloris(sock: socket.socket, stop: threading.Event) -> None:
    """One header line every second: the request is never finished."""
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        while not stop.wait(1.0):
            sock.sendall(b"X-Slow: 1\r\n")
    except OSError:
        pass  # hung up by the server: what the test expects


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    env = {"KEYSCOPE_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S)}
    with serving(tmp_path, env=env) as served:
        yield served


def test_idle_and_slowloris_sockets_do_not_starve_300_genuine_clients(serve: Serve) -> None:
    idle = _open(serve.port, 150)
    slow = _open(serve.port, 20)
    stop = threading.Event()
    drips = [threading.Thread(target=_slowloris, args=(s, stop)) for s in slow]
    for thread in drips:
        thread.start()
    statuses: list[int] = []
    start = threading.Barrier(300)

    def genuine() -> None:
        with serve.client() as http:
            start.wait(timeout=120)
            statuses.append(SignedClient(http).get("/instances").status_code)

    try:
        with serve.client() as http:
            assert http.get("/healthz").json()["status"] == "ok"
        clients = [threading.Thread(target=genuine) for _ in range(300)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=300)
        assert statuses == [200] * 300
        # The header deadline hangs up on both kinds, the dripping ones with a 408.
        idle_ends = [_closed_by_server(s) for s in idle]
        slow_ends = [_closed_by_server(s) for s in slow]
        assert all(end == b"" for end in idle_ends)
        assert all(end is not None and status_of(end) == 408 for end in slow_ends)
    finally:
        stop.set()
        for sock in idle + slow:
            sock.close()
        for thread in drips:
            thread.join(timeout=30)


def _held_request(serve: Serve) -> socket.socket:
    """A signed JSON POST whose body never finishes (it is read before a slot is taken)."""
    headers = {"host": f"127.0.0.1:{serve.port}", "content-type": "application/json",
               "x-project-id": PROJECT}  # fmt: skip
    path = f"/v2/{PROJECT}/instances"
    signed = sign_request(SignedRequest("POST", path, "", headers, b"{}"), AK, SK)
    sock = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
    sock.sendall(request_head("POST", path, {**signed.headers, "content-length": "100"}))
    sock.sendall(b'{"name": ')
    return sock


def _held_upload(serve: Serve, instance_id: str) -> socket.socket:
    """A signed upload whose body never finishes: the route streams it, holding a slot."""
    path = f"/v2/{PROJECT}/instances/{instance_id}/backups/upload"
    headers = {"host": f"127.0.0.1:{serve.port}", "content-type": FILE_CONTENT_TYPE,
               "x-project-id": PROJECT}  # fmt: skip
    signed = sign_request(SignedRequest("POST", path, "", headers, b"REDIS"), AK, SK)
    sock = socket.create_connection(("127.0.0.1", serve.port), timeout=30)
    sock.sendall(request_head("POST", path, {**signed.headers, "content-length": "1000000"}))
    sock.sendall(b"REDIS0011")
    return sock


def _slot_holder(serve: Serve, instance_id: str) -> socket.socket:
    """A stalled upload that got a slot: one the server has not answered (a 503 comes at once,
    and may, while the slot of the request before is still being given back)."""
    for _ in range(50):
        sock = _held_upload(serve, instance_id)
        if not select.select([sock], [], [], 0.5)[0]:
            return sock
        sock.close()
    raise AssertionError("no upload got a slot")


def _wait_until(check: object, deadline_s: float = 30.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_a_full_cap_answers_a_dcs_503_with_retry_after_and_the_probes_still_answer(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = {"KEYSCOPE_MAX_CONCURRENT_REQUESTS": "2", "KEYSCOPE_MAX_WAITING_REQUESTS": "0"}
    with serving(tmp_path, env=env) as serve, ExitStack() as holders:
        with serve.client() as http:
            dcs = SignedClient(http)
            body = {"name": "u", "mode": "single", "addresses": [redis_server.address]}
            instance_id = dcs.post("/instances", json_body=body).json()["instance_id"]
            # Slow signed JSON bodies are read before a slot is taken: they starve no one.
            for _ in range(3):
                holders.callback(_held_request(serve).close)
            assert dcs.get("/instances").status_code == 200
            for _ in range(2):
                holders.callback(_slot_holder(serve, instance_id).close)
            busy: list[httpx.Response] = []
            _wait_until(lambda: busy.append(dcs.get("/instances")) or busy[-1].status_code == 503)
            refused = busy[-1]
            assert refused.headers["retry-after"] == "1"
            assert refused.json() == {
                "error_code": "DCS.5030",
                "error_msg": "the service is busy (2 requests in flight); retry shortly",
                "error_ext_msg": None,
            }
            assert http.get("/healthz").json() == {"status": "ok", "database": "up"}
            assert http.get("/metrics").status_code == 200
        holders.close()
        with serve.client() as http:
            _wait_until(lambda: SignedClient(http).get("/instances").status_code == 200)


def test_a_body_that_stops_arriving_is_hung_up_on(tmp_path: Path) -> None:
    env = {"KEYSCOPE_BODY_TIMEOUT_S": "2"}
    with serving(tmp_path, env=env) as serve:
        sock = _held_request(serve)
        try:
            assert _closed_by_server(sock) is not None
        finally:
            sock.close()
        with serve.client() as http:
            assert SignedClient(http).get("/instances").status_code == 200


def test_connections_past_the_ceiling_get_the_dcs_503(tmp_path: Path) -> None:
    env = {"KEYSCOPE_MAX_CONNECTIONS": "20", "KEYSCOPE_HEADER_TIMEOUT_S": "60"}
    with serving(tmp_path, env=env) as serve:
        idle = _open(serve.port, 20)
        try:
            _wait_until(lambda: _refused_at_once(serve) is not None)
            answer = _refused_at_once(serve)
            assert answer is not None and status_of(answer) == 503
            assert b"retry-after: 1" in answer.lower()
            assert json.loads(body_of(answer))["error_code"] == "DCS.5030"
        finally:
            for sock in idle:
                sock.close()
        with serve.client() as http:
            _wait_until(lambda: SignedClient(http).get("/instances").status_code == 200)


def _refused_at_once(serve: Serve) -> bytes | None:
    with socket.create_connection(("127.0.0.1", serve.port), timeout=10) as sock:
        sock.sendall(request_head("GET", "/healthz", {"host": "x"}))
        answer = b""
        while data := sock.recv(4096):
            answer += data
            if status_of(answer) == 200:
                return None
        return answer if status_of(answer) == 503 else None


def test_a_signed_json_body_dripping_under_the_idle_timeout_still_meets_a_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "JSON_BODY_DEADLINE_S", 1.0)
    with running_app(tmp_path) as (_app, client):
        port = int(client.http.base_url.port or 0)
        headers = {"host": f"127.0.0.1:{port}", "content-type": "application/json",
                   "x-project-id": PROJECT}  # fmt: skip
        path = f"/v2/{PROJECT}/instances"
        signed = sign_request(SignedRequest("POST", path, "", headers, b"{}"), AK, SK)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(request_head("POST", path, {**signed.headers, "content-length": "100"}))
            answer = b""
            for _ in range(200):  # one byte every 0.1 s: never idle, never finished
                sock.sendall(b" ")
                if select.select([sock], [], [], 0.1)[0]:
                    answer = sock.recv(65536)
                    break
        assert status_of(answer) == 400
        assert json.loads(body_of(answer))["error_msg"] == (
            "the request body did not arrive within 1 s"
        )


def test_a_kept_alive_connection_left_idle_is_hung_up_on(tmp_path: Path) -> None:
    with (
        serving(tmp_path, env={"KEYSCOPE_KEEP_ALIVE_S": "1"}) as serve,
        socket.create_connection(("127.0.0.1", serve.port), timeout=30) as sock,
    ):
        sock.sendall(request_head("GET", "/healthz", {"host": "x"}))
        answer = b""
        while not answer.endswith(b"}") and (data := sock.recv(4096)):
            answer += data
        assert status_of(answer) == 200
        assert _closed_by_server(sock) == b""
