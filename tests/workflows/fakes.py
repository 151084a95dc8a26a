"""Fake activities registered under the real activities' names: the workflow under test calls
them exactly as it calls the real ones, and they answer from memory, as a provider holding one
card would, while keeping what they were asked for the assertions.

The card a payment carries (its ``payment_method_ref``) decides how the fake provider answers the
confirm, as the test cards do at localstripe: ``CARD_OK`` pays (or authorizes, for a manual
capture), ``CARD_3DS`` asks for 3-D Secure, ``declining(code)`` is declined with that code. Like
Stripe, it answers a create or confirm sent again under an idempotency key it has answered with
that same answer, and moves nothing: a workflow task that ran its local activities and then
failed (a new event arrived as the workflow was completing) runs them again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.billing import (
    ChargeTarget,
    ChargeTargetRequest,
    InvoiceDraft,
    InvoiceRecord,
    InvoiceStatus,
    InvoiceUpdate,
)
from contracts.payments import PaymentTransition
from contracts.providers import (
    CaptureMethod,
    CreateIntentCall,
    Decline,
    IntentCall,
    IntentResult,
    IntentStatus,
    ProviderName,
    RefundCall,
    RefundResult,
    RefundStatus,
)
from contracts.subscriptions import SubscriptionView
from workflows.dunning import DunningWorkflow
from workflows.payment import PaymentWorkflow
from workflows.subscription import SubscriptionWorkflow

CARD_OK = "pm_fake_ok"
CARD_3DS = "pm_fake_3ds"
_DECLINING = "pm_fake_declines_"


def declining(decline_code: str) -> str:
    """A card the issuer declines with ``decline_code``."""
    return _DECLINING + decline_code


@dataclass(frozen=True)
class ProviderCall:
    """One call the workflow made to the provider, as the provider saw it."""

    activity: str
    idempotency_key: str
    amount: int | None = None
    off_session: bool = False


class FakeProvider:
    """The payment activities (``activities/payments.py``) over an in-memory provider."""

    def __init__(self) -> None:
        self.calls: list[ProviderCall] = []
        self.intents: dict[str, IntentResult] = {}
        self._cards: dict[str, str] = {}
        self._capture_methods: dict[str, CaptureMethod] = {}
        self._numbers = itertools.count(1)
        self._answers: dict[str, IntentResult] = {}

    def authenticate(self, reference: str) -> None:
        """What the customer finishing 3-D Secure does to the intent."""
        self.intents[reference] = replace(self.intents[reference], status=IntentStatus.SUCCEEDED)

    def called(self, activity_name: str) -> list[ProviderCall]:
        return [call for call in self.calls if call.activity == activity_name]

    @activity.defn(name="create_intent")
    async def create_intent(self, call: CreateIntentCall) -> IntentResult:
        if call.idempotency_key in self._answers:
            return self._answers[call.idempotency_key]
        request = call.request
        self.calls.append(ProviderCall("create_intent", call.idempotency_key, request.amount))
        reference = f"pi_fake_{next(self._numbers)}"
        self._cards[reference] = request.payment_method_ref or ""
        self._capture_methods[reference] = request.capture_method
        intent = IntentResult(reference, IntentStatus.REQUIRES_CONFIRMATION, request.amount)
        self.intents[reference] = intent
        self._answers[call.idempotency_key] = intent
        return intent

    @activity.defn(name="confirm_intent")
    async def confirm_intent(self, call: IntentCall) -> IntentResult:
        if call.idempotency_key in self._answers:
            return self._answers[call.idempotency_key]
        self.calls.append(
            ProviderCall("confirm_intent", call.idempotency_key, off_session=call.off_session)
        )
        intent = self.intents[call.reference]
        card = self._cards[call.reference]
        if card.startswith(_DECLINING):
            code = card.removeprefix(_DECLINING)
            decline = Decline("card_declined", f"The card was declined ({code}).", code)
            intent = replace(intent, status=IntentStatus.DECLINED, decline=decline)
        elif card == CARD_3DS:
            intent = replace(intent, status=IntentStatus.REQUIRES_ACTION)
        elif self._capture_methods[call.reference] is CaptureMethod.MANUAL:
            intent = replace(
                intent, status=IntentStatus.REQUIRES_CAPTURE, amount_capturable=intent.amount
            )
        else:
            intent = replace(intent, status=IntentStatus.SUCCEEDED)
        self.intents[call.reference] = intent
        self._answers[call.idempotency_key] = intent
        return intent

    @activity.defn(name="retrieve_intent")
    async def retrieve_intent(self, call: IntentCall) -> IntentResult:
        self.calls.append(ProviderCall("retrieve_intent", call.idempotency_key))
        return self.intents[call.reference]

    @activity.defn(name="capture_intent")
    async def capture_intent(self, call: IntentCall) -> IntentResult:
        self.calls.append(ProviderCall("capture_intent", call.idempotency_key, call.amount))
        intent = replace(
            self.intents[call.reference], status=IntentStatus.SUCCEEDED, amount_capturable=0
        )
        self.intents[call.reference] = intent
        return intent

    @activity.defn(name="cancel_intent")
    async def cancel_intent(self, call: IntentCall) -> IntentResult:
        self.calls.append(ProviderCall("cancel_intent", call.idempotency_key))
        intent = replace(
            self.intents[call.reference], status=IntentStatus.CANCELED, amount_capturable=0
        )
        self.intents[call.reference] = intent
        return intent

    @activity.defn(name="refund")
    async def refund(self, call: RefundCall) -> RefundResult:
        self.calls.append(ProviderCall("refund", call.idempotency_key, call.amount))
        return RefundResult(f"re_fake_{next(self._numbers)}", RefundStatus.SUCCEEDED, call.amount)

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.create_intent,
            self.confirm_intent,
            self.retrieve_intent,
            self.capture_intent,
            self.cancel_intent,
            self.refund,
        ]


class FakeRecords:
    """The payment projection (``activities/records.py``): the timeline each payment wrote."""

    def __init__(self) -> None:
        self.transitions: list[PaymentTransition] = []

    def timeline(self, payment_id: str) -> list[PaymentTransition]:
        return [t for t in self.transitions if t.payment.id == payment_id]

    def event_types(self, payment_id: str) -> list[str]:
        return [t.event_type for t in self.timeline(payment_id)]

    @activity.defn(name="record_payment_transition")
    async def record_payment_transition(self, transition: PaymentTransition) -> None:
        self.transitions.append(transition)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.record_payment_transition]


class FakeBilling:
    """Invoices and the subscription projection (``activities/billing.py``) for a customer
    whose saved payment methods hold ``cards`` (payment method id -> card)."""

    def __init__(self, cards: dict[str, str]) -> None:
        self.cards = cards
        self.invoices: dict[str, InvoiceRecord] = {}
        self.invoice_updates: list[InvoiceUpdate] = []
        self.views: list[SubscriptionView] = []

    @activity.defn(name="open_invoice")
    async def open_invoice(self, draft: InvoiceDraft) -> InvoiceRecord:
        """Idempotent by invoice id, as the real one is by subscription and period."""
        return self.invoices.setdefault(
            draft.invoice_id,
            InvoiceRecord(
                id=draft.invoice_id,
                amount_due=sum(line.amount for line in draft.lines),
                currency=draft.currency,
                status=InvoiceStatus.OPEN,
                period_start=draft.period_start,
                period_end=draft.period_end,
            ),
        )

    @activity.defn(name="update_invoice")
    async def update_invoice(self, update: InvoiceUpdate) -> None:
        self.invoice_updates.append(update)
        invoice = self.invoices[update.invoice_id]
        self.invoices[update.invoice_id] = replace(invoice, status=update.status)

    @activity.defn(name="record_subscription")
    async def record_subscription(self, view: SubscriptionView) -> None:
        self.views.append(view)

    @activity.defn(name="charge_target")
    async def charge_target(self, request: ChargeTargetRequest) -> ChargeTarget | None:
        if request.payment_method_id is None:
            return None
        return ChargeTarget(
            payment_method_id=request.payment_method_id,
            provider=ProviderName.STRIPE,
            provider_customer_ref="cus_fake",
            payment_method_ref=self.cards[request.payment_method_id],
        )

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.open_invoice,
            self.update_invoice,
            self.record_subscription,
            self.charge_target,
        ]


def fake_worker(
    env: WorkflowEnvironment, task_queue: str, *fakes: FakeProvider | FakeRecords | FakeBilling
) -> Worker:
    """Durapay's payment and subscription workflows, with ``fakes`` as their only activities."""
    return Worker(
        env.client,
        task_queue=task_queue,
        workflows=[PaymentWorkflow, SubscriptionWorkflow, DunningWorkflow],
        activities=[activity for fake in fakes for activity in fake.activities()],
    )
