"""PaymentWorkflow: the single writer of one payment, from the first provider call to the end of
its refund window.

Money moves only through calls this workflow makes, one at a time under ``_money_lock``: the charge
(create an intent, record its id, confirm that recorded id), captures, cancels and refunds. Every
state change is persisted by an activity *before* it becomes visible to updates and queries, so an
API response can never show a state the database does not hold yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from activities.providers.routing import RoutingActivities
    from activities.records import RecordActivities
    from contracts.errors import ErrorType
    from contracts.payments import (
        CancelRequest,
        CaptureRequest,
        Failure,
        KeyedRequest,
        PaymentInput,
        PaymentSettled,
        PaymentState,
        PaymentStatus,
        PaymentTransition,
        PaymentView,
        ProviderEvent,
        RefundRequest,
        RefundView,
        SettleRequest,
        SettleResult,
    )
    from contracts.providers import (
        CreateIntentCall,
        CreateIntentRequest,
        IntentCall,
        IntentResult,
        IntentStatus,
        ProviderName,
        RefundCall,
        RefundResult,
        RefundStatus,
        RouteRequest,
    )
    from contracts.search_attributes import PROVIDER
    from contracts.workflow_names import (
        PAYMENT_SETTLED_SIGNAL,
        STATE_QUERY,
        PaymentSignal,
        PaymentUpdate,
        WorkflowName,
    )
    from workflows import details, handlers, payment_lookup
    from workflows.database import call_database_locally
    from workflows.payment_index import index_status, started_status
    from workflows.policies import guards
    from workflows.policies.payment_status import (
        CANCELABLE_STATUSES,
        Detail,
        after_intent,
        after_refund,
        failed,
        initial_view,
        unreachable,
    )
    from workflows.policies.provider_failures import (
        charges_on_create,
        failure_type,
        fallback_is_safe,
        outlasted,
        provider_refusal,
    )
    from workflows.provider_calls import LOCAL_FIRST_PATCH, after_the_charge, call_provider

from workflows.payment_risk import PaymentRisk, RiskState


@workflow.defn(name=WorkflowName.PAYMENT)
class PaymentWorkflow(PaymentRisk):
    """One payment; workflow ID = payment ID. Its risk steps are ``PaymentRisk``'s."""

    @workflow.init
    def __init__(self, payment: PaymentInput) -> None:
        self._input = payment
        self._view = initial_view(payment)
        self._recorded: PaymentView | None = None
        self._step = "starting"
        self._settle_calls = 0
        self._events: list[ProviderEvent] = []
        self._seen_event_ids: set[str] = set()
        self._refunds: dict[str, RefundView] = {}
        self._keyed_requests: dict[str, str] = {}
        self._money_lock = asyncio.Lock()
        self._closing = False
        self._refunds_until: datetime | None = None
        self._risk = RiskState()
        self._local_first = False
        self._indexed_status: PaymentStatus | None = None

    # ------------------------------------------------------------------ main flow

    @workflow.run
    async def run(self, payment: PaymentInput) -> PaymentView:
        if workflow.patched(LOCAL_FIRST_PATCH):
            self._local_first = True
            self._indexed_status = started_status()
        candidates = await self._route() if payment.provider is None else [payment.provider]
        await self._assess_risk()
        await self._transition("payment.created")
        async with self._money_lock:
            try:
                await self._charge(candidates)
            except ActivityError as error:
                refusal = provider_refusal(error)
                if refusal is not None:
                    await self._fail_refused(refusal)
                elif outlasted(error):
                    await self._give_up_on_provider()
                else:
                    raise
        if self._view.status is PaymentStatus.REQUIRES_ACTION:
            await self._await_customer_action()
        await self._hold_for_review()
        if self._view.status is PaymentStatus.REQUIRES_CAPTURE:
            await self._await_capture()
        if self._view.status is PaymentStatus.SUCCEEDED:
            self._refunds_until = workflow.now() + payment.timeouts.refund_window
            self._set_step(details.open_for_refunds(self._refunds_until))
            await workflow.sleep(payment.timeouts.refund_window)
        await self._release_unpaid_limit()
        self._closing = True
        self._set_step(details.payment_completed(self._view))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view

    async def _route(self) -> list[ProviderName]:
        """Let the routing rules place a checkout; the choice is recorded with the payment."""
        payment = self._input
        self._set_step("choosing a provider")
        plan = await call_database_locally(
            RoutingActivities.route_payment,
            RouteRequest(
                currency=payment.currency,
                has_return_url=payment.return_url is not None,
                amount=payment.amount,
            ),
        )
        if not plan.candidates:
            raise ApplicationError(
                f"No provider can take this checkout ({plan.rule}).",
                type=ErrorType.PROVIDER_NOT_AVAILABLE,
                non_retryable=True,
            )
        self._use_provider(plan.candidates[0], plan.rule)
        return plan.candidates

    def _use_provider(self, provider: ProviderName, rule: str) -> None:
        self._view = replace(self._view, provider=provider, routing_rule=rule)
        workflow.upsert_search_attributes([PROVIDER.value_set(provider.value)])

    async def _charge(self, candidates: list[ProviderName]) -> None:
        """Create the provider object, record its id, and only then confirm that recorded id;
        unless risk refuses the payment before any of it."""
        if await self._refused_by_risk():
            return
        intent = await self._create_intent(candidates)
        self._view = replace(self._view, provider_reference=intent.reference)
        await self._transition("provider.intent_created", {"reference": intent.reference})
        if self._is_checkout:
            await self._apply_intent(intent, "checkout.started")
            return
        self._set_step(f"confirming {intent.reference} at {self._view.provider}")
        confirmed = await self._provider(
            PaymentActivities.confirm_intent,
            self._call(self._key("confirm")),
            give_up_after=self._input.timeouts.provider_outage,
            local_first=self._local_first,
        )
        await self._apply_intent(confirmed, "provider.confirmed")

    async def _create_intent(self, candidates: list[ProviderName]) -> IntentResult:
        """Create at the first provider; fall back to the next only when the failure provably
        moved no money (``fallback_is_safe``). The last one is waited for, up to the outage
        limit, while the payment stays ``processing``."""
        timeouts = self._input.timeouts
        for index, provider in enumerate(candidates):
            alternative = candidates[index + 1] if index + 1 < len(candidates) else None
            request = self._create_request(provider)
            self._set_step(f"creating the payment at {provider}")
            try:
                result: IntentResult = await self._provider(
                    PaymentActivities.create_intent,
                    CreateIntentCall(
                        provider=provider, request=request, idempotency_key=self._key("create")
                    ),
                    give_up_after=(
                        timeouts.fallback_after
                        if alternative is not None
                        else payment_lookup.create_repeat_limit(self._input, provider)
                    ),
                    local_first=self._local_first,
                )
            except ActivityError as error:
                if alternative is None or not fallback_is_safe(request, error):
                    raise
                reason = failure_type(error)
                self._use_provider(
                    alternative, f"fallback from {provider} ({reason}); {self._view.routing_rule}"
                )
                await self._transition(
                    "routing.fallback",
                    {"from": provider.value, "to": alternative.value, "reason": reason},
                )
                continue
            return result
        raise AssertionError("the last candidate either returns or raises")

    def _create_request(self, provider: ProviderName) -> CreateIntentRequest:
        payment = self._input
        return CreateIntentRequest(
            payment_id=payment.payment_id,
            amount=payment.amount,
            currency=payment.currency,
            capture_method=self._capture_at_provider(),
            provider_customer_ref=(
                payment.provider_customer_ref or payment.provider_customer_refs.get(provider.value)
            ),
            payment_method_ref=payment.payment_method_ref,
            description=payment.description,
            return_url=payment.return_url,
            request_three_d_secure=self._challenged(),
        )

    async def _give_up_on_provider(self) -> None:
        """The provider stayed unreachable past the outage limit. Fail the payment only when
        that is provably harmless: a create that never confirms moved nothing. A confirm, or a
        create that pays on the spot, may have reached the provider, so the workflow first
        waits for the provider's own answer (canceling the intent if it is still cancelable,
        looking the create's charge up otherwise: ``workflows/payment_lookup.py``) and believes
        that."""
        provider = self._view.provider
        assert provider is not None
        reference = self._view.provider_reference
        if reference is None and not charges_on_create(provider, self._input.payment_method_ref):
            await self._fail_unreachable()
            return
        self._set_step(
            f"{provider} unreachable past the outage limit; waiting for it to say whether "
            "money moved"
        )
        if reference is None and workflow.patched(payment_lookup.LOST_CREATE_PATCH):
            found = await payment_lookup.find_lost_charge(self._input, provider)
            if found is None:
                await self._fail_unreachable()
                return
            self._view = replace(self._view, provider_reference=found.reference)
            await self._apply_intent(found, "provider.found_by_lookup")
            return
        if reference is None:
            intent: IntentResult = await self._provider(
                PaymentActivities.create_intent,
                CreateIntentCall(
                    provider=provider,
                    request=self._create_request(provider),
                    idempotency_key=self._key("create"),
                ),
            )
            self._view = replace(self._view, provider_reference=intent.reference)
            await self._apply_intent(intent, "provider.answered_late")
            return
        intent = await self._provider(
            PaymentActivities.cancel_intent, self._call(self._key("cancel_unreachable"))
        )
        if intent.status is IntentStatus.CANCELED:
            await self._fail_unreachable()
        else:
            await self._apply_intent(intent, "provider.answered_late")

    async def _fail_unreachable(self) -> None:
        outage = self._input.timeouts.provider_outage
        self._view = failed(self._view, unreachable(self._view.provider, outage))
        await self._transition("provider.unreachable")

    async def _fail_refused(self, refusal: ApplicationError) -> None:
        """The provider refused the request outright: nothing was charged, the payment failed."""
        self._view = failed(
            self._view,
            Failure(code="provider_rejected", message=refusal.message, retryable=False),
        )
        await self._transition("provider.rejected", {"error_type": refusal.type})

    async def _await_customer_action(self) -> None:
        """Wait for the provider's webhook; poll once before giving up, then cancel."""
        deadline = workflow.now() + self._input.timeouts.action
        self._set_step(
            f"waiting for the customer (authentication or approval) until {details.at(deadline)}"
        )
        while self._view.status is PaymentStatus.REQUIRES_ACTION:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: (
                        bool(self._events) or self._view.status is not PaymentStatus.REQUIRES_ACTION
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                break
            self._events.clear()
            async with self._money_lock:
                if self._view.status is PaymentStatus.REQUIRES_ACTION:
                    await self._refresh_from_provider("provider.webhook")
        async with self._money_lock:
            if self._view.status is not PaymentStatus.REQUIRES_ACTION:
                return
            await self._refresh_from_provider("provider.polled")
            if self._view.status is PaymentStatus.REQUIRES_ACTION:
                await self._cancel_at_provider("action.timed_out", self._key("cancel_action"))

    async def _await_capture(self) -> None:
        """Hold the authorization until captured or canceled; void it when it expires."""
        expiry = self._authorization_left()
        self._set_step(
            f"authorized; waiting for capture until {details.at(workflow.now() + expiry)}"
        )
        try:
            await workflow.wait_condition(
                lambda: self._view.status is not PaymentStatus.REQUIRES_CAPTURE, timeout=expiry
            )
        except TimeoutError:
            async with self._money_lock:
                if self._view.status is PaymentStatus.REQUIRES_CAPTURE:
                    await self._cancel_at_provider(
                        "authorization.expired", self._key("void_expired")
                    )

    async def _refresh_from_provider(self, event_type: str) -> None:
        """Re-read the provider; a buyer-approved order (PayPal) is then confirmed at once."""
        intent = await self._provider(PaymentActivities.retrieve_intent, self._call(""))
        if intent.status is IntentStatus.REQUIRES_CONFIRMATION:
            self._set_step(f"approved by the buyer; confirming {intent.reference}")
            intent = await self._provider(
                PaymentActivities.confirm_intent, self._call(self._key("confirm"))
            )
        await self._apply_intent(intent, event_type)

    async def _cancel_at_provider(self, event_type: str, idempotency_key: str) -> None:
        self._set_step("canceling at the provider")
        intent = await self._provider(PaymentActivities.cancel_intent, self._call(idempotency_key))
        await self._apply_intent(intent, event_type)

    # ------------------------------------------------------------------ provider results

    async def _apply_intent(
        self, intent: IntentResult, event_type: str, captured: int | None = None
    ) -> None:
        """Record what the provider's answer makes of the payment (``after_intent``)."""
        self._view, detail = after_intent(
            self._view, intent, captured=captured, checkout=self._is_checkout
        )
        event_type = self._open_review_if_due(event_type, detail)
        await self._transition(event_type, detail)

    @property
    def _is_checkout(self) -> bool:
        return self._input.payment_method_ref is None

    # ------------------------------------------------------------------ updates

    @handlers.update(PaymentUpdate.SETTLE)
    async def settle(self, request: SettleRequest) -> SettleResult:
        """Answer ``POST /v1/payments``: returns once the payment has left ``processing``."""
        created = self._settle_calls == 0
        self._settle_calls += 1
        await workflow.wait_condition(
            lambda: (
                self._recorded is not None and self._recorded.status is not PaymentStatus.PROCESSING
            )
        )
        assert self._recorded is not None
        return SettleResult(payment=self._recorded, created=created)

    @settle.validator
    def _validate_settle(self, request: SettleRequest) -> None:
        if request.request_hash != self._input.request_hash:
            raise guards.key_reused()

    @handlers.update(PaymentUpdate.CAPTURE)
    async def capture(self, request: CaptureRequest) -> PaymentView:
        """Capture all or part of an authorization; the remainder is released by the provider."""

        async def capture_once() -> None:
            amount = guards.require_capture(self._view, request.amount)
            intent = await payment_lookup.call_then_look_up(
                self._input,
                PaymentActivities.capture_intent,
                self._call(self._key("capture"), amount=amount),
            )
            await self._apply_intent(intent, "payment.captured", captured=amount)

        await after_the_charge(lambda: self._charging)
        return await self._once_per_key(request, capture_once)

    @capture.validator
    def _validate_capture(self, request: CaptureRequest) -> None:
        if not self._repeated(request) and not self._charging:
            guards.require_capture(self._view, request.amount)

    @handlers.update(PaymentUpdate.CANCEL)
    async def cancel(self, request: CancelRequest) -> PaymentView:
        """Cancel before money moved; waits out an in-flight charge step first."""
        await workflow.wait_condition(lambda: self._view.status is not PaymentStatus.PROCESSING)

        async def cancel_once() -> None:
            if self._view.status not in CANCELABLE_STATUSES:
                raise guards.invalid_state(
                    f"The payment became {self._view.status} before the cancel."
                )
            self._set_step("canceling at the provider")
            intent = await payment_lookup.call_then_look_up(
                self._input, PaymentActivities.cancel_intent, self._call(self._key("cancel"))
            )
            await self._apply_intent(intent, "payment.canceled")

        return await self._once_per_key(request, cancel_once)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if not self._repeated(request) and self._view.status not in CANCELABLE_STATUSES:
            raise guards.invalid_state(f"A {self._view.status} payment cannot be canceled.")

    @handlers.update(PaymentUpdate.REFUND)
    async def refund(self, request: RefundRequest) -> RefundView:
        """Refund part or all of what remains; refunds run one at a time so they never overlap."""
        await after_the_charge(lambda: self._charging)
        async with self._money_lock:
            existing = self._refunds.get(request.refund_id)
            if existing is not None:
                return existing
            guards.require_refundable(self._view, request.amount, closing=self._closing)
            amount = request.amount if request.amount is not None else guards.refundable(self._view)
            self._set_step(f"refunding {details.money(amount, self._view.currency)}")
            assert self._view.provider is not None
            call = RefundCall(
                provider=self._view.provider,
                reference=self._reference,
                amount=amount,
                idempotency_key=self._key(f"refund:{request.refund_id}"),
                refund_id=request.refund_id,
            )
            try:
                result: RefundResult = await self._provider(PaymentActivities.refund, call)
            except ActivityError as error:
                if provider_refusal(error) is None:
                    raise
                result = RefundResult(reference="", status=RefundStatus.FAILED, amount=amount)
            self._view, refund = after_refund(self._view, request, amount, result, workflow.now())
            self._refunds[refund.id] = refund
            self._keyed_requests[refund.id] = request.request_hash
            await self._transition(
                "refund." + result.status.value, {"refund_id": refund.id}, refund
            )
            self._set_step(
                details.payment_completed(self._view)
                if self._closing
                else details.open_for_refunds(self._refunds_until)
            )
            return refund

    @refund.validator
    def _validate_refund(self, request: RefundRequest) -> None:
        if guards.seen_key(self._keyed_requests, request.refund_id, request.request_hash):
            return
        if not self._charging:
            guards.require_refundable(self._view, request.amount, closing=self._closing)

    @property
    def _charging(self) -> bool:
        return self._view.status is PaymentStatus.PROCESSING

    # ------------------------------------------------------------------ signals and queries

    @workflow.signal(name=PaymentSignal.PROVIDER_EVENT)
    def provider_event(self, event: ProviderEvent) -> None:
        """A verified webhook; the workflow re-reads the provider rather than trusting its order."""
        if event.event_id in self._seen_event_ids:
            return
        self._seen_event_ids.add(event.event_id)
        self._events.append(event)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> PaymentState:
        """The recorded payment, its refunds, and what the workflow is doing right now."""
        return PaymentState(
            payment=self._recorded or self._view,
            step=self._step,
            refunds=list(self._refunds.values()),
        )

    # ------------------------------------------------------------------ plumbing

    def _repeated(self, request: KeyedRequest) -> bool:
        """This Idempotency-Key was handled already (a different body under it is refused)."""
        return guards.seen_key(self._keyed_requests, request.key, request.request_hash)

    async def _once_per_key(
        self, request: KeyedRequest, change: Callable[[], Awaitable[None]]
    ) -> PaymentView:
        """Make ``change`` under the money lock, once per Idempotency-Key; a repeated key is
        answered with the payment as it is now."""
        async with self._money_lock:
            if request.key not in self._keyed_requests:
                await change()
                self._keyed_requests[request.key] = request.request_hash
            return self._view

    @property
    def _reference(self) -> str:
        assert self._view.provider_reference is not None
        return self._view.provider_reference

    def _key(self, step: str) -> str:
        """Provider idempotency key: stable across retries, crashes and replays."""
        return f"{self._input.payment_id}:{step}"

    def _call(self, idempotency_key: str, amount: int | None = None) -> IntentCall:
        assert self._view.provider is not None
        return IntentCall(
            provider=self._view.provider,
            reference=self._reference,
            idempotency_key=idempotency_key,
            amount=amount,
            off_session=self._input.merchant_initiated,
        )

    def _set_step(self, step: str) -> None:
        self._step = step
        workflow.set_current_details(step)

    async def _provider(
        self,
        activity: Any,
        call: Any,
        give_up_after: timedelta | None = None,
        local_first: bool = False,
    ) -> Any:
        """One provider call (``workflows/provider_calls.py``)."""
        timeout = self._input.timeouts.provider_call
        return await call_provider(activity, call, timeout, give_up_after, local_first)

    async def _transition(
        self,
        event_type: str,
        detail: Detail | None = None,
        refund: RefundView | None = None,
    ) -> None:
        """Persist the new state, then make it visible to updates, queries and search."""
        self._view = replace(self._view, version=self._view.version + 1, updated_at=workflow.now())
        await call_database_locally(
            RecordActivities.record_payment_transition,
            PaymentTransition(
                payment=self._view, event_type=event_type, detail=detail or {}, refund=refund
            ),
        )
        changed = self._recorded is None or self._recorded.status is not self._view.status
        self._indexed_status = index_status(
            self._view.status, self._indexed_status, self._risk_attributes()
        )
        self._recorded = self._view
        if changed and self._view.status is not PaymentStatus.PROCESSING:
            await self._notify_settled()

    async def _notify_settled(self) -> None:
        """Tell the workflow that started this payment (an invoice's) how it stands. A closed
        notifyee has nothing left to learn, so its absence never fails the payment."""
        target = self._input.notify_workflow_id
        if target is None:
            return
        try:
            await workflow.get_external_workflow_handle(target).signal(
                PAYMENT_SETTLED_SIGNAL, PaymentSettled(payment=self._view)
            )
        except FailureError:
            workflow.logger.info("%s is gone; payment %s not reported", target, self._view.id)
