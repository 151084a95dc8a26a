"""Which provider takes a checkout.

A payment with a saved method always goes to that method's provider, and a client may name a
provider; both are decided by the API. A checkout (no saved method, no provider named) is placed
here: providers that cannot take the currency, or this amount of it exactly, are dropped, as are
redirect providers when the client gave no ``return_url`` to send the buyer back to; the rest
keep the configured priority, except that a provider whose circuit is open goes last.

Whether the next provider may be tried after a failure is the workflow's rule
(``workflows/policies/provider_failures.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from temporalio import activity

from activities.providers.circuit import CircuitBreaker
from contracts.providers import ProviderName, RoutePlan, RouteRequest
from money import format_amount, representable
from settings import Settings

REDIRECT_PROVIDERS = frozenset({ProviderName.PAYPAL})
"""Providers whose checkout sends the buyer to their own page and back to ``return_url``."""


@dataclass(frozen=True)
class RoutingRules:
    priority: tuple[ProviderName, ...]
    currencies: Mapping[ProviderName, frozenset[str]]

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingRules:
        priority = tuple(ProviderName(name) for name in settings.routing_priority)
        return cls(
            priority=priority,
            currencies={name: settings.provider_currencies(name) for name in priority},
        )


def plan_route(
    request: RouteRequest, rules: RoutingRules, open_circuits: frozenset[ProviderName]
) -> RoutePlan:
    """The providers to try for a checkout, best first, and the rule that ordered them."""
    able: list[ProviderName] = []
    reasons: list[str] = []
    for provider in rules.priority:
        if request.currency not in rules.currencies.get(provider, frozenset()):
            reasons.append(f"{provider} does not take {request.currency}")
        elif request.amount is not None and not representable(
            request.amount, request.currency, provider
        ):
            amount = format_amount(request.amount, request.currency)
            reasons.append(f"{provider} cannot take {amount} {request.currency} exactly")
        elif provider in REDIRECT_PROVIDERS and not request.has_return_url:
            reasons.append(f"{provider} needs return_url")
        else:
            able.append(provider)
    tripped = [provider for provider in able if provider in open_circuits]
    candidates = [provider for provider in able if provider not in tripped] + tripped
    reasons.extend(f"{provider} circuit open" for provider in tripped)
    rule = "priority " + " > ".join(rules.priority)
    if reasons:
        rule += "; " + ", ".join(reasons)
    return RoutePlan(candidates=candidates, rule=rule)


class RoutingActivities:
    """The routing decision, as a local activity: it reads the worker's circuit state."""

    def __init__(self, rules: RoutingRules, circuits: CircuitBreaker) -> None:
        self._rules = rules
        self._circuits = circuits

    @activity.defn(name="route_payment")
    async def route_payment(self, request: RouteRequest) -> RoutePlan:
        return plan_route(request, self._rules, self._circuits.open_circuits())
