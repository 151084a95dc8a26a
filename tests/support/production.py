"""A production configuration that passes every refusal of ``Settings``: real-looking secrets,
credentials and public addresses, for tests of what production does."""

from __future__ import annotations

from settings import Environment, Settings

REAL: dict[str, object] = {
    "stripe_api_key": "sk_live_real",
    "stripe_webhook_secret": "whsec_real",
    "paypal_client_secret": "real-paypal-secret",
    "api_key_secret": "real-api-key-secret",
    "paypal_client_id": "AbC-real-client-id",
    "paypal_webhook_id": "8PT597110X687430LKGECATA",
    "stripe_api_base": "https://api.stripe.com",
    "paypal_api_base": "https://api-m.paypal.com",
    "update_payment_method_url": "https://shop.example/billing?subscription={subscription_id}",
    "payload_keys": {"prod-1": "cHJvZHVjdGlvbi1wYXlsb2FkLWtleS0zMi1ieXRlcyE="},
    "payload_key_id": "prod-1",
    "webhook_sealing_key": "cmVhbC13ZWJob29rLXNlYWxpbmcta2V5LTMyYnl0ZSE=",
}
"""A complete production configuration: real secrets, real credentials, real addresses."""


def production(**overrides: object) -> Settings:
    return Settings.model_validate({"environment": Environment.PRODUCTION, **REAL, **overrides})
