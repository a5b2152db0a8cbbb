"""How the REST API says no: one JSON shape for every refusal, a status for every domain error.

Routers cannot register exception handlers, and the API must not change how the rest of the
web app answers, so the mapping lives in a route class that the API router uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from bot.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from bot.core.storage import StorageUnavailable

log = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="ticketbot"'


class FieldProblem(BaseModel):
    field: str = Field(
        description="The input the message is about: a body field, parameter or header."
    )
    message: str


class ApiErrorBody(BaseModel):
    """Every error answer of the API."""

    detail: str = Field(description="What went wrong, in words meant for a person.")
    field: str | None = Field(default=None, description="The input at fault, when there is one.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each refused input, for validation errors (422)."
    )


class ContentTooLarge(InvalidInput):
    """An upload over the configured size limit (413)."""


class IdempotencyKeyReused(InvalidInput):
    """An Idempotency-Key already used for a request with another body (422)."""


def unauthorized(message: str, *, error: str | None = None) -> HTTPException:
    """401 with the challenge RFC 6750 asks for; `error` says why a given token failed."""
    challenge = WWW_AUTHENTICATE + (f', error="{error}"' if error else "")
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": challenge})


def _status_of(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, ContentTooLarge):
        return 413
    return 422


def domain_error_response(error: DomainError) -> JSONResponse:
    body = ApiErrorBody(detail=error.message, field=error.field)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=_status_of(error))


def _field_name(location: Sequence[int | str]) -> str:
    # ("body", "title") -> "title"; ("query", "status", 0) -> "status[0]"; ("body",) -> "body"
    parts = list(location[1:]) if len(location) > 1 else list(location)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "request"


def _problem_message(problem: dict[str, Any]) -> str:
    kind = problem.get("type")
    if kind == "missing":
        return "is required"
    if "input" in problem and problem["input"] is None:
        return "must not be null"
    if kind == "extra_forbidden":
        return "is not a field of this request; check its spelling"
    if kind == "json_invalid":
        reason = (problem.get("ctx") or {}).get("error", "")
        return f"is not valid JSON ({reason})" if reason else "is not valid JSON"
    message = str(problem.get("msg", "is not valid"))
    # pydantic prefixes the messages of our own validators; the prefix helps nobody.
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def validation_error_response(error: RequestValidationError) -> JSONResponse:
    problems = []
    for problem in error.errors():
        location = problem.get("loc", ())
        # A JSON syntax error is located at a character offset, not at a field.
        field = "body" if problem.get("type") == "json_invalid" else _field_name(location)
        problems.append(FieldProblem(field=field, message=_problem_message(problem)))
    detail = "; ".join(f"{p.field}: {p.message}" for p in problems) or "The request is not valid."
    body = ApiErrorBody(
        detail=detail, field=problems[0].field if problems else None, errors=problems
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


def _unreadable_body_response() -> JSONResponse:
    problem = FieldProblem(field="body", message="is not valid JSON (it is not UTF-8 text)")
    body = ApiErrorBody(detail=f"body: {problem.message}", field="body", errors=[problem])
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


DATABASE_UNAVAILABLE = "The database is unavailable right now; nothing was saved. Try again."
STORAGE_UNAVAILABLE = "The file could not be stored (the server's storage is full or unavailable)."
# How long a client should wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30


def _unavailable(message: str) -> JSONResponse:
    body = ApiErrorBody(detail=message)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class ApiRoute(APIRoute):
    """Turns domain errors, request validation errors and oversized bodies into
    `ApiErrorBody` answers."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # FastAPI's body limit answers a too-long Content-Length in plain text, so that
        # case is answered here first, in the API's JSON. (A chunked body that outgrows
        # the limit fails while it is read: see the handler below.)
        declared = Headers(scope=scope).get("content-length", "")
        limit = self.max_body_size
        if limit is not None and declared.isdigit() and int(declared) > limit:
            await self._body_too_large()(scope, receive, send)
            return
        await super().handle(scope, receive, send)

    def _body_too_large(self) -> JSONResponse:
        body = ApiErrorBody(detail=f"The request body is larger than {self.max_body_size:,} bytes.")
        return JSONResponse(body.model_dump(exclude_none=True), status_code=413)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_with_api_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as error:
                return validation_error_response(error)
            except DomainError as error:
                return domain_error_response(error)
            except SQLAlchemyError:
                log.exception("database unavailable during %s %s", request.method, request.url.path)
                return _unavailable(DATABASE_UNAVAILABLE)
            except StorageUnavailable:
                log.exception("file storage unavailable during %s", request.url.path)
                return _unavailable(STORAGE_UNAVAILABLE)
            except StarletteHTTPException as error:
                # Raised while the body is read: 400 for a body FastAPI could not even
                # decode (not UTF-8, say), which to the caller is one more invalid body;
                # 413 for a chunked body that outgrew the limit.
                if error.status_code == 400:
                    return _unreadable_body_response()
                if error.status_code == 413:
                    return self._body_too_large()
                raise

        return handle_with_api_errors


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals an operation can answer with."""
    descriptions = {
        401: "No token, or a token that is not valid (any more).",
        403: "The author given may not do this.",
        404: "No such ticket (or attachment) in the token's organization.",
        413: "The attachment is larger than the configured maximum.",
        422: "A field, parameter or header was refused; `detail` says which and why.",
        503: "The database or the file storage is unavailable; nothing was saved. Retry later.",
    }
    return {
        status: {"model": ApiErrorBody, "description": descriptions[status]} for status in statuses
    }
