"""Issue 18 #6 (and #9's plain HTTP): ``keyscope serve`` speaks HTTPS itself, and says so
when it is bound beyond loopback without it.

Before: the service spoke plain HTTP only, so signatures and console tokens crossed the
network in clear when it was bound beyond loopback, and nothing said so.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkdcs.v2 import DcsClient, ListBigkeyScanTasksRequest

from tests.utils.dcs import AK, PROJECT, SK, SignedClient
from tests.utils.serve import KEYSCOPE, Serve, serving
from tests.utils.tls import make_certs

pytestmark = pytest.mark.integration

WARNING = "over plain HTTP: signatures and console tokens cross the network in clear"


def test_serve_with_a_certificate_answers_https_to_the_sdk_and_nothing_in_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    certs = make_certs(tmp_path / "certs")
    args = ("--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key))
    with serving(tmp_path, args=args, tls_ca=certs.ca) as serve:
        with serve.client() as http:
            assert SignedClient(http).get("/instances").status_code == 200
        config = HttpConfig.get_default_config()
        config.ssl_ca_cert = str(certs.ca)
        client = (
            DcsClient.new_builder()
            .with_credentials(BasicCredentials(AK, SK, PROJECT))
            .with_endpoints([serve.url])
            .with_http_config(config)
            .build()
        )
        request = ListBigkeyScanTasksRequest(instance_id="5560df16-cebf-4473-95c4-d1b573c16e79")
        with pytest.raises(ClientRequestException) as refused:
            client.list_bigkey_scan_tasks(request)
        # Signed over TLS and verified: refused only because no such instance is registered.
        assert (refused.value.status_code, refused.value.error_code) == (404, "DCS.4041")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{serve.port}/healthz", timeout=10)
    assert WARNING not in serve.output()


def test_serve_bound_beyond_loopback_without_tls_warns_at_start(tmp_path: Path) -> None:
    with serving(tmp_path, args=("--host", "0.0.0.0")) as serve:
        pass
    warnings = [line for line in serve.output().splitlines() if WARNING in line]
    assert warnings == [
        "keyscope: WARNING: listening on 0.0.0.0 over plain HTTP: signatures and console "
        "tokens cross the network in clear; give --tls-cert and --tls-key"
    ]


def test_serve_on_loopback_does_not_warn(tmp_path: Path) -> None:
    with serving(tmp_path) as serve:
        pass
    assert WARNING not in serve.output()


def test_a_certificate_without_its_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    serve = Serve(tmp_path)
    done = subprocess.run(
        [KEYSCOPE, "serve", "--data-dir", str(serve.data), "--tls-cert", str(certs.server_cert)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "keyscope: --tls-cert and --tls-key go together: give both or neither"
    ]
