"""The CLI's connection options: ACL users, and the password kept off the command line.

The password comes from the URL, ``--password-stdin``, ``--password-file`` or
``KEYSCOPE_REDIS_PASSWORD`` (one of the first three at most); a user name goes as
``AUTH user password`` and is never dropped; contradictions are usage errors (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keyscope.cli.connect_options import PASSWORD_ENV
from keyscope.cli.main import app
from tests.utils.servers import RedisServer, start_server

pytestmark = pytest.mark.integration

SECRET = "Cli-Pa55word-off-argv"
USER_SECRET = "Cli-User-Pa55word"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    started = start_server(tmp_path_factory.mktemp("cli-connect"), password=SECRET)
    with started.client() as c:
        c.set("blob", "x" * 20_000)
        c.execute_command("ACL", "SETUSER", "reader", "on", f">{USER_SECRET}", "+@all", "~*")
    yield started
    started.stop()


def bigkeys(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["analyze", "bigkeys", *args, "--format", "json"], env=env, input=stdin
    )
    return result.exit_code, result.stdout, result.stderr


def found(out: str) -> list[str]:
    return [k["name"] for k in json.loads(out)]


def test_the_password_comes_from_the_environment_stdin_or_a_file(
    server: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://{server.address}"
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")

    from_env = bigkeys(url, env={PASSWORD_ENV: SECRET})
    from_stdin = bigkeys(url, "--password-stdin", stdin=SECRET + "\n")
    from_file = bigkeys(url, "--password-file", str(secret_file))

    for code, out, err in (from_env, from_stdin, from_file):
        assert (code, err) == (0, "")
        assert found(out) == ["blob"]
        assert SECRET not in out


def test_an_acl_user_from_the_url_or_the_option_logs_in_as_that_user(server: RedisServer) -> None:
    in_url = bigkeys(f"redis://reader@{server.address}", env={PASSWORD_ENV: USER_SECRET})
    as_option = bigkeys(
        f"redis://{server.address}", "--username", "reader", "--password-stdin",
        stdin=USER_SECRET + "\n",
    )  # fmt: skip
    assert in_url[0] == as_option[0] == 0
    assert found(in_url[1]) == found(as_option[1]) == ["blob"]


def test_a_wrong_or_missing_login_is_one_line_and_exit_1(server: RedisServer) -> None:
    address = server.address
    wrong_user = bigkeys(f"redis://nobody@{address}", env={PASSWORD_ENV: SECRET})
    no_password = bigkeys(f"redis://{address}", env={PASSWORD_ENV: ""})

    assert wrong_user == (
        1,
        "",
        f"keyscope: {address}: the node refused user 'nobody' or its password\n",
    )
    assert no_password == (1, "", f"keyscope: {address}: the node requires a password\n")


def test_contradicting_options_are_usage_errors(server: RedisServer, tmp_path: Path) -> None:
    url = f"redis://:{SECRET}@{server.address}"
    two_passwords = bigkeys(url, "--password-stdin", stdin="other\n")
    two_users = bigkeys(f"redis://reader@{server.address}", "--username", "writer")
    unreadable = bigkeys(f"redis://{server.address}", "--password-file", str(tmp_path / "none"))

    assert two_passwords == (
        2, "", "keyscope: give the password one way: in the URL, --password-stdin or "
        "--password-file\n",
    )  # fmt: skip
    assert two_users == (
        2,
        "",
        "keyscope: two different users: one in the URL, one in --username\n",
    )
    assert unreadable == (
        2, "", f"keyscope: cannot read {tmp_path / 'none'}: No such file or directory\n"
    )  # fmt: skip
