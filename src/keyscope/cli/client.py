"""How the CLI talks to a running keyscope: requests signed as the DCS SDK signs them.

``Client.call`` sends one request under ``/v2/{project_id}``, signed with an access key of a
credentials file (the one ``keyscope serve`` created, or any in the same format) by the
signer the server verifies with (``api/signing.py``), and returns the decoded JSON. Every
failure is one ``ClientError`` whose message fits on one line: the endpoint cannot be
reached, the server refused the signature (its DCS error shown), an instance name matches
nothing or several. Only the standard library and the signer are imported (no web stack);
``ssl`` only for an ``https://`` endpoint.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from keyscope.api.signing import SignedRequest, sign_request

ENDPOINT_ENV = "KEYSCOPE_ENDPOINT"
"""Where the keyscope to talk to listens, when ``--endpoint`` is not given."""

CREDENTIALS_ENV = "KEYSCOPE_CREDENTIALS"
"""The credentials file, when ``--credentials`` is not given (as ``keyscope serve`` reads it)."""

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
"""``keyscope serve``'s own default address."""

REQUEST_TIMEOUT_S = 30.0
"""How long one request may take before the client gives up on it."""

_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_MAX_CREDENTIALS_BYTES = 16 * 1024 * 1024
_MAX_ID_CHARS = 64  # the longest id and name ListInstances filters by
_MAX_NAME_CHARS = 255


class ClientError(Exception):
    """A call to keyscope that did not give an answer to use; ``message`` is one line."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def default_credentials_path() -> Path:
    """``$KEYSCOPE_CREDENTIALS``, else ``credentials.json`` in ``$KEYSCOPE_DATA_DIR`` (default
    ``keyscope-data``), where ``keyscope serve`` writes it on first start."""
    given = os.environ.get(CREDENTIALS_ENV)
    if given:
        return Path(given)
    return Path(os.environ.get("KEYSCOPE_DATA_DIR") or "keyscope-data") / "credentials.json"


@dataclass(frozen=True)
class ClientCredential:
    """The access key to sign with and the project the calls act on; repr hides the secret."""

    access_key: str
    secret_key: str = field(repr=False)
    project: str


def load_credential(path: Path, project: str | None = None) -> ClientCredential:
    """The first credential of the file (the one owning ``project`` when given)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_CREDENTIALS_BYTES + 1)
    except FileNotFoundError:
        raise ClientError(
            f"no credentials file at {path} (keyscope serve writes one on first start; "
            f"give its path with --credentials or {CREDENTIALS_ENV})"
        ) from None
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        entries = json.loads(raw.decode("utf-8"))["credentials"]
        candidates = [
            ClientCredential(str(e["access_key"]), str(e["secret_key"]), str(p))
            for e in entries
            for p in e["projects"]
        ]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        # Never the document itself in the message: it holds secret keys.
        raise ClientError(
            f"{path} is not a keyscope credentials file "
            '({"credentials": [{"access_key", "secret_key", "projects"}]})'
        ) from None
    for candidate in candidates:
        if project is None or candidate.project == project:
            return candidate
    if project is not None:
        raise ClientError(f"no credential in {path} owns project {project}")
    raise ClientError(f"{path} lists no credential")


class Client:
    """Signed calls to one keyscope endpoint on behalf of one project."""

    def __init__(
        self, endpoint: str, credential: ClientCredential, *, timeout: float = REQUEST_TIMEOUT_S
    ) -> None:
        parts = urlsplit(endpoint.strip() if "://" in endpoint else f"http://{endpoint.strip()}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"endpoint {endpoint!r} is not an http:// or https:// address")
        try:
            parts.port  # noqa: B018  (raises on a bad port)
        except ValueError:
            raise ClientError(f"endpoint {endpoint!r} has an invalid port") from None
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self._parts = parts
        self._base = parts.path.rstrip("/")
        self._credential = credential
        self._timeout = timeout

    @property
    def project(self) -> str:
        return self._credential.project

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, str | int] | None = None,
    ) -> Any:
        """The decoded JSON answer (None when empty) of ``method`` on ``/v2/{project}{path}``."""
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        wire_path = f"{self._base}/v2/{quote(self.project, safe='')}{path}"
        headers = {"host": self._parts.netloc, "content-type": "application/json"}
        draft = SignedRequest(method, wire_path, urlencode(sorted((query or {}).items())),
                              headers, payload)  # fmt: skip
        signed = sign_request(draft, self._credential.access_key, self._credential.secret_key)
        target = signed.path + (f"?{signed.query}" if signed.query else "")
        status, data = self._send(method, target, dict(signed.headers), payload)
        if status >= 400:
            raise _refusal(status, data, self.endpoint)
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise ClientError(f"{self.endpoint} answered with something other than JSON") from None

    def _send(
        self, method: str, target: str, headers: dict[str, str], payload: bytes
    ) -> tuple[int, bytes]:
        host, port = self._parts.hostname or "", self._parts.port
        connection: http.client.HTTPConnection
        if self._parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=self._timeout)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        try:
            connection.request(method, target, body=payload or None, headers=headers)
            response = connection.getresponse()
            data = response.read(_MAX_RESPONSE_BYTES + 1)
        except TimeoutError:
            raise ClientError(
                f"keyscope at {self.endpoint} did not answer within {self._timeout:g} s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ClientError(f"cannot reach keyscope at {self.endpoint}: {reason}") from None
        except http.client.HTTPException as exc:
            raise ClientError(
                f"keyscope at {self.endpoint} broke off the answer ({type(exc).__name__})"
            ) from None
        finally:
            connection.close()
        if len(data) > _MAX_RESPONSE_BYTES:
            raise ClientError(f"the answer from {self.endpoint} is larger than 64 MiB")
        return response.status, data


def _refusal(status: int, data: bytes, endpoint: str) -> ClientError:
    """The one-line error of an HTTP error answer: its DCS code and message where it has one."""
    try:
        body = json.loads(data)
        dcs = f"{body['error_code']}: {body['error_msg']}"
    except (ValueError, KeyError, TypeError):
        dcs = f"HTTP {status}"
    dcs = " ".join(dcs.split())  # one line, whatever the server put in it
    if status == 401:
        return ClientError(f"keyscope at {endpoint} refused the credentials ({dcs})", status=status)
    if status == 403:
        return ClientError(f"the credentials may not act on this project ({dcs})", status=status)
    return ClientError(dcs, status=status)


def list_instances(client: Client, **filters: str) -> list[dict[str, Any]]:
    """Every instance of the project (that the ``ListInstances`` filters match), page by page."""
    found: list[dict[str, Any]] = []
    while True:
        query: dict[str, str | int] = {**filters, "offset": len(found), "limit": 1000}
        page = client.call("GET", "/instances", query=query)
        instances: list[dict[str, Any]] = page["instances"]
        found.extend(instances)
        if not instances or len(found) >= int(page["count"]):
            return found


def find_instance(client: Client, ref: str) -> dict[str, Any]:
    """The instance whose id is ``ref``, else the one named ``ref``; ClientError if none or
    several are."""
    if 0 < len(ref) <= _MAX_ID_CHARS:
        by_id = list_instances(client, instance_id=ref)
        if by_id and by_id[0]["instance_id"] == ref:
            return by_id[0]
    named = []
    if 0 < len(ref) <= _MAX_NAME_CHARS:  # the server's filter ignores case: the name must match
        named = [i for i in list_instances(client, name=ref, name_equal="true") if i["name"] == ref]
    if len(named) == 1:
        return named[0]
    if not named:
        raise ClientError(
            f"no instance named {ref!r} in project {client.project} "
            "(keyscope instances list shows them)"
        )
    ids = ", ".join(i["instance_id"] for i in named)
    raise ClientError(f"{len(named)} instances are named {ref!r}; give the id of one: {ids}")
