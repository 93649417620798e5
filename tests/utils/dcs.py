"""Talk to keyscope as the DCS SDK does: requests signed with SDK-HMAC-SHA256, JSON bodies.

``SignedClient`` wraps any httpx-compatible client (FastAPI's TestClient or ``httpx.Client``)
and ``credentials_file`` writes a credentials file with known keys for a test service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import SecretStr

from keyscope.api.credentials import Credential, CredentialStore
from keyscope.api.signing import SignedRequest, sign_request
from keyscope.store.secrets import create_private_file

AK = "KEYSCOPETESTAK000001"
SK = "test-secret-key-0123456789abcdefghij"
PROJECT = "0123456789abcdef0123456789abcdef"
OTHER_AK = "KEYSCOPETESTAK000002"
OTHER_SK = "other-secret-key-0123456789abcdefghi"
OTHER_PROJECT = "fedcba9876543210fedcba9876543210"
FILE_CONTENT_TYPE = "application/octet-stream"
"""What a file is sent as; the SDK's signer leaves such a body unsigned."""


def credentials_file(path: Path) -> Path:
    """A credentials file with two credentials, each owning one project."""
    store = CredentialStore(
        [
            Credential(AK, SecretStr(SK), frozenset({PROJECT})),
            Credential(OTHER_AK, SecretStr(OTHER_SK), frozenset({OTHER_PROJECT})),
        ]
    )
    create_private_file(path, store.to_json().encode())
    return path


@dataclass
class SignedClient:
    """Sends requests signed like the SDK's; ``path`` is relative to ``/v2/{project}``."""

    http: httpx.Client
    ak: str = AK
    sk: str = SK
    project: str = PROJECT
    now: datetime | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        project: str | None = None,
        raw_path: str | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        project = project or self.project
        wire_path = raw_path or f"/v2/{project}{path}"
        body = content if content is not None else b""
        content_type = content_type or "application/json"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json;charset=utf-8"
        host = urlsplit(str(self.http.base_url)).netloc
        headers = {
            "host": host,
            "content-type": content_type,
            "user-agent": "huaweicloud-usdk-python/3.0",
            "x-project-id": project,
        }
        query = urlencode(sorted((params or {}).items()))
        signed = sign_request(
            SignedRequest(method, wire_path, query, headers, body), self.ak, self.sk, now=self.now
        )
        url = wire_path + (f"?{signed.query}" if signed.query else "")
        return self.http.request(method, url, content=body, headers=dict(signed.headers))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def upload(self, path: str, data: bytes, **kw: Any) -> httpx.Response:
        """POST a file as the SDK signs one: ``application/octet-stream``, unsigned payload."""
        return self.request("POST", path, content=data, content_type=FILE_CONTENT_TYPE, **kw)


def is_dcs_error(response: httpx.Response, status: int, code: str | None = None) -> bool:
    """Whether ``response`` is a DCS error body with this status (and code)."""
    body = response.json()
    return (
        response.status_code == status
        and set(body) == {"error_code", "error_msg", "error_ext_msg"}
        and body["error_ext_msg"] is None
        and isinstance(body["error_msg"], str)
        and bool(body["error_msg"])
        and (code is None or body["error_code"] == code)
    )
