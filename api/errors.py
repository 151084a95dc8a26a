"""The public errors (``services.errors``) rendered as RFC 9457 problem+json.

Every failure a client can see has a stable ``code``; nothing else (no stack trace, no echo of the
submitted values, which might hold card data) ever reaches the response.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import AppError, BadRequest, DatabaseUnavailable, ValidationFailed

log = logging.getLogger("durapay.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"


DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
)
"""What the database layer raises when the database cannot serve a statement right now, as
opposed to a statement that is wrong: SQLAlchemy's ``OperationalError`` (SQLite "database is
locked" or "unable to open database file"; PostgreSQL refusing the connection, see
``db.session``), ``InterfaceError`` (asyncpg's "connection is closed") and ``TimeoutError``
(every pooled connection busy past the pool's wait, as while each waits on a lock); and the
builtin ``ConnectionError``, which asyncpg raises when PostgreSQL refuses the connection if
nothing wraps it (the API's other network clients, Temporal's and httpx, raise their own types).
A retry later can succeed, so these are 503, never 500."""

UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")
"""SQLSTATE prefixes of errors that the driver reports only as a plain ``DBAPIError`` (asyncpg's
server errors at connect time, say) but that mean "not now" too: connection exceptions (class
08), operator intervention (57P01 to 57P05: the server shutting down, starting up or in recovery,
or ending the session) and too many connections (53300)."""


def _unavailable_by_sqlstate(exc: sa_exc.DBAPIError) -> bool:
    """Whether a plain ``DBAPIError`` means "not now": a retry later, with nothing changed, can
    succeed. (The types in ``DATABASE_UNAVAILABLE`` have their own, more specific handler.)"""
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(UNAVAILABLE_SQLSTATES)


_HTTP_CODES = {
    400: BadRequest.code,  # FastAPI's "There was an error parsing the body" (not UTF-8, say)
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
}


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE)


def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """Name the failing fields, never their values (which could be card data)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": error.get("msg", "invalid")}
        for error in exc.errors()
    ]
    return problem(
        ValidationFailed.status,
        ValidationFailed.code,
        ValidationFailed.title,
        "Some fields are invalid.",
        errors=errors,
    )


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail))


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Logged without the statement's parameters, which could hold customer data."""
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        type(getattr(exc, "orig", None) or exc).__name__,
    )
    return problem(
        DatabaseUnavailable.status,
        DatabaseUnavailable.code,
        DatabaseUnavailable.title,
        "The database cannot serve this request right now; retry it later, with the same "
        "Idempotency-Key if it had one.",
    )


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other ``DBAPIError``: unavailable by its SQLSTATE, or else a bug, raised on to the
    catch-all handler (a 500) exactly as if this handler did not exist."""
    if isinstance(exc, sa_exc.DBAPIError) and _unavailable_by_sqlstate(exc):
        return _database_unavailable(request, exc)
    raise exc


def database_error_answer(request: Request, exc: Exception) -> JSONResponse:
    """What the handlers below answer a database error with, for one met before any route runs
    (by ``api.gate``): 503 when the database cannot serve right now; raised on otherwise."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return _database_unavailable(request, exc)
    return _database_error(request, exc)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem(500, "internal_error", "Internal error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(database_error, _database_unavailable)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
