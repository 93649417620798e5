"""Issue 18 #1 and issue 16 #4: a request is authenticated from its headers, before its body.

Each test runs the real ``keyscope serve`` and sends the attack as the review did: a
500 MiB upload (the finding's size, under the upload cap) streamed from a generator, never
held by the test, with a bad signature. Before: the body was read whole into memory before
the 401 (one request took the server from 96 to 571 MiB). Now the 401 comes from the
headers, the connection is closed, and the server's peak memory does not move.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from keyscope.api.signing import SignedRequest, sign_request
from tests.utils.dcs import AK, FILE_CONTENT_TYPE, PROJECT, SK, SignedClient
from tests.utils.rdbgen import write_rdb
from tests.utils.serve import Serve, body_of, request_head, send_streaming, serving, status_of
from tests.utils.servers import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHUNK = b"\0" * (1024 * 1024)
ATTACK_BYTES = 500 * 1024 * 1024
"""The finding's body: 500 MiB, under the default upload cap of 512 MiB."""

MEMORY_SLACK = 48 * 1024 * 1024
"""Peak memory the server may gain while refusing: far below one body, above the noise of
a first request (imports on first use, sockets, buffers)."""

INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
UPLOAD = f"/v2/{PROJECT}/instances/{INSTANCE}/backups/upload"


def zeros(total: int) -> Iterator[bytes]:
    """``total`` bytes, one reused 1 MiB chunk at a time."""
    while total > 0:
        yield CHUNK[: min(total, len(CHUNK))]
        total -= len(CHUNK)


def upload_headers(serve: Serve, *, secret: str = SK, content_type: str = FILE_CONTENT_TYPE,
                   length: int = ATTACK_BYTES) -> dict[str, str]:  # fmt: skip
    """Headers of an upload signed with ``secret`` (the SDK's signer's rules)."""
    headers = {"host": f"127.0.0.1:{serve.port}", "content-type": content_type,
               "x-project-id": PROJECT}  # fmt: skip
    # The signer looks at the body only to see that there is one (its hash is not signed).
    signed = sign_request(SignedRequest("POST", UPLOAD, "", headers, b"REDIS"), AK, secret)
    return {**signed.headers, "content-length": str(length)}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as served:
        # A first request, so the peak below is measured past start-up's own allocations.
        with served.client() as http:
            assert http.get("/healthz").status_code == 200
        yield served


BAD = {
    "garbage Authorization": lambda s: {**upload_headers(s), "authorization": "garbage"},
    "wrong secret, unsigned payload": lambda s: upload_headers(s, secret="not-the-secret-key"),
    "payload hash not declared": lambda s: {
        k: v for k, v in upload_headers(s, content_type="application/json").items()
    },
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_500_mib_upload_with_a_bad_signature_is_refused_before_its_body(
    serve: Serve, kind: str
) -> None:
    before = serve.peak_rss()
    head = request_head("POST", UPLOAD, BAD[kind](serve))
    answer, sent = send_streaming(serve.port, head, zeros(ATTACK_BYTES))
    assert status_of(answer) == 401, answer[:300]
    error = json.loads(body_of(answer))
    assert error["error_code"] == "DCS.4010" and error["error_ext_msg"] is None
    assert b"connection: close" in answer.lower()
    assert sent < ATTACK_BYTES // 4, "the server kept reading the body"
    assert serve.peak_rss() - before < MEMORY_SLACK


def test_six_such_uploads_at_once_leave_the_server_memory_flat(serve: Serve) -> None:
    before = serve.peak_rss()
    head = request_head("POST", UPLOAD, BAD["wrong secret, unsigned payload"](serve))
    answers: list[int] = []

    def attack() -> None:
        answer, _sent = send_streaming(serve.port, head, zeros(ATTACK_BYTES))
        answers.append(status_of(answer))

    threads = [threading.Thread(target=attack) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert answers == [401] * 6
    assert serve.peak_rss() - before < MEMORY_SLACK


def _sdk_signed_upload(serve: Serve, path: str, first_bytes: bytes) -> dict[str, str]:
    """The headers the SDK's own ``Signer`` puts on a file upload (it signs no body hash)."""
    request = SdkRequest(
        method="POST", schema="http", host=f"127.0.0.1:{serve.port}", resource_path=path,
        query_params=[], header_params={"Content-Type": FILE_CONTENT_TYPE,
                                        "X-Project-Id": PROJECT},
        body=first_bytes,
    )  # fmt: skip
    Signer(BasicCredentials(AK, SK, PROJECT)).sign(request)
    return {str(k): str(v) for k, v in request.header_params.items()}


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(len(CHUNK)):
            yield chunk


def test_a_100_mb_rdb_signed_by_the_sdk_signer_streams_to_disk_and_becomes_a_backup(
    serve: Serve, tmp_path: Path, redis_server: RedisServer
) -> None:
    # The SDK's DcsClient has no upload call (the route is keyscope's): its Signer signs it.
    rdb = tmp_path / "big.rdb"
    write_rdb(rdb, size_mb=100)
    with serve.client() as http:
        dcs = SignedClient(http)
        body = {"name": "u", "mode": "single", "addresses": [redis_server.address]}
        created = dcs.post("/instances", json_body=body)
        instance_id = created.json()["instance_id"]
        path = f"/v2/{PROJECT}/instances/{instance_id}/backups/upload"
        headers = _sdk_signed_upload(serve, path, rdb.read_bytes()[:5])
        assert headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
        before = serve.peak_rss()
        size = rdb.stat().st_size
        response = http.post(path, content=_file_chunks(rdb),
                             headers={**headers, "Content-Length": str(size)})  # fmt: skip
        assert response.status_code == 200, response.text
        grew = serve.peak_rss() - before
        backup_id = response.json()["backup_id"]
        records = dcs.get(f"/instances/{instance_id}/backups").json()["backup_record_response"]
    assert [(r["backup_id"], r["status"], r["size"]) for r in records] == [
        (backup_id, "succeed", size)
    ]
    stored = serve.data / "backups" / instance_id / f"{backup_id}.rdb"
    assert _sha256(stored) == _sha256(rdb)
    assert grew < MEMORY_SLACK


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def small_cap(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[Serve, str]]:
    env = {"KEYSCOPE_UPLOAD_MAX_BYTES": str(1024 * 1024)}
    with serving(tmp_path, env=env) as served, served.client() as http:
        created = SignedClient(http).post("/instances", json_body={
            "name": "u", "mode": "single", "addresses": [redis_server.address]})  # fmt: skip
        yield served, created.json()["instance_id"]


def _no_files_kept(serve: Serve, instance_id: str) -> bool:
    folder = serve.data / "backups" / instance_id
    return not folder.exists() or list(folder.iterdir()) == []


def test_a_chunked_body_over_the_cap_is_refused_while_it_streams_and_not_kept(
    small_cap: tuple[Serve, str],
) -> None:
    serve, instance_id = small_cap
    path = f"/v2/{PROJECT}/instances/{instance_id}/backups/upload"
    headers = _sdk_signed_upload(serve, path, b"REDIS")
    with serve.client() as http:
        body = (b"REDIS0011" + CHUNK[9:] if i == 0 else CHUNK for i in range(8))
        response = http.post(path, content=body, headers=headers)  # chunked: no length
    assert response.status_code == 400
    assert response.json()["error_code"] == "DCS.4000"
    assert "larger than 1048576 bytes" in response.json()["error_msg"]
    assert _no_files_kept(serve, instance_id)


def test_a_body_unlike_its_declared_sha256_is_refused_and_not_kept(
    small_cap: tuple[Serve, str], tmp_path: Path
) -> None:
    serve, instance_id = small_cap
    write_rdb(tmp_path / "s.rdb", keys=50)
    data = (tmp_path / "s.rdb").read_bytes()
    path = f"/v2/{PROJECT}/instances/{instance_id}/backups/upload"
    headers = {"host": f"127.0.0.1:{serve.port}", "content-type": "application/json",
               "x-project-id": PROJECT,
               "x-sdk-content-sha256": hashlib.sha256(data + b"x").hexdigest()}  # fmt: skip
    signed = sign_request(SignedRequest("POST", path, "", headers, data), AK, SK,
                          now=datetime.now(UTC))  # fmt: skip
    with serve.client() as http:
        response = http.post(path, content=data, headers=dict(signed.headers))
        assert response.status_code == 401
        assert "does not match its signed X-Sdk-Content-Sha256" in response.json()["error_msg"]
        assert _no_files_kept(serve, instance_id)
        right = {**dict(signed.headers)}
        right["x-sdk-content-sha256"] = hashlib.sha256(data).hexdigest()
        resigned = sign_request(SignedRequest("POST", path, "", right, data), AK, SK)
        accepted = http.post(path, content=data, headers=dict(resigned.headers))
        assert accepted.status_code == 200, accepted.text


def test_a_file_the_reader_cannot_read_is_refused_and_not_kept(
    small_cap: tuple[Serve, str], tmp_path: Path
) -> None:
    serve, instance_id = small_cap
    write_rdb(tmp_path / "s.rdb", keys=200)
    data = (tmp_path / "s.rdb").read_bytes()
    path = f"/v2/{PROJECT}/instances/{instance_id}/backups/upload"
    with serve.client() as http:
        dcs = SignedClient(http)
        for body, code in ((b"VALKEY080" + data[9:-3], "DCS.4990"), (b"PK\x03\x04zip", "DCS.4000")):
            response = dcs.upload("", body, raw_path=path)
            assert response.status_code == 400, response.text
            assert response.json()["error_code"] == code
        assert _no_files_kept(serve, instance_id)
