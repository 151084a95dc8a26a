"""What a customer is sent and can read, through the real stack: a subscription's invoice gets a
gapless number, is mailed with its PDF when it opens and with a receipt when it is paid (once
each), and reads back as a PDF; a one-off payment has a receipt (page, PDF, and mail when asked
for); a statement adds up."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from tests.support.documents import mails_to, pdf_attachments, pdf_text, render_first_page
from tests.support.flows import CARD_OK, new_customer, new_key, pay, saved_card
from tests.support.polling import eventually
from tests.support.stack import Stack
from tests.support.subscriptions import unique_email

INVOICE_NUMBER = re.compile(r"^INV-\d{4}-\d{6}$")


async def card_customer_with_email(api: httpx.AsyncClient, stack: Stack) -> tuple[str, str, str]:
    email = unique_email()
    customer_id = await new_customer(api, email)
    return customer_id, await saved_card(api, stack.stripe_url, customer_id, CARD_OK), email


async def mails_of(stack: Stack, email: str) -> list[EmailMessage]:
    """What the sink holds for ``email`` now (the worker mails after its transactions commit)."""
    return mails_to(stack.mail_dir, email)


async def paid_invoice(api: httpx.AsyncClient, stack: Stack) -> tuple[dict[str, Any], str]:
    """The first invoice of a new, paid subscription, and its customer's address."""
    customer_id, method_id, email = await card_customer_with_email(api, stack)
    response = await api.post(
        "/v1/subscriptions",
        json={
            "customer_id": customer_id,
            "plan_id": "pro_monthly",
            "payment_method_id": method_id,
            "trial_days": 0,
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["status"] == "active"
    invoice = await api.get(f"/v1/invoices/{subscription['latest_invoice_id']}")
    assert invoice.status_code == 200, invoice.text
    return invoice.json(), email


async def test_an_invoice_pdf_names_its_number_and_is_mailed_with_it_then_its_receipt(
    api: httpx.AsyncClient, stack: Stack, tmp_path: Path
) -> None:
    invoice, email = await paid_invoice(api, stack)
    number = invoice["number"]
    assert INVOICE_NUMBER.match(number), number
    assert invoice["status"] == "paid"

    response = await api.get(f"/v1/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert number in text
    assert "29.00 USD" in text
    assert "PAID" in text.upper()
    width, height = render_first_page(response.content, tmp_path / "invoice.png")
    assert 1.35 < height / width < 1.45, "an A4 page"

    mails = await eventually(lambda: mails_of(stack, email), lambda found: len(found) >= 2)
    opened = [m for m in mails if str(m["Subject"]).startswith(f"Invoice {number}")]
    receipts = [m for m in mails if str(m["Subject"]).startswith(f"Receipt for invoice {number}")]
    assert len(opened) == 1 and len(receipts) == 1, [str(m["Subject"]) for m in mails]
    attached = pdf_attachments(opened[0])
    assert list(attached) == [f"{number}.pdf"]
    assert number in pdf_text(attached[f"{number}.pdf"])
    assert "OPEN" in pdf_text(attached[f"{number}.pdf"]).upper()
    assert "PAID" in pdf_text(pdf_attachments(receipts[0])[f"{number}.pdf"]).upper()


async def test_a_succeeded_payment_has_a_receipt_and_mails_it_once_when_asked(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id, email = await card_customer_with_email(api, stack)
    key = new_key()
    response = await pay(api, customer_id, method_id, amount=4999, key=key, receipt_email=True)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["receipt_url"] == f"/v1/payments/{payment['id']}/receipt"

    page = await api.get(payment["receipt_url"])
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "49.99 USD" in page.text and payment["id"] in page.text
    as_pdf = await api.get(payment["receipt_url"], params={"format": "pdf"})
    assert as_pdf.status_code == 200
    assert "49.99 USD" in pdf_text(as_pdf.content)

    [mail] = await eventually(lambda: mails_of(stack, email), lambda found: len(found) >= 1)
    assert list(pdf_attachments(mail)) == [f"receipt-{payment['id']}.pdf"]
    again = await pay(api, customer_id, method_id, amount=4999, key=key, receipt_email=True)
    assert again.status_code == 200
    assert len(mails_to(stack.mail_dir, email)) == 1


async def test_a_payment_that_did_not_succeed_has_no_receipt(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id, _ = await card_customer_with_email(api, stack)
    response = await pay(api, customer_id, method_id, capture_method="manual")
    payment = response.json()
    assert payment["status"] == "requires_capture", payment
    assert payment["receipt_url"] is None
    receipt = await api.get(f"/v1/payments/{payment['id']}/receipt")
    assert receipt.status_code == 409
    assert receipt.json()["code"] == "invalid_state"


async def test_a_statement_closes_at_its_opening_plus_its_lines_in_json_csv_and_pdf(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    customer_id, method_id, _ = await card_customer_with_email(api, stack)
    first = (await pay(api, customer_id, method_id, amount=5000)).json()
    second = (await pay(api, customer_id, method_id, amount=2000)).json()
    refund = await api.post(
        f"/v1/payments/{first['id']}/refunds",
        json={"amount": 1500},
        headers={"Idempotency-Key": new_key()},
    )
    assert refund.status_code == 201, refund.text

    response = await api.get(
        f"/v1/customers/{customer_id}/statement",
        params={"from": second["created_at"], "currency": "usd"},
    )
    assert response.status_code == 200, response.text
    statement = response.json()
    assert set(statement) == {
        "customer_id",
        "currency",
        "from",
        "to",
        "opening_balance",
        "closing_balance",
        "lines",
        "totals",
    }
    assert statement["currency"] == "USD"
    assert statement["opening_balance"] == 5000
    lines = statement["lines"]
    assert [(line["type"], line["amount"]) for line in lines] == [
        ("payment", 2000),
        ("refund", -1500),
    ]
    assert statement["closing_balance"] == statement["opening_balance"] + sum(
        line["amount"] for line in lines
    )
    assert lines[-1]["balance"] == statement["closing_balance"] == 5500
    assert statement["totals"]["refund"] == -1500

    as_csv = await api.get(
        f"/v1/customers/{customer_id}/statement", params={"format": "csv", "currency": "USD"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[-1].endswith(",closing_balance,,,5500")
    as_pdf = await api.get(f"/v1/customers/{customer_id}/statement", params={"format": "pdf"})
    assert "55.00 USD" in pdf_text(as_pdf.content)


async def test_another_accounts_documents_are_not_found_and_a_bad_currency_is_refused(
    api: httpx.AsyncClient, stranger: httpx.AsyncClient, stack: Stack
) -> None:
    invoice, _ = await paid_invoice(api, stack)
    assert (await stranger.get(f"/v1/invoices/{invoice['id']}/pdf")).status_code == 404
    customer = invoice["customer_id"]
    assert (await stranger.get(f"/v1/customers/{customer}/statement")).status_code == 404
    refused = await api.get(f"/v1/customers/{customer}/statement", params={"currency": "ZZZ"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "validation_error"
