"""Only Redis is Redis: whatever else an address holds, the answer is one line, the same one.

An SSH banner, an HTTP server, ``+OK`` or an error to everything, a closed port and a port
that accepts and says nothing: the API answers 400 DCS.4971 and the CLI prints one line and
exits 1, both with ``<address>: NOT_REDIS``, over plain TCP and over TLS, and nothing the
other end sent comes back. Many silent addresses are tried at once, not one after another.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keyscope.cli.main import app
from keyscope.redis.transport import NOT_REDIS
from tests.utils.dcs import SignedClient, is_dcs_error
from tests.utils.impostors import BANNER, impostors
from tests.utils.servers import free_port
from tests.utils.service import running_app

pytestmark = pytest.mark.integration

KINDS = ["ssh", "http", "ok", "error", "closed"]
"""The quick ones; a silent port costs a whole connect timeout and is tested on its own."""


@contextlib.contextmanager
def endpoint(kind: str) -> Iterator[str]:
    if kind == "closed":
        yield f"127.0.0.1:{free_port()}"
        return
    with impostors(kind) as ((one,), _tally):
        yield one.address


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedClient]:
    with running_app(tmp_path_factory.mktemp("not-redis")) as (_app, signed):
        yield signed


LOGINS = {
    "no login": {},
    "a user": {"username": "keyscope", "password": "Pa55word-not-echoed"},
    "tls": {"tls": {"enabled": True, "verify": False}},
}


@pytest.mark.parametrize("login", list(LOGINS))
@pytest.mark.parametrize("kind", KINDS)
def test_the_api_refuses_what_is_not_redis_in_one_line(
    client: SignedClient, kind: str, login: str
) -> None:
    with endpoint(kind) as address:
        body = {"name": "x", "mode": "single", "addresses": [address], **LOGINS[login]}
        response = client.post("/instances", json_body=body)

    assert is_dcs_error(response, 400, "DCS.4971")
    assert response.json()["error_msg"] == f"{address}: {NOT_REDIS}"
    assert BANNER not in response.text
    assert "Pa55word" not in response.text


def test_many_silent_addresses_are_tried_at_once_and_refused_in_one_line(
    client: SignedClient,
) -> None:
    with impostors("silent", 20) as (silent, tally):
        addresses = [s.address for s in silent]
        body = {"name": "x", "mode": "ha", "addresses": addresses}
        response = client.post("/instances", json_body=body)

    assert tally.peak == 20  # every address was waited for at the same time
    assert is_dcs_error(response, 400, "DCS.4971")
    assert response.json()["error_msg"] == f"{addresses[0]}: {NOT_REDIS}"


def analyze(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("kind", [*KINDS, "silent"])
def test_the_cli_prints_one_line_and_exits_1_for_what_is_not_redis(kind: str) -> None:
    with endpoint(kind) as address:
        outcome = analyze("bigkeys", f"redis://{address}")
    assert outcome == (1, "", f"keyscope: {address}: {NOT_REDIS}\n")


@pytest.mark.parametrize("kind", ["ssh", "http"])
def test_the_cli_over_tls_prints_the_same_line(kind: str) -> None:
    with endpoint(kind) as address:
        outcome = analyze("hotkeys", f"rediss://{address}", "--tls-insecure")
    assert outcome == (1, "", f"keyscope: {address}: {NOT_REDIS}\n")


def test_the_installed_command_prints_no_traceback() -> None:
    keyscope = Path(sys.executable).with_name("keyscope")
    if not keyscope.exists():
        pytest.skip("no keyscope script next to the interpreter")
    with endpoint("http") as address:
        command = [str(keyscope), "analyze", "expire", f"redis://{address}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"keyscope: {address}: {NOT_REDIS}\n"
