"""Every failure leaves as a DCS error body: validation, unknown routes, unexpected errors."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from keyscope.api.app import Overrides, create_app
from keyscope.api.errors import describe_validation_error
from keyscope.settings import Settings
from tests.utils.dcs import credentials_file
from tests.utils.service import serving


def test_validation_problems_get_a_dcs_code_and_name_the_field_without_its_value() -> None:
    assert describe_validation_error([{"type": "json_invalid", "loc": ("body", 3)}]) == (
        "DCS.4001",
        "the request body is not valid JSON",
    )
    missing = describe_validation_error([{"type": "missing", "loc": ("body", "addresses")}])
    assert missing == ("DCS.4002", "addresses is required")
    code, message = describe_validation_error(
        [{"type": "int_parsing", "loc": ("query", "limit"), "msg": "bad", "input": "hunter2"}]
    )
    assert (code, message) == ("DCS.4002", "limit: bad")
    assert describe_validation_error([]) == ("DCS.4000", "invalid request")


def test_an_unexpected_error_is_a_dcs_500_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    credentials_file(tmp_path / "credentials.json")
    app = create_app(Settings(data_dir=tmp_path), Overrides(scheduler_poll_s=None))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    caplog.set_level(logging.ERROR)
    with serving(app) as url:
        response = httpx.get(f"{url}/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error_code": "DCS.5000",
        "error_msg": "internal error",
        "error_ext_msg": None,
    }
    assert response.headers["x-request-id"]
    assert "internal detail" not in response.text
    assert "RuntimeError" in caplog.text
