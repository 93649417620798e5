"""Schemathesis against the live service's /openapi.json, every request signed as the SDK signs.

Valid and invalid inputs (schemathesis' positive and negative modes) go to every operation with
the project id of the test credential and, except on the instance delete, the id of a real
registered instance, so requests reach the handlers rather than stopping at 403/404. Checks:
no 5xx, every status code documented, every body valid against the documented schema.

``KEYSCOPE_SCHEMATHESIS_EXAMPLES`` sets the examples per operation and mode (default 4, a
few seconds); the dedicated run in RELIABILITY.md uses a larger number.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from keyscope.api.signing import SignedRequest, sign_request
from tests.security.conftest import Service
from tests.security.routes import DESTRUCTIVE, OPERATIONS
from tests.utils.dcs import AK, PROJECT, SK

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("KEYSCOPE_SCHEMATHESIS_EXAMPLES", "4"))
SIGNED = {op.operation_id: op.signed for op in OPERATIONS}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


class SdkSignature(requests.auth.AuthBase):
    """Signs the prepared request (final URL, headers and body bytes) with ``sign_request``."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(r.url or "")
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
        headers = {
            "host": url.netloc,
            "content-type": r.headers.get("Content-Type", "application/json"),
            "user-agent": "huaweicloud-usdk-python/3.0",
            "x-project-id": PROJECT,
        }
        signed = sign_request(
            SignedRequest(r.method or "GET", url.path, url.query, headers, body),
            AK, SK, now=datetime.now(UTC),
        )  # fmt: skip
        r.prepare_url(f"{url.scheme}://{url.netloc}{url.path}", None)
        if signed.query:
            r.url = f"{r.url}?{signed.query}"
        for name, value in signed.headers.items():
            r.headers[name] = value
        return r


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation_id", [op.operation_id for op in OPERATIONS])
def test_no_operation_answers_500_or_off_schema(
    service: Service, operation_id: str, mode: GenerationMode
) -> None:
    base = str(service.client.http.base_url)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operation = next(
        result.ok() for result in schema.get_all_operations()
        if result.ok().definition.raw.get("operationId") == operation_id
    )  # fmt: skip
    ids = {"project_id": PROJECT}
    if operation_id not in DESTRUCTIVE:
        ids["instance_id"] = service.instance_id
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in ids.items() if k in names}
    session = requests.Session()
    auth = SdkSignature()
    statuses: list[int] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, session=session, auth=auth, timeout=60)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE
        pytest.skip("every input of this operation is fixed: nothing to make invalid")
    finally:
        session.close()
    # The signature got the requests past authentication (a 401 on every one would pass the
    # checks while testing nothing).
    shown = dict(sorted(Counter(statuses).items()))
    print(f"FIGURE schemathesis {operation_id} {mode.value} requests={len(statuses)} {shown}")
    if SIGNED[operation_id]:
        assert any(status != 401 for status in statuses), statuses
