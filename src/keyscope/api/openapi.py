"""The OpenAPI document: FastAPI's, with how to authenticate and the upload body described.

Every ``/v2/...`` operation accepts either a request signed as the DCS SDK signs it
(``sdkSignature``: not something Swagger UI can compute) or a console token
(``consoleToken``, HTTP bearer): in ``/docs``, "Authorize" with a token from
``POST /console/api/session`` makes "Try it out" work. ``UploadBackupFile`` reads its body
raw (the RDB file's bytes), so FastAPI cannot see it; it is declared here as
``application/octet-stream``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from keyscope.api import console_tokens

CONSOLE_TOKEN = "consoleToken"
SDK_SIGNATURE = "sdkSignature"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    CONSOLE_TOKEN: {
        "type": "http",
        "scheme": console_tokens.SCHEME.lower(),
        "description": "A console token, valid for an hour: sign in at /console, or "
        'POST {"access_key": "...", "secret_key": "..."} to /console/api/session and use '
        "its `token`. The token acts on the projects of that access key.",
    },
    SDK_SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>` "
        "with `X-Sdk-Date`, as the Huawei Cloud SDK signs requests (the official DCS SDKs and "
        "`keyscope instances`/`keyscope run` do it for you).",
    },
}

UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": "The RDB file, as it is (a Content-Length is required).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once and cached as FastAPI does."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    either: list[dict[str, list[str]]] = [{CONSOLE_TOKEN: []}, {SDK_SIGNATURE: []}]
    for path, item in spec.get("paths", {}).items():
        if not path.startswith("/v2/"):
            continue
        for operation in item.values():
            operation["security"] = either
            if operation.get("operationId") == "UploadBackupFile":
                operation["requestBody"] = UPLOAD_BODY
    app.openapi_schema = spec
    return spec
