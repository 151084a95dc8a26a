#!/usr/bin/env bash
# The README's example requests against a running `make dev` stack, as one script:
# a customer, a saved card, a payment authorized, captured and partly refunded.
# Override addresses with DURAPAY_API / DURAPAY_STRIPE and the key with DURAPAY_KEY.
set -euo pipefail

API=${DURAPAY_API:-http://127.0.0.1:8000}
STRIPE=${DURAPAY_STRIPE:-http://127.0.0.1:8420}
KEY=${DURAPAY_KEY:-sk_dev_client}
RUN=$(python3 -c "import uuid; print(uuid.uuid4().hex)")

field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
api() { curl -sS --fail-with-body -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }

# 1. A customer.
CUSTOMER=$(api -X POST "$API/v1/customers" -d '{"email": "ada@example.com", "name": "Ada Lovelace"}' | field '["id"]')
echo "customer $CUSTOMER"

# 2. A card token, created at the Stripe stand-in the way Stripe.js would in the browser:
#    the card number goes to the provider, never to Durapay.
TOKEN=$(curl -sS --fail-with-body "$STRIPE/v1/payment_methods" -u sk_test_durapay_dev: \
  -d type=card -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' \
  -d 'card[exp_year]=2034' -d 'card[cvc]=123' | field '["id"]')

# 3. Save it as the customer's payment method.
METHOD=$(api -X POST "$API/v1/customers/$CUSTOMER/payment-methods" \
  -d "{\"provider\": \"stripe\", \"token\": \"$TOKEN\"}" | field '["id"]')
echo "payment method $METHOD"

# 4. Authorize 49.99 USD now, capture it later.
PAYMENT=$(api -X POST "$API/v1/payments" -H "Idempotency-Key: quickstart-$RUN" \
  -d "{\"amount\": 4999, \"currency\": \"usd\", \"customer_id\": \"$CUSTOMER\",
       \"payment_method_id\": \"$METHOD\", \"capture_method\": \"manual\"}")
PAYMENT_ID=$(echo "$PAYMENT" | field '["id"]')
echo "payment $PAYMENT_ID $(echo "$PAYMENT" | field '["status"]')"

# 5. Capture it.
api -X POST "$API/v1/payments/$PAYMENT_ID/capture" -H "Idempotency-Key: capture-$RUN" -d '{}' \
  | field '["status"]' | sed 's/^/captured: /'

# 6. Refund 10.00 of it.
api -X POST "$API/v1/payments/$PAYMENT_ID/refunds" -H "Idempotency-Key: refund-$RUN" \
  -d '{"amount": 1000, "reason": "requested_by_customer"}' | field '["status"]' | sed 's/^/refund: /'

# 7. Read it back, with its timeline.
api "$API/v1/payments/$PAYMENT_ID" | field '["amount_refunded"]' | sed 's/^/amount_refunded: /'
api "$API/v1/payments/$PAYMENT_ID/events" | python3 -c \
  'import json,sys; [print("  event", e["seq"], e["type"]) for e in json.load(sys.stdin)["data"]]'
