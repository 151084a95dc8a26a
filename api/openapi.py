"""The published schema and its pages: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

The pages' scripts and styles are the ones the ``fastapi-offline`` package ships, served from
``/docs/assets``: FastAPI's defaults load them from a CDN, which leaves ``/docs`` blank on a
machine without internet and tells a third party who reads the docs. All three are served unless
``Settings.api_docs_enabled`` is off (by default, in production).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from api.problems import problem_schemas, requires_idempotency_key, shared_problems, with_problems

ASSETS_URL = "/docs/assets"
ASSETS = files("fastapi_offline") / "static"
"""swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png."""

SWAGGER_UI_PARAMETERS = {
    "persistAuthorization": True,
    "validatorUrl": None,
}
"""``validatorUrl: None``: Swagger UI would otherwise send the schema to an online validator.
``persistAuthorization`` keeps the key entered in "Authorize" across a reload of the page."""

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # the page's own start-up script
        "style-src 'self' 'unsafe-inline'",  # both UIs style their components inline
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",  # ReDoc's search
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""The pages' Content-Security-Policy: nothing loads from anywhere but the API itself. ReDoc's
bundle fetches its maker's logo from a CDN whatever its options say; the policy stops that."""


FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 body, which this API never answers with (``api.errors`` renders a problem)."""


def _operations(app: FastAPI, schema: dict[str, Any]) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Each route of the schema with its operation object, one per method."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                yield route, schema["paths"][route.path_format][method.lower()]


def _complete(app: FastAPI, schema: dict[str, Any]) -> None:
    """Add what FastAPI's generator cannot say: the problems every route shares (``api.problems``)
    in place of FastAPI's default 422, the ``Problem`` models they refer to, and the
    Idempotency-Key as required where the contract requires it (the dependency itself takes a
    missing one, to answer it with 400 ``idempotency_key_required``, not FastAPI's 422)."""
    for route, operation in _operations(app, schema):
        responses = operation["responses"]
        default_422 = responses.get("422", {}).get("content", {})
        default_422.pop("application/json", None)
        operation["responses"] = dict(
            sorted(with_problems(responses, shared_problems(route)).items())
        )
        if requires_idempotency_key(route):
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                    parameter["required"] = True
                    parameter["schema"].pop("anyOf", None)
                    parameter["schema"]["type"] = "string"
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)
    components.update(problem_schemas())


def install_openapi(app: FastAPI, docs: bool) -> None:
    """Complete the schema FastAPI generates; serve it and its pages when ``docs`` is on.

    ``app`` is made with ``openapi_url`` (``None`` without docs), ``docs_url=None`` and
    ``redoc_url=None``; ``app.openapi()`` answers either way (the tests read it)."""
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = FastAPI.openapi(app)
        if not any(done is schema for done in completed):
            _complete(app, schema)
            completed[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
    if docs:
        _serve_pages(app)


def _serve_pages(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page(
            request,
            lambda root: get_swagger_ui_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} API",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            ),
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return _page(
            request,
            lambda root: get_redoc_html(
                openapi_url=f"{root}{app.openapi_url}",
                title=f"{app.title} API",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            ),
        )


def _page(request: Request, render: Callable[[str], HTMLResponse]) -> HTMLResponse:
    """A docs page rendered under the request's root path (behind a proxy's prefix), with the
    pages' Content-Security-Policy."""
    page = render(request.scope.get("root_path", ""))
    page.headers["Content-Security-Policy"] = PAGE_POLICY
    return page
