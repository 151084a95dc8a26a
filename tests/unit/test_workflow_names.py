"""Workflows register exactly the names the services address them by (``contracts.workflow_names``).

The API never imports workflow code, so nothing but this test notices a handler renamed on one
side only. The names also equal the handlers' method names, as they did before they were spelled
out: running workflows and the committed histories recorded those names.
"""

from __future__ import annotations

import pytest
from temporalio import workflow

from contracts.workflow_names import (
    STATE_QUERY,
    DunningSignal,
    DunningUpdate,
    FundingSignal,
    FundingUpdate,
    PaymentSignal,
    PaymentUpdate,
    SubscriptionSignal,
    SubscriptionUpdate,
    WorkflowName,
)
from workflows.dunning import DunningWorkflow
from workflows.funding import FundingWorkflow
from workflows.payment import PaymentWorkflow
from workflows.payment_method import AttachPaymentMethodWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow, WebhookSweepWorkflow
from workflows.withdrawal import WithdrawalWorkflow

NONE: frozenset[str] = frozenset()

EXPECTED: dict[type, tuple[WorkflowName, frozenset[str], frozenset[str], frozenset[str]]] = {
    # class: (workflow name, updates, signals, queries)
    PaymentWorkflow: (
        WorkflowName.PAYMENT,
        frozenset(PaymentUpdate),
        frozenset(PaymentSignal),
        frozenset({STATE_QUERY}),
    ),
    SubscriptionWorkflow: (
        WorkflowName.SUBSCRIPTION,
        frozenset(SubscriptionUpdate),
        frozenset(SubscriptionSignal),
        frozenset({STATE_QUERY}),
    ),
    DunningWorkflow: (
        WorkflowName.DUNNING,
        frozenset(DunningUpdate),
        frozenset(DunningSignal),
        NONE,
    ),
    ReconciliationWorkflow: (WorkflowName.RECONCILIATION, NONE, NONE, NONE),
    AttachPaymentMethodWorkflow: (WorkflowName.ATTACH_PAYMENT_METHOD, NONE, NONE, NONE),
    WebhookDeliveryWorkflow: (WorkflowName.WEBHOOK_DELIVERY, NONE, NONE, NONE),
    WebhookSweepWorkflow: (WorkflowName.WEBHOOK_SWEEP, NONE, NONE, NONE),
    FundingWorkflow: (
        WorkflowName.FUNDING,
        frozenset(FundingUpdate),
        frozenset(FundingSignal),
        frozenset({STATE_QUERY}),
    ),
    WithdrawalWorkflow: (WorkflowName.WITHDRAWAL, NONE, NONE, frozenset({STATE_QUERY})),
}


def test_every_workflow_name_has_a_workflow() -> None:
    assert {names[0] for names in EXPECTED.values()} == set(WorkflowName)


@pytest.mark.parametrize("cls", EXPECTED, ids=lambda cls: cls.__name__)
def test_workflow_registers_the_contract_names(cls: type) -> None:
    definition = workflow._Definition.must_from_class(cls)
    name, updates, signals, queries = EXPECTED[cls]
    assert definition.name == name
    assert set(definition.updates) == updates
    assert set(definition.signals) == signals
    assert set(definition.queries) == queries


@pytest.mark.parametrize("cls", EXPECTED, ids=lambda cls: cls.__name__)
def test_handler_names_are_the_method_names_histories_recorded(cls: type) -> None:
    definition = workflow._Definition.must_from_class(cls)
    assert definition.name == cls.__name__
    for handlers in (definition.updates, definition.signals, definition.queries):
        for name, handler in handlers.items():
            assert name == handler.fn.__name__
