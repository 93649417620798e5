"""One place that turns every failure into the DCS error body.

``KeyscopeError`` subclasses carry their HTTP status and code; database failures and a full
or read-only disk become ``StorageError`` (``keyscope.store.faults``) with a readable reason
and a DCS.500x code instead of a bare 500; request validation errors
(FastAPI's 422) become 400 with the first problem named; unknown routes 404; anything else
500 with a generic message (``keyscope.api.middleware`` catches what no handler took: the
traceback goes to the log, never to the client). No message here ever includes a request
body, which may hold a password.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from keyscope.api.schemas.common import ErrorBody
from keyscope.domain import codes
from keyscope.domain.errors import KeyscopeError
from keyscope.store import faults

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": meaning}
    for status, meaning in (
        (400, "invalid request, or the feature is not supported on this instance"),
        (401, "invalid authentication information"),
        (403, "request refused"),
        (404, "resource not found"),
        (500, "internal error"),
    )
}
"""The DCS error body on every status it is sent with, for each operation's OpenAPI entry."""


def error_response(status: int, code: str, message: str) -> JSONResponse:
    body = {"error_code": code, "error_msg": message[:1024], "error_ext_msg": None}
    return JSONResponse(status_code=status, content=body)


def describe_validation_error(errors: list[Any]) -> tuple[str, str]:
    """The DCS code and a clear message for the first validation problem (no input echoed)."""
    if not errors:
        return codes.INVALID_REQUEST, "invalid request"
    first = errors[0]
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return codes.INVALID_JSON, "the request body is not valid JSON"
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    where = ".".join(loc) if loc else "body"
    if kind == "missing":
        return codes.INVALID_FIELD, f"{where} is required"
    message = str(first.get("msg", "invalid value"))
    return codes.INVALID_FIELD, f"{where}: {message}"


async def _keyscope_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeyscopeError)
    return error_response(exc.http_status, exc.code, exc.message)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    error = faults.from_database(exc)
    log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return error_response(error.http_status, error.code, error.message)


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    error = faults.from_os(exc, "the data folder")
    if error is None:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, codes.INTERNAL_ERROR, "internal error")
    log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return error_response(error.http_status, error.code, error.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = describe_validation_error(list(exc.errors()))
    return error_response(400, code, message)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, codes.ROUTE_NOT_FOUND, "no such resource")
    if exc.status_code == 405:
        return error_response(404, codes.ROUTE_NOT_FOUND, "no such operation on this resource")
    if exc.status_code < 500:
        return error_response(exc.status_code, codes.INVALID_REQUEST, str(exc.detail))
    return error_response(500, codes.INTERNAL_ERROR, "internal error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(KeyscopeError, _keyscope_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
