"""AttachPaymentMethodWorkflow: save a customer's provider token as a Durapay payment method.

Attaching talks to the provider (and may create the provider-side customer first), so it runs as a
short workflow rather than in the API: a crash half-way resumes instead of leaving a card attached
at the provider that Durapay does not know about.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from activities.records import RecordActivities
    from contracts.payment_methods import (
        AttachPaymentMethodInput,
        AttachPaymentMethodResult,
        PaymentMethodRecord,
    )
    from contracts.providers import AttachCall, AttachResult, ProviderCustomerCall
    from contracts.workflow_names import WorkflowName
    from workflows.database import call_database_locally
    from workflows.policies.retries import (
        PROVIDER_RETRY_POLICY,
        RECORD_RETRY_POLICY,
        RECORD_TIMEOUT,
    )


@workflow.defn(name=WorkflowName.ATTACH_PAYMENT_METHOD)
class AttachPaymentMethodWorkflow:
    """One attach; workflow ID = the payment method ID, derived from customer and token."""

    @workflow.run
    async def run(self, request: AttachPaymentMethodInput) -> AttachPaymentMethodResult:
        customer_ref = request.provider_customer_ref
        if customer_ref is None:
            customer_ref = await workflow.execute_activity_method(
                PaymentActivities.ensure_provider_customer,
                ProviderCustomerCall(
                    provider=request.provider,
                    customer_id=request.customer_id,
                    idempotency_key=f"{request.customer_id}:provider_customer",
                ),
                start_to_close_timeout=request.provider_call_timeout,
                retry_policy=PROVIDER_RETRY_POLICY,
            )
            await workflow.execute_local_activity_method(
                RecordActivities.record_provider_customer,
                args=[request.customer_id, customer_ref],
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY_POLICY,
            )
        attached: AttachResult = await workflow.execute_activity_method(
            PaymentActivities.attach_payment_method,
            AttachCall(
                provider=request.provider,
                provider_customer_ref=customer_ref,
                token=request.token,
                idempotency_key=f"{request.payment_method_id}:attach",
                payment_method_id=request.payment_method_id,
            ),
            start_to_close_timeout=request.provider_call_timeout,
            retry_policy=PROVIDER_RETRY_POLICY,
        )
        if attached.details is None:
            return AttachPaymentMethodResult(
                payment_method_id=request.payment_method_id,
                attached=False,
                decline=attached.decline,
                invalid=attached.invalid,
            )
        await call_database_locally(
            RecordActivities.record_payment_method,
            PaymentMethodRecord(
                payment_method_id=request.payment_method_id,
                customer_id=request.customer_id,
                provider=request.provider,
                provider_token=attached.reference or request.token,
                provider_customer_ref=customer_ref,
                details=attached.details,
                created_at=workflow.now(),
            ),
        )
        return AttachPaymentMethodResult(payment_method_id=request.payment_method_id, attached=True)
