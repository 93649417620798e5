"""Every operation of the route table, sent garbage, answers 400/404 with a DCS body, never 500."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from keyscope.api.limits import MAX_JSON_BODY_BYTES
from keyscope.api.signing import SignedRequest, sign_request
from tests.security.conftest import Service
from tests.security.routes import DESTRUCTIVE, OPERATIONS, Operation
from tests.utils.dcs import AK, FILE_CONTENT_TYPE, PROJECT, SK, is_dcs_error

pytestmark = pytest.mark.integration

WITH_BODY = [op for op in OPERATIONS if op.body_required]
PAGED = [op for op in OPERATIONS if op.pages]
WITH_IDS = [op for op in OPERATIONS if len(op.path_params) > 1]

BAD_IDS = [
    "not-a-uuid",
    "0" * 300,
    "%00",
    "...",
    "%2e%2e%2f%2e%2e",
    "%F0%9F%92%A9",
    "'; DROP TABLE tasks; --",
]


def ids_for(service: Service, op: Operation) -> dict[str, str]:
    """The shared instance's id, except where the operation would delete it."""
    ids = {"project_id": PROJECT}
    if op.operation_id not in DESTRUCTIVE:
        ids["instance_id"] = service.instance_id
    return ids


def send(
    service: Service,
    op: Operation,
    *,
    ids: dict[str, str] | None = None,
    content: bytes = b"",
    params: dict[str, object] | None = None,
) -> httpx.Response:
    path = op.url(ids if ids is not None else ids_for(service, op))
    # A file is signed as the SDK signs one (unsigned payload); every other body as JSON.
    content_type = FILE_CONTENT_TYPE if op.operation_id == "UploadBackupFile" else None
    return service.client.request(op.method, "", raw_path=path, content=content, params=params,
                                  content_type=content_type)  # fmt: skip


def assert_refused_cleanly(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert is_dcs_error(response, response.status_code), response.text


def assert_never_500(response: httpx.Response) -> None:
    """A success, or a DCS error body with a 4xx status."""
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert is_dcs_error(response, response.status_code), response.text


def test_the_route_table_is_read_from_the_app() -> None:
    names = {op.operation_id for op in OPERATIONS}
    assert {"CreateInstance", "CreateBigkeyScanTask", "ShowOfflineKeyAnalysisTask"} <= names
    assert WITH_BODY and PAGED and WITH_IDS


@pytest.mark.parametrize("op", WITH_BODY, ids=str)
@pytest.mark.parametrize(
    "body",
    [b'{"a": ', b"not json", b"\xff\xfe\x00", b"[1, 2", b'{"a": 1}{"b": 2}'],
    ids=["truncated", "text", "binary", "open-array", "two-documents"],
)
def test_malformed_json_is_400_invalid_json(service: Service, op: Operation, body: bytes) -> None:
    assert_refused_cleanly(send(service, op, content=body), 400)


@pytest.mark.parametrize("op", WITH_BODY, ids=str)
@pytest.mark.parametrize(
    "body",
    [[], "text", 7, None, {"enable_auto_scan": "maybe", "schedule_at": "21:00",
     "node_id": 5, "name": [], "mode": {}, "addresses": "x", "expiration": "soon",
     "interval": -1, "timeout": 1e400, "first_scan_at": 12}],
    ids=["array", "string", "number", "null", "wrong-field-types"],
)  # fmt: skip
def test_a_body_of_the_wrong_type_is_400(service: Service, op: Operation, body: object) -> None:
    assert_refused_cleanly(send(service, op, content=json.dumps(body).encode()), 400)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.signed], ids=str)
def test_an_oversized_body_is_400_before_it_is_read(service: Service, op: Operation) -> None:
    if op.operation_id == "UploadBackupFile":
        pytest.skip("the upload takes RDB files up to BACKUP_UPLOAD_MAX_BYTES")
    body = b'{"pad": "' + b"x" * (MAX_JSON_BODY_BYTES + 1) + b'"}'
    assert_refused_cleanly(send(service, op, content=body), 400)


def test_a_chunked_body_over_the_limit_is_400(service: Service) -> None:
    count = MAX_JSON_BODY_BYTES // 65536 + 2

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(count):
            yield b"x" * 65536

    path = f"/v2/{PROJECT}/instances"
    host = service.client.http.base_url.netloc.decode()
    headers = {"host": host, "content-type": "application/json", "x-project-id": PROJECT}
    signed = sign_request(SignedRequest("POST", path, "", headers, b"x" * 65536 * count), AK, SK)
    response = service.client.http.post(path, content=chunks(), headers=dict(signed.headers))
    assert_refused_cleanly(response, 400)
    # Unsigned, it is refused from its headers, before any of it is read.
    assert_refused_cleanly(service.client.http.post(path, content=chunks()), 401)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_unknown_fields_never_cause_an_error_500(service: Service, op: Operation) -> None:
    if op.operation_id in {"CopyInstance", "CreateInstance"}:
        pytest.skip("valid bodies of these start real work; covered below with a known body")
    body = json.dumps({"no_such_field": 1, "another": {"nested": [1, 2]}}).encode()
    assert_never_500(send(service, op, content=body))


def test_an_unknown_field_in_an_otherwise_valid_body_is_400_and_changes_nothing(
    service: Service,
) -> None:
    path = f"/instances/{service.instance_id}/bigkey/autoscan"
    before = service.client.get(path).json()
    body = {"enable_auto_scan": True, "schedule_at": ["21:00"], "no_such_field": True}
    response = service.client.put(path, json_body=body)
    assert_refused_cleanly(response, 400)
    assert "no_such_field" in response.json()["error_msg"]
    after = service.client.get(path).json()
    for field in ("enable_auto_scan", "schedule_at"):
        assert after[field] == before[field]


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_invalid_id_in_the_path_is_404(service: Service, op: Operation, bad: str) -> None:
    for name in op.path_params[1:]:
        ids = ids_for(service, op) | {name: bad}
        ids.setdefault("instance_id", service.instance_id if name != "instance_id" else bad)
        response = send(service, op, ids=ids)
        if op.signed:
            assert_refused_cleanly(response, 400, 404)
        else:
            assert_refused_cleanly(response, 400, 401, 404)


@pytest.mark.parametrize("op", PAGED, ids=str)
@pytest.mark.parametrize(
    "params",
    [{"offset": -1}, {"limit": -1}, {"offset": 10**30}, {"limit": 10**30},
     {"limit": 10**6}, {"offset": "abc"}, {"limit": "1.5"}, {"offset": ""}],
    ids=["offset=-1", "limit=-1", "offset=1e30", "limit=1e30", "limit=1e6", "offset=abc",
         "limit=1.5", "offset=empty"],
)  # fmt: skip
def test_a_negative_or_huge_page_is_400(
    service: Service, op: Operation, params: dict[str, object]
) -> None:
    assert_refused_cleanly(send(service, op, params=params), 400)


@pytest.mark.parametrize("op", PAGED, ids=str)
def test_a_large_but_valid_offset_is_an_empty_page(service: Service, op: Operation) -> None:
    response = send(service, op, params={"offset": 10**9, "limit": 5})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "params", [{"status": "exploded"}, {"format": "xml"}, {"begin_time": "yesterday"}]
)
def test_a_bad_enum_or_time_in_the_query_is_400(
    service: Service, params: dict[str, object]
) -> None:
    name = next(iter(params))
    ops = [op for op in OPERATIONS if name in op.query and op.signed]
    assert ops
    for op in ops:
        assert_refused_cleanly(send(service, op, params=params), 400, 404)


def test_a_huge_integer_in_a_body_is_400(service: Service) -> None:
    path = f"/instances/{service.instance_id}/scan-expire-keys/autoscan-config"
    body = b'{"interval": 1' + b"0" * 5000 + b"}"
    response = service.client.put(path, content=body)
    assert_refused_cleanly(response, 400)
    assert uuid.UUID(service.instance_id)


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_a_path_that_is_not_utf8_is_refused_cleanly(service: Service, op: Operation) -> None:
    path = op.url({"project_id": PROJECT, "instance_id": "%ff%fe"})
    headers = {
        "authorization": f"SDK-HMAC-SHA256 Access=KEYSCOPETESTAK000001, "
        f"SignedHeaders=host;x-sdk-date, Signature={'0' * 64}",
        "x-sdk-date": "20240101T000000Z",
    }
    response = service.client.http.request(op.method, path, headers=headers)
    assert_refused_cleanly(response, 400, 401, 404)
