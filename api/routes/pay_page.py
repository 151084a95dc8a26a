"""``GET /pay/{token}``: the page a payment link opens. It is static apart from its settings;
its script reads the link through the public routes and pays with Stripe.js or PayPal.

The URL holds the token, so the page tells the browser to send no ``Referer`` (Stripe.js and
PayPal never see the token) and not to cache it. ``/pay/return`` is where PayPal sends the buyer
back: the script finds the token in the tab's ``sessionStorage``, so it never travels to PayPal
or into a workflow's input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.deps import RuntimeDep
from settings import Settings

PAGES = Path(__file__).resolve().parents[2] / "templates" / "pay"
_templates = Environment(
    loader=FileSystemLoader(PAGES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
STRIPE_FRAMES = "https://js.stripe.com https://hooks.stripe.com"
"""Where Stripe.js's own card frames and 3-D Secure pages come from (Stripe's CSP guide)."""

router = APIRouter(prefix="/pay", tags=["payment page"], include_in_schema=False)


def _page(settings: Settings, *, token: str | None) -> HTMLResponse:
    config = {
        "token": token,
        "returning": token is None,
        "publishable_key": settings.stripe_publishable_key,
    }
    html = _templates.get_template("page.html").render(
        merchant_name=settings.merchant_name,
        stripe_js=settings.stripe_js_source,
        config=config,
    )
    return HTMLResponse(html, headers={**PRIVATE, "Content-Security-Policy": _policy(settings)})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(settings: Settings) -> str:
    """The page runs only its own script and Stripe.js, talks only to Durapay and Stripe, and
    cannot be framed by another site (no clickjacking of a payment button)."""
    stripe_js = _origin(settings.stripe_js_source)
    stripe_api = _origin(settings.stripe_api_base)
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {stripe_js}",
            f"connect-src 'self' {stripe_api} {stripe_js}",
            f"frame-src {stripe_js} {STRIPE_FRAMES}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@router.get("/assets/pay.js")
async def page_script() -> FileResponse:
    return FileResponse(PAGES / "pay.js", media_type="text/javascript")


@router.get("/return")
async def paypal_return(runtime: RuntimeDep) -> HTMLResponse:
    """Back from PayPal's approval page: the script waits for the payment's outcome."""
    return _page(runtime.settings, token=None)


@router.get("/{token}")
async def payment_page(
    runtime: RuntimeDep, token: Annotated[str, PathParam(min_length=1, max_length=128)]
) -> HTMLResponse:
    return _page(runtime.settings, token=token)
