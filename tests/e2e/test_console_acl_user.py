"""The console registers an instance as an ACL user: the user name and password go in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.utils.browser import launch
from tests.utils.dcs import AK, SK
from tests.utils.servers import start_server
from tests.utils.service import running_app

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SECRET = "Console-User-Pa55"


def test_the_register_form_takes_an_acl_user(tmp_path: Path) -> None:
    server = start_server(tmp_path / "redis", password="default-user-Pa55")
    try:
        with server.client() as c:
            c.execute_command("ACL", "SETUSER", "console", "on", f">{SECRET}", "+@all", "~*")
        with running_app(tmp_path) as (_app, signed), launch() as browser:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{str(signed.http.base_url).rstrip('/')}/console")
            page.fill("[data-testid=access-key]", AK)
            page.fill("[data-testid=secret-key]", SK)
            page.click("[data-testid=sign-in]")
            page.fill("[data-testid=instance-name]", "as-a-user")
            page.fill("[data-testid=instance-addresses]", server.address)
            page.fill("[data-testid=instance-username]", "console")
            page.fill("[data-testid=instance-password]", SECRET)
            page.click("[data-testid=register-instance]")
            # wait_for_url, not wait_for_function: a string predicate is eval'd, which the
            # console's CSP forbids.
            page.wait_for_url(re.compile(r".*/console#/i/.+"))
            (instance,) = signed.get("/instances").json()["instances"]
    finally:
        server.stop()
    assert errors == []
    assert (instance["name"], instance["username"], instance["has_password"]) == (
        "as-a-user", "console", True,
    )  # fmt: skip
