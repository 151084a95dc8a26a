"""The names by which services address workflows, their updates, signals and queries.

The API never imports workflow code: it calls Temporal with these names and the contract types,
and the workflows register exactly these names (a unit test holds both sides to them).
"""

from enum import StrEnum

PAYMENT_SETTLED_SIGNAL = "payment_settled"
"""Sent by an invoice's payment to the workflow that started it, subscription or dunning alike:
the payment knows only the workflow ID it reports to, so both register the same name."""


class WorkflowName(StrEnum):
    PAYMENT = "PaymentWorkflow"
    ATTACH_PAYMENT_METHOD = "AttachPaymentMethodWorkflow"
    SUBSCRIPTION = "SubscriptionWorkflow"
    DUNNING = "DunningWorkflow"
    WEBHOOK_DELIVERY = "WebhookDeliveryWorkflow"
    WEBHOOK_SWEEP = "WebhookSweepWorkflow"
    FUNDING = "FundingWorkflow"
    WITHDRAWAL = "WithdrawalWorkflow"
    RECONCILIATION = "ReconciliationWorkflow"


class PaymentUpdate(StrEnum):
    SETTLE = "settle"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"
    APPROVE_REVIEW = "approve_review"
    REJECT_REVIEW = "reject_review"


class PaymentSignal(StrEnum):
    PROVIDER_EVENT = "provider_event"


class SubscriptionUpdate(StrEnum):
    BEGUN = "begun"
    CHANGE_PLAN = "change_plan"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"
    SET_PAYMENT_METHOD = "set_payment_method"


class SubscriptionSignal(StrEnum):
    PAYMENT_SETTLED = PAYMENT_SETTLED_SIGNAL


class DunningSignal(StrEnum):
    PAYMENT_SETTLED = PAYMENT_SETTLED_SIGNAL
    RETRY_WITH = "retry_with"
    STOP = "stop"


class DunningUpdate(StrEnum):
    RETRY_NOW = "retry_now"


class FundingUpdate(StrEnum):
    SETTLE = "settle"


class FundingSignal(StrEnum):
    PAYMENT_SETTLED = PAYMENT_SETTLED_SIGNAL


STATE_QUERY = "state"
"""Every long-lived workflow answers it with its current view."""
