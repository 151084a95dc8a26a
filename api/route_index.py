"""Which route a request will reach, known before the router runs: the gate asks whether it needs
an API key, the audit trail which action it is and which resource it names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

ROUTE_FOUND = "route_found"
"""Left in the request's state by the gate: whether a route takes the request (the card guard
reads no body that no route would)."""


@dataclass(frozen=True)
class RouteMatch:
    path_format: str
    """The route's template, e.g. ``/v1/payments/{payment_id}/refunds``."""
    dependant: Dependant | None
    path_params: dict[str, Any]


class RouteIndex:
    """The app's routes flattened once (FastAPI's included routers resolved), on first use: by
    then every router is included."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._flat: list[Any] | None = None

    def find(self, scope: Scope) -> RouteMatch | None:
        """The route that takes the request whole (path and method), or None (a 404 or 405)."""
        if self._flat is None:
            self._flat = list(iter_route_contexts(self._routes))
        for route in self._flat:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return RouteMatch(
                    path_format=route.path_format,
                    dependant=getattr(route, "dependant", None),
                    path_params=dict(child.get("path_params", {})),
                )
        return None
