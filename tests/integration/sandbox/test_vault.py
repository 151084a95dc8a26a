"""Vault v3 through the official SDK: save a wallet once, charge it later with no buyer step."""

from __future__ import annotations

from typing import Any

from tests.support.sandbox import CANCEL_URL, RETURN_URL, click, link


def test_saved_wallet_is_charged_without_a_buyer_step(paypal: Any) -> None:
    setup = paypal.vault.create_setup_token(
        {
            "body": {
                "payment_source": {
                    "paypal": {
                        "usage_type": "MERCHANT",
                        "experience_context": {
                            "return_url": RETURN_URL,
                            "cancel_url": CANCEL_URL,
                        },
                    }
                }
            },
            "paypal_request_id": "setup-1",
        }
    ).body
    assert setup.status == "PAYER_ACTION_REQUIRED"
    target, params = click(link(setup, "approve"), "approve")
    assert target == RETURN_URL
    assert params["approval_token_id"] == [setup.id]
    assert paypal.vault.get_setup_token(setup.id).body.status == "APPROVED"

    token = paypal.vault.create_payment_token(
        {"body": {"payment_source": {"token": {"id": setup.id, "type": "SETUP_TOKEN"}}}}
    ).body
    assert token.id
    assert token.customer.id == setup.customer.id
    assert token.payment_source.paypal.email_address

    order = paypal.orders.create_order(
        {
            "body": {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "7.50"}}],
                "payment_source": {"paypal": {"vault_id": token.id}},
            }
        }
    ).body

    assert order.status == "COMPLETED"
    assert [item.rel for item in order.links] == ["self"]
    capture = order.purchase_units[0].payments.captures[0]
    assert capture.status == "COMPLETED"
    assert capture.amount.value == "7.50"
