"""SDK-HMAC-SHA256: what the official SDK signs verifies, anything altered or stale does not."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkdcs.v2 import (
    AutoscanConfigRequest,
    CreateBigkeyScanTaskRequest,
    DcsClient,
    ListBigkeyScanTasksRequest,
    ShowBigkeyScanTaskDetailsRequest,
    UpdateBigkeyAutoscanConfigRequest,
)
from pydantic import SecretStr
from requests.adapters import BaseAdapter

from keyscope.api.credentials import Credential, CredentialStore
from keyscope.api.signing import (
    EMPTY_PAYLOAD_HASH,
    SignedRequest,
    canonical_query,
    canonical_request,
    canonical_uri,
    encode_path_segment,
    sign_request,
    verify_request,
)
from keyscope.domain.errors import Unauthorized

AK = "AKEXAMPLE"
SK = "SKEXAMPLE"
PROJECT = "0123456789abcdef0123456789abcdef"
INSTANCE = "5560df16-cebf-4473-95c4-d1b573c16e79"
HOST = "127.0.0.1:8080"
VECTOR_DATE = "20240101T000000Z"
VECTOR_TIME = datetime(2024, 1, 1, tzinfo=UTC)
SIGNED = "content-type;host;user-agent;x-project-id;x-sdk-date"

STORE = CredentialStore([Credential(AK, SecretStr(SK), frozenset({PROJECT}))])


def vector_headers(content_type: str) -> dict[str, str]:
    return {
        "User-Agent": "huaweicloud-usdk-python/3.0",
        "X-Project-Id": PROJECT,
        "X-Sdk-Date": VECTOR_DATE,
        "Host": HOST,
        "Content-Type": content_type,
    }


def vector_get() -> SignedRequest:
    return SignedRequest(
        "GET",
        f"/v2/{PROJECT}/instances/{INSTANCE}/bigkey-tasks",
        "limit=10&offset=0&status=success",
        vector_headers("application/json"),
    )


def vector_put() -> SignedRequest:
    return SignedRequest(
        "PUT",
        f"/v2/{PROJECT}/instances/{INSTANCE}/bigkey/autoscan",
        "",
        vector_headers("application/json;charset=utf-8"),
        b'{"enable_auto_scan": true, "schedule_at": ["21:00"]}',
    )


def signed(req: SignedRequest) -> SignedRequest:
    return sign_request(req, AK, SK)


def with_headers(req: SignedRequest, **changes: str | None) -> SignedRequest:
    """``req`` with headers set (``x_sdk_date="..."``) or removed (``=None``)."""
    headers = dict(req.headers)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return replace(req, headers=headers)


def with_auth(req: SignedRequest, authorization: str) -> SignedRequest:
    return with_headers(req, authorization=authorization)


def assert_refused(req: SignedRequest, match: str, *, now: datetime = VECTOR_TIME) -> None:
    """Refused with a message matching ``match`` that reveals neither the SK nor the signature."""
    with pytest.raises(Unauthorized, match=match) as info:
        verify_request(req, STORE, now=now)
    message = info.value.message
    assert SK not in message
    assert info.value.http_status == 401
    try:
        expected = sign_request(with_headers(req, authorization=None), AK, SK)
    except (ValueError, Unauthorized):
        return  # no signature can be computed for this request, so none can leak
    assert expected.headers["authorization"].rsplit("=", 1)[1] not in message


# --- the reference test vectors -----------------------------------------------------------


def test_vector_1_canonical_request_and_signature() -> None:
    canonical = canonical_request(vector_get(), SIGNED.split(";"))
    assert canonical == (
        b"GET\n"
        b"/v2/0123456789abcdef0123456789abcdef/instances/"
        b"5560df16-cebf-4473-95c4-d1b573c16e79/bigkey-tasks/\n"
        b"limit=10&offset=0&status=success\n"
        b"content-type:application/json\n"
        b"host:127.0.0.1:8080\n"
        b"user-agent:huaweicloud-usdk-python/3.0\n"
        b"x-project-id:0123456789abcdef0123456789abcdef\n"
        b"x-sdk-date:20240101T000000Z\n"
        b"\n"
        b"content-type;host;user-agent;x-project-id;x-sdk-date\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert (
        hashlib.sha256(canonical).hexdigest()
        == "992ce7574b645d550c0db975189566ad5581e9b17e51ed81842641d8afabdabd"
    )
    assert signed(vector_get()).headers["authorization"] == (
        f"SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders={SIGNED}, "
        "Signature=a0034e04c0c42df249476539470651e71d11093285585a65870a52639d1eb43c"
    )
    assert verify_request(signed(vector_get()), STORE, now=VECTOR_TIME).access_key == AK


def test_vector_2_payload_hash_and_signature() -> None:
    req = vector_put()
    assert (
        hashlib.sha256(req.body).hexdigest()
        == "aa9c561aec3341fc1c15ed042732a7a8901c2acf5d5d4d15d96e9c49748373b1"
    )
    assert (
        signed(req)
        .headers["authorization"]
        .endswith("Signature=0e15acdc5825054ff4d09c53aa3872c00d7b2c7cd71e766047c107e4c08c4ca1")
    )
    assert verify_request(signed(req), STORE, now=VECTOR_TIME).access_key == AK


def test_sign_request_puts_the_canonical_query_on_the_wire_like_the_sdk() -> None:
    req = replace(vector_get(), query="status=success&offset=0&limit=10")
    assert signed(req).query == "limit=10&offset=0&status=success"


# --- requests signed by the official SDK ---------------------------------------------------


class _Capture(BaseAdapter):
    """A requests transport that records what the SDK would send and answers 200 ``{}``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


@dataclass
class SdkHarness:
    client: Any
    capture: _Capture = field(default_factory=_Capture)

    def last(self) -> SignedRequest:
        """The last request as a server receives it: raw path and query, Latin-1 headers."""
        sent = self.capture.sent[-1]
        url = urlsplit(sent.url or "")
        body = sent.body or b""
        assert isinstance(body, bytes | str)
        headers = {
            k: v if isinstance(v, str) else v.decode("latin-1") for k, v in sent.headers.items()
        }
        return SignedRequest(
            sent.method or "",
            url.path,
            url.query,
            headers,
            body.encode("utf-8") if isinstance(body, str) else body,
        )


@pytest.fixture
def sdk() -> Iterator[SdkHarness]:
    client = (
        DcsClient.new_builder()
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(f"http://{HOST}")
        .build()
    )
    harness = SdkHarness(client)
    client.get_http_client()._session.mount("http://", harness.capture)
    yield harness
    client.get_http_client()._session.close()


def test_sdk_get_with_query_verifies(sdk: SdkHarness) -> None:
    sdk.client.list_bigkey_scan_tasks(
        ListBigkeyScanTasksRequest(instance_id=INSTANCE, offset=0, limit=10, status="success")
    )
    req = sdk.last()
    assert req.query == "limit=10&offset=0&status=success"
    assert verify_request(req, STORE, now=datetime.now(UTC)).owns(PROJECT)


def test_sdk_put_with_json_body_verifies(sdk: SdkHarness) -> None:
    body = AutoscanConfigRequest(enable_auto_scan=True, schedule_at=["21:00", "03:30"])
    sdk.client.update_bigkey_autoscan_config(
        UpdateBigkeyAutoscanConfigRequest(instance_id=INSTANCE, body=body)
    )
    req = sdk.last()
    assert req.headers["content-type"] == "application/json;charset=utf-8"
    assert req.body.startswith(b'{"enable_auto_scan": true')
    assert verify_request(req, STORE, now=datetime.now(UTC)).access_key == AK


def test_sdk_bodyless_post_with_json_content_type_verifies(sdk: SdkHarness) -> None:
    sdk.client.create_bigkey_scan_task(CreateBigkeyScanTaskRequest(instance_id=INSTANCE))
    req = sdk.last()
    assert req.method == "POST"
    assert req.body == b""
    assert req.headers["content-type"] == "application/json"
    assert req.headers["content-length"] == "0"
    assert verify_request(req, STORE, now=datetime.now(UTC)).access_key == AK


@pytest.mark.parametrize(
    "instance_id",
    ["a b/c", "~tilde_-.", "ünïcødé", "100%?#&=+;,", "slash/../dot", "end/"],
)
def test_sdk_path_params_needing_percent_encoding_verify(sdk: SdkHarness, instance_id: str) -> None:
    sdk.client.show_bigkey_scan_task_details(
        ShowBigkeyScanTaskDetailsRequest(instance_id=instance_id, bigkey_id="id with space")
    )
    req = sdk.last()
    assert f"/instances/{encode_path_segment(instance_id)}/" in req.path
    assert verify_request(req, STORE, now=datetime.now(UTC)).access_key == AK


def _sdk_signed(
    method: str,
    path: str,
    query: list[tuple[str, Any]],
    headers: Mapping[str, str],
    body: bytes | None,
) -> SignedRequest:
    """A request signed by the SDK's own Signer, as the server would receive it."""
    sdk_request = SdkRequest(
        method=method,
        schema="http",
        host=HOST,
        resource_path=path,
        query_params=query,
        header_params=dict(headers),
        body=body,
    )
    Signer(BasicCredentials(AK, SK, PROJECT)).sign(sdk_request)
    raw_query = sdk_request.uri.partition("?")[2]
    return SignedRequest(method, path, raw_query, sdk_request.header_params, body or b"")


def test_sdk_signer_with_repeated_boolean_and_numeric_query_values_verifies() -> None:
    # The SDK sorts list values natively (9 before 10) and sends that order: kept, not re-sorted.
    req = _sdk_signed(
        "GET",
        f"/v2/{PROJECT}/instances/{INSTANCE}/bigkey-tasks",
        [("status", "a b+c/é"), ("flag", True), ("n", [10, 9])],
        {"X-Project-Id": PROJECT, "Content-Type": "application/json"},
        None,
    )
    assert req.query == "flag=true&n=9&n=10&status=a%20b%2Bc%2F%C3%A9"
    assert verify_request(req, STORE, now=datetime.now(UTC)).access_key == AK


def test_sdk_signer_with_non_ascii_header_value_verifies() -> None:
    req = _sdk_signed(
        "POST",
        f"/v2/{PROJECT}/instances/{INSTANCE}/bigkey-task",
        [],
        {"X-Project-Id": PROJECT, "Content-Type": "application/json", "X-Note": "  café  "},
        None,
    )
    # On the wire: the UTF-8 bytes, which an ASGI server hands over decoded as Latin-1.
    assert req.headers["x-note"] == "café".encode().decode("latin-1")
    assert verify_request(req, STORE, now=datetime.now(UTC)).access_key == AK


def test_sdk_signer_and_sign_request_agree() -> None:
    for req in (vector_get(), vector_put()):
        sdk_req = _sdk_signed(
            req.method,
            req.path,
            [(p.partition("=")[0], p.partition("=")[2]) for p in req.query.split("&") if p],
            req.headers,
            req.body or None,
        )
        assert sdk_req.headers["authorization"] == signed(req).headers["authorization"]


def test_sdk_headers_with_underscores_are_not_signed_but_still_verify() -> None:
    req = _sdk_signed(
        "GET",
        f"/v2/{PROJECT}/instances",
        [],
        {"X-Project-Id": PROJECT, "Content-Type": "application/json", "X_Custom": "1"},
        None,
    )
    assert "x_custom" not in req.headers["authorization"]
    verify_request(with_headers(req, X_Custom="changed"), STORE, now=datetime.now(UTC))


# --- every way to be refused --------------------------------------------------------------


def test_missing_authorization_header() -> None:
    assert_refused(vector_get(), "missing Authorization header")


@pytest.mark.parametrize(
    "authorization",
    [
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA256 ",
        "SDK-HMAC-SHA256 garbage",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature=",
        f"SDK-HMAC-SHA256 Access={AK}, Access={AK}, SignedHeaders={SIGNED}, Signature={'0' * 64}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={'0' * 63}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={'g' * 64}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={'0' * 64}, X=1",
        f"SDK-HMAC-SHA256 Access=A K, SignedHeaders={SIGNED}, Signature={'0' * 64}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=Host;x-sdk-date, Signature={'0' * 64}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;;x-sdk-date, Signature={'0' * 64}",
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;host;x-sdk-date, Signature={'0' * 64}",
    ],
)
def test_malformed_authorization_header(authorization: str) -> None:
    assert_refused(with_auth(signed(vector_get()), authorization), "malformed Authorization")


@pytest.mark.parametrize(
    "algorithm", ["V11-HMAC-SHA256", "SDK-HMAC-SM3", "SDK-ECDSA-P256-SHA256", "Bearer", "sdk-hmac"]
)
def test_unknown_algorithm(algorithm: str) -> None:
    original = signed(vector_get()).headers["authorization"]
    tampered = algorithm + original.removeprefix("SDK-HMAC-SHA256")
    assert_refused(with_auth(signed(vector_get()), tampered), "unsupported signing algorithm")


def test_unknown_access_key() -> None:
    req = sign_request(vector_get(), "AKUNKNOWN", SK)
    assert_refused(req, "unknown access key AKUNKNOWN")


@pytest.mark.parametrize("dropped", ["host", "x-sdk-date"])
def test_signed_headers_must_include_host_and_date(dropped: str) -> None:
    good = signed(vector_get())
    names = ";".join(n for n in SIGNED.split(";") if n != dropped)
    auth = good.headers["authorization"].replace(SIGNED, names)
    assert_refused(with_auth(good, auth), f"SignedHeaders must include {dropped}")


def test_signed_header_absent_from_request() -> None:
    assert_refused(with_headers(signed(vector_get()), user_agent=None), "user-agent is not in")


def test_missing_x_sdk_date_header() -> None:
    assert_refused(with_headers(signed(vector_get()), x_sdk_date=None), "missing X-Sdk-Date")


@pytest.mark.parametrize(
    "date",
    [
        "2024-01-01T00:00:00Z",
        "20240101T000000",
        "20240101000000Z",
        "2024011T000000Z",
        "20241301T000000Z",
        "20240230T000000Z",
        "20240101T250000Z",
        " 20240101T000000Z",
        "",
    ],
)
def test_malformed_x_sdk_date(date: str) -> None:
    assert_refused(with_headers(signed(vector_get()), x_sdk_date=date), "X-Sdk-Date is")


@pytest.mark.parametrize("skew_s", [-900, -1, 0, 1, 900])
def test_date_just_inside_the_window(skew_s: int) -> None:
    now = VECTOR_TIME + timedelta(seconds=skew_s)
    assert verify_request(signed(vector_get()), STORE, now=now).access_key == AK


@pytest.mark.parametrize("skew_s", [-901, 901, 86_400])
def test_date_just_outside_the_window(skew_s: int) -> None:
    now = VECTOR_TIME + timedelta(seconds=skew_s)
    assert_refused(signed(vector_get()), "X-Sdk-Date .* the server clock", now=now)


def test_window_is_configurable() -> None:
    now = VECTOR_TIME + timedelta(seconds=61)
    with pytest.raises(Unauthorized, match="allowed: 60 s"):
        verify_request(signed(vector_get()), STORE, now=now, window_s=60)


def test_bad_signature() -> None:
    good = signed(vector_get())
    auth = good.headers["authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    assert_refused(with_auth(good, flipped), "signature does not match")


def test_signature_with_another_secret_key() -> None:
    assert_refused(sign_request(vector_get(), AK, "not-the-secret"), "signature does not match")


def test_upper_case_hex_signature_is_accepted() -> None:
    good = signed(vector_get())
    auth, _, sig = good.headers["authorization"].rpartition("=")
    verify_request(with_auth(good, f"{auth}={sig.upper()}"), STORE, now=VECTOR_TIME)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: replace(r, body=r.body + b" "), id="body-appended"),
        pytest.param(lambda r: replace(r, body=r.body.replace(b"true", b"false")), id="body"),
        pytest.param(lambda r: replace(r, body=b""), id="body-dropped"),
        pytest.param(lambda r: replace(r, query="limit=10"), id="query-added"),
        pytest.param(lambda r: replace(r, path=r.path.replace("autoscan", "autoscan2")), id="path"),
        pytest.param(lambda r: replace(r, path=r.path.replace(PROJECT, "f" * 32)), id="project"),
        pytest.param(lambda r: replace(r, method="POST"), id="method"),
        pytest.param(lambda r: with_headers(r, host="evil:8080"), id="host"),
        pytest.param(lambda r: with_headers(r, x_project_id="f" * 32), id="x-project-id"),
        pytest.param(lambda r: with_headers(r, content_type="text/plain"), id="content-type"),
        pytest.param(lambda r: with_headers(r, x_sdk_date="20240101T000001Z"), id="date"),
    ],
)
def test_tampered_put_is_refused(tamper: Any) -> None:
    assert_refused(tamper(signed(vector_put())), "signature does not match")


@pytest.mark.parametrize(
    "query",
    [
        "limit=10&offset=0&status=failed",
        "limit=10&offset=0",
        "limit=10&offset=0&status=success&extra=1",
        "limit=10&offset=0&status=success+",
        "limit=10&offset=00&status=success",
    ],
)
def test_tampered_query_is_refused(query: str) -> None:
    assert_refused(replace(signed(vector_get()), query=query), "signature does not match")


def test_plus_and_percent_2b_in_a_query_are_different_values() -> None:
    req = signed(replace(vector_get(), query="status=a%2Bb"))
    verify_request(req, STORE, now=VECTOR_TIME)
    # The framework reads "+" as a space: same canonical form would mean a different value.
    assert_refused(replace(req, query="status=a+b"), "signature does not match")


def test_equivalent_encodings_of_the_same_request_verify() -> None:
    req = signed(vector_get())
    reordered = replace(req, query="status=success&offset=0&limit=10")
    verify_request(reordered, STORE, now=VECTOR_TIME)
    escaped = replace(req, path=req.path.replace("bigkey-tasks", "bigkey%2Dtasks"))
    verify_request(escaped, STORE, now=VECTOR_TIME)


def test_unsigned_payload_is_refused_on_a_json_route() -> None:
    # The SDK itself leaves the body unsigned for a content type other than JSON or BSON.
    req = _sdk_signed(
        "PUT",
        f"/v2/{PROJECT}/instances/{INSTANCE}/bigkey/autoscan",
        [],
        {"X-Project-Id": PROJECT, "Content-Type": "text/plain"},
        b"anything at all",
    )
    assert req.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert_refused(req, "unsigned payloads are not accepted on this route", now=datetime.now(UTC))


def test_invalid_utf8_in_path_or_query_is_refused() -> None:
    req = signed(vector_get())
    assert_refused(replace(req, path=req.path + "%FF"), "not valid UTF-8")
    assert_refused(replace(req, query="status=%FF"), "not valid UTF-8")


def test_header_given_twice_with_different_values_is_refused() -> None:
    with pytest.raises(Unauthorized, match="host is given twice"):
        SignedRequest("GET", "/", "", {"Host": "a", "host": "b"})


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_request(signed(vector_get()), STORE, now=datetime(2024, 1, 1))


def test_request_repr_hides_the_body() -> None:
    assert "schedule_at" not in repr(vector_put())


# --- canonical pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("/v2/p/instances", "/v2/p/instances/"),
        ("/v2/p/", "/v2/p/"),
        ("/a%20b%2Fc~%7E", "/a%20b/c~~/"),
        ("/%C3%BC", "/%C3%BC/"),
        ("/a+b!*'()", "/a%2Bb%21%2A%27%28%29/"),
    ],
)
def test_canonical_uri(raw: str, expected: str) -> None:
    assert canonical_uri(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=2&a=1"),
        ("flag&&x=", "flag=&x="),
        ("q=a+b%2Bc", "q=a%20b%2Bc"),
        ("k%20y=v~*", "k%20y=v~%2A"),
    ],
)
def test_canonical_query(raw: str, expected: str) -> None:
    assert canonical_query(raw) == expected


def test_empty_body_hashes_as_empty() -> None:
    assert canonical_request(vector_get(), ["host"]).endswith(EMPTY_PAYLOAD_HASH.encode())


def test_sign_request_needs_a_host_header() -> None:
    with pytest.raises(ValueError, match="Host"):
        sign_request(with_headers(vector_get(), host=None), AK, SK)


def test_sign_request_sets_the_date_from_now() -> None:
    now = datetime(2030, 5, 6, 7, 8, 9, 999_999, tzinfo=UTC)
    req = sign_request(with_headers(vector_get(), x_sdk_date=None), AK, SK, now=now)
    assert req.headers["x-sdk-date"] == "20300506T070809Z"
    verify_request(req, STORE, now=now)


# --- the SigV4 model: a window, no replay cache --------------------------------------------


def test_identical_signed_requests_repeated_inside_the_window_all_verify() -> None:
    req = signed(vector_put())
    for seconds in (0, 1, 2, 60, 899):
        verify_request(req, STORE, now=VECTOR_TIME + timedelta(seconds=seconds))


# --- payload hashes declared in the headers ------------------------------------------------


def test_a_declared_body_hash_verifies_and_a_different_body_is_refused() -> None:
    body = b'{"enable_auto_scan": true}'
    req = with_headers(vector_put(), x_sdk_content_sha256=hashlib.sha256(body).hexdigest())
    good = signed(replace(req, body=body))
    verify_request(good, STORE, now=VECTOR_TIME)
    assert_refused(replace(good, body=b'{"enable_auto_scan": false}'), "does not match")


def test_unsigned_payload_verifies_where_a_route_takes_a_file() -> None:
    req = _sdk_signed(
        "POST",
        f"/v2/{PROJECT}/instances/{INSTANCE}/backups/upload",
        [],
        {"X-Project-Id": PROJECT, "Content-Type": "application/octet-stream"},
        b"REDIS0011 any bytes at all",
    )
    now = datetime.now(UTC)
    assert verify_request(req, STORE, now=now, allow_unsigned=True).access_key == AK
    tampered_header = replace(req, headers={**req.headers, "x-project-id": "f" * 32})
    with pytest.raises(Unauthorized, match="signature does not match"):
        verify_request(tampered_header, STORE, now=now, allow_unsigned=True)


def test_sign_request_leaves_a_file_body_unsigned_like_the_sdk() -> None:
    req = with_headers(vector_put(), content_type="application/octet-stream")
    ours = sign_request(replace(req, body=b"REDIS0011"), AK, SK)
    assert ours.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    verify_request(ours, STORE, now=VECTOR_TIME, allow_unsigned=True)
