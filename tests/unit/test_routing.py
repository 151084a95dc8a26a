"""Routing rules place a checkout by currency, return URL, priority and circuit state; fallback
is allowed only where the failed provider cannot have charged anyone."""

from __future__ import annotations

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from activities.providers.routing import RoutingRules, plan_route
from contracts.errors import ErrorType
from contracts.providers import CaptureMethod, CreateIntentRequest, ProviderName, RouteRequest
from money import ISO_4217
from settings import PAYPAL_CURRENCIES, Environment, Settings
from workflows.policies.provider_failures import charges_on_create, fallback_is_safe

STRIPE, PAYPAL = ProviderName.STRIPE, ProviderName.PAYPAL
RULES = RoutingRules(
    priority=(STRIPE, PAYPAL),
    currencies={STRIPE: ISO_4217 - {"THB"}, PAYPAL: PAYPAL_CURRENCIES},
)
NO_CIRCUITS: frozenset[ProviderName] = frozenset()


def checkout(currency: str = "USD", return_url: bool = True) -> RouteRequest:
    return RouteRequest(currency=currency, has_return_url=return_url)


def test_priority_orders_the_providers_that_can_take_the_checkout() -> None:
    plan = plan_route(checkout(), RULES, NO_CIRCUITS)
    assert plan.candidates == [STRIPE, PAYPAL]
    assert plan.rule == "priority stripe > paypal"
    paypal_first = RoutingRules(priority=(PAYPAL, STRIPE), currencies=RULES.currencies)
    assert plan_route(checkout(), paypal_first, NO_CIRCUITS).candidates == [PAYPAL, STRIPE]


def test_a_currency_a_provider_does_not_take_leaves_it_out() -> None:
    thai = plan_route(checkout("THB"), RULES, NO_CIRCUITS)
    assert thai.candidates == [PAYPAL]
    assert "stripe does not take THB" in thai.rule
    rupees = plan_route(checkout("INR"), RULES, NO_CIRCUITS)
    assert rupees.candidates == [STRIPE]
    assert "paypal does not take INR" in rupees.rule


def test_redirect_providers_need_a_return_url() -> None:
    plan = plan_route(checkout(return_url=False), RULES, NO_CIRCUITS)
    assert plan.candidates == [STRIPE]
    assert "paypal needs return_url" in plan.rule
    assert plan_route(checkout("THB", return_url=False), RULES, NO_CIRCUITS).candidates == []


def test_an_amount_a_provider_cannot_take_exactly_leaves_it_out() -> None:
    """PayPal takes forints in whole units only: 10.50 HUF goes to Stripe alone, 10 HUF to both."""
    fractional = plan_route(
        RouteRequest(currency="HUF", has_return_url=True, amount=1050), RULES, NO_CIRCUITS
    )
    assert fractional.candidates == [STRIPE]
    assert "paypal cannot take 10.50 HUF exactly" in fractional.rule
    whole = RouteRequest(currency="HUF", has_return_url=True, amount=1000)
    assert plan_route(whole, RULES, NO_CIRCUITS).candidates == [STRIPE, PAYPAL]


def test_an_open_circuit_sends_its_provider_last_but_keeps_it() -> None:
    plan = plan_route(checkout(), RULES, frozenset({STRIPE}))
    assert plan.candidates == [PAYPAL, STRIPE]
    assert "stripe circuit open" in plan.rule


def test_rules_come_from_settings() -> None:
    settings = Settings(
        environment=Environment.TEST,
        routing_priority=("paypal", "stripe"),
        stripe_currencies=frozenset({"usd"}),
    )
    rules = RoutingRules.from_settings(settings)
    assert rules.priority == (PAYPAL, STRIPE)
    assert rules.currencies[STRIPE] == frozenset({"USD"})
    assert "EUR" in rules.currencies[PAYPAL]


def _request(saved_method: str | None = None) -> CreateIntentRequest:
    return CreateIntentRequest(
        payment_id="pay_1",
        amount=1000,
        currency="USD",
        capture_method=CaptureMethod.AUTOMATIC,
        payment_method_ref=saved_method,
    )


def _activity_error(cause: BaseException) -> ActivityError:
    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="worker",
        activity_type="create_intent",
        activity_id="1",
        retry_state=RetryState.TIMEOUT,
    )
    error.__cause__ = cause
    return error


def _failure(error_type: ErrorType) -> ApplicationError:
    return ApplicationError("failed", type=error_type)


def test_fallback_is_safe_only_for_a_checkout_that_failed_to_reach_its_provider() -> None:
    unreachable = _activity_error(
        TimeoutError("gave up", type=TimeoutType.SCHEDULE_TO_CLOSE, last_heartbeat_details=[])
    )
    assert fallback_is_safe(_request(), unreachable)
    assert fallback_is_safe(_request(), _activity_error(_failure(ErrorType.PROVIDER_AUTH_FAILED)))
    assert not fallback_is_safe(
        _request(), _activity_error(_failure(ErrorType.PROVIDER_INVALID_REQUEST))
    )
    assert not fallback_is_safe(_request(saved_method="pm_1"), unreachable)


def test_only_a_vaulted_paypal_order_charges_when_it_is_created() -> None:
    assert charges_on_create(PAYPAL, "vault_1")
    assert not charges_on_create(PAYPAL, None)
    assert not charges_on_create(STRIPE, "pm_1")
