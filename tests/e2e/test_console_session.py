"""The console's sign-in and bearer tokens against a running keyscope, and what it serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.browser import launch
from tests.utils.dcs import AK, OTHER_PROJECT, PROJECT, SK, SignedClient
from tests.utils.service import running_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[httpx.Client, SignedClient]]:
    with running_app(tmp_path) as (_app, signed):
        yield signed.http, signed


def _sign_in(http: httpx.Client, secret: str = SK) -> httpx.Response:
    return http.post("/console/api/session", json={"access_key": AK, "secret_key": secret})


def test_sign_in_trades_the_secret_key_for_a_bearer_token_on_the_dcs_routes(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _signed = service
    answer = _sign_in(http)
    assert answer.status_code == 200
    session = answer.json()
    assert session["projects"] == [PROJECT] and session["token_type"] == "Bearer"
    assert SK not in answer.text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", session["expires_at"])
    bearer = {"Authorization": f"Bearer {session['token']}"}
    listed = http.get(f"/v2/{PROJECT}/instances", headers=bearer)
    assert listed.status_code == 200
    assert listed.json() == {"instance_num": 0, "count": 0, "instances": []}
    foreign = http.get(f"/v2/{OTHER_PROJECT}/instances", headers=bearer)
    assert foreign.status_code == 403
    assert foreign.json()["error_code"] == "DCS.4030"


def test_a_wrong_secret_or_a_forged_token_is_401_with_a_dcs_body(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _signed = service
    refused = _sign_in(http, secret="not-the-secret-key-at-all")
    assert refused.status_code == 401
    assert refused.json() == {
        "error_code": "DCS.4010",
        "error_msg": "wrong access key or secret key",
        "error_ext_msg": None,
    }
    token = _sign_in(http).json()["token"]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for header in (f"Bearer {forged}", "Bearer x", "Bearer a.b.c"):
        answer = http.get(f"/v2/{PROJECT}/instances", headers={"Authorization": header})
        assert answer.status_code == 401, header
        assert answer.json()["error_code"] == "DCS.4010"


def test_sdk_signatures_still_work_beside_tokens(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    _http, signed = service
    assert signed.request("GET", "/instances").status_code == 200


def test_console_page_and_its_chart_library_are_served_locally(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _signed = service
    page = http.get("/console")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=\"https?:", page.text)
    for asset in ("console.js", "report-view.js", "console.css", "vendor/echarts.min.js"):
        served = http.get(f"/console/static/{asset}")
        assert served.status_code == 200, asset
        assert "://cdn" not in served.text
    assert http.get("/", follow_redirects=False).headers["location"] == "/console"


def test_openapi_names_operations_after_dcs_and_ops_endpoints_answer(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _signed = service
    spec = http.get("/openapi.json").json()
    operation_ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "CreateBigkeyScanTask",
        "ShowHotkeyTaskDetails",
        "ShowExpireKeyScanInfo",
        "CreateOfflineKeyAnalysis",
    } <= operation_ids
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert "/console/static/vendor/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text
    assert http.get("/healthz").json()["status"] == "ok"
    assert 'keyscope_tasks{kind="bigkey",status="success"}' in http.get("/metrics").text


def test_interactive_docs_render_in_chromium_from_local_files_only(
    service: tuple[httpx.Client, SignedClient],
) -> None:
    http, _signed = service
    base = str(http.base_url).rstrip("/")
    with launch() as browser:
        page = browser.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.__violations.push(e.violatedDirective), true);"
        )
        response = page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock-summary", timeout=30_000)
        operations = page.locator(".opblock").count()
        violations = page.evaluate("window.__violations")
        inline = page.locator("script:not([src])").count()
    assert operations >= 30
    assert all(url.startswith((base, "data:", "blob:")) for url in fetched), fetched
    # No inline script, and a policy that would refuse one: Swagger UI runs under it as is.
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert inline == 0 and violations == []
