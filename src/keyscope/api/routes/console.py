"""The web console: its page and files, and the sign-in that trades AK + SK for a bearer token.

The page then calls the same DCS routes as the SDK, with ``Authorization: Bearer <token>``
(see ``keyscope.api.console_tokens``). The secret key travels once, in the JSON body of the
sign-in over the same origin; it is never put in a URL, a cookie or the browser's storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import Field, SecretStr

from keyscope.api import console_tokens
from keyscope.api.credentials import ACCESS_KEY_PATTERN
from keyscope.api.deps import ServicesDep
from keyscope.api.schemas.common import Input, Output, format_time

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"
"""The console's files, shipped in the package (``web/static/**/*`` in package-data)."""

router = APIRouter(tags=["console"])

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Only this origin's scripts run and only this origin is called: a key name that slipped
    # past the page's textContent discipline still could not load or send anything.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SessionIn(Input):
    access_key: str = Field(pattern=ACCESS_KEY_PATTERN)
    secret_key: SecretStr = Field(min_length=1, max_length=1024)


class SessionOut(Output):
    token: str
    token_type: str
    expires_at: str
    access_key: str
    projects: list[str]


@router.post(
    "/console/api/session", operation_id="CreateConsoleSession", response_model=SessionOut,
    include_in_schema=False,  # the console's own door, not a DCS operation: unsigned, no project
)  # fmt: skip
def create_console_session(body: SessionIn, services: ServicesDep) -> SessionOut:
    """keyscope extension: a short-lived bearer token for the console, in exchange for AK + SK."""
    credential = console_tokens.check_secret(
        services.credentials, body.access_key, body.secret_key.get_secret_value()
    )
    now = services.clock()
    token, expires = console_tokens.issue(credential, now=now)
    expires_at = now.fromtimestamp(expires, tz=now.tzinfo)
    return SessionOut(
        token=token,
        token_type=console_tokens.SCHEME,
        expires_at=format_time(expires_at) or "",
        access_key=credential.access_key,
        projects=sorted(credential.projects),
    )


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyscope API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/console/static/vendor/swagger-ui-bundle.js"></script>
<script src="/console/static/swagger-init.js"></script>
</body>
</html>
"""

_DOCS_HEADERS = {
    **_PAGE_HEADERS,
    # As the console's, with Swagger UI's inline SVG images: no inline script, no other origin.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
}


@router.get("/docs", include_in_schema=False)
def api_docs() -> HTMLResponse:
    """Swagger UI for /openapi.json, from the vendored copy (FastAPI's default is a CDN) and a
    start-up file instead of FastAPI's inline script, under a policy that runs no other."""
    return HTMLResponse(_DOCS_PAGE, headers=_DOCS_HEADERS)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/console")


def mount_static(app: FastAPI) -> None:
    """Serve the console's scripts, styles and the vendored chart library, all local."""
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
