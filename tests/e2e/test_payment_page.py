"""The payment page in a real browser: Debian's Chromium, driven through chromium-driver, opens a
link, types cards into Stripe.js's card form (localstripe's Stripe.js in this stack) and pays.

The whole stack serves from this test's event loop, so the browser is driven from a thread: a
blocking WebDriver call on the loop would stop the API it is waiting for.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.flows import CARD_3DS, CARD_DECLINED_AT_ATTACH, CARD_OK, new_customer, new_key
from tests.support.stack import Stack

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        raise RuntimeError("apt-get install chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=720,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


async def new_link(api: httpx.AsyncClient, amount: int = 4200) -> dict[str, Any]:
    customer_id = await new_customer(api, "lin@example.com")
    response = await api.post(
        "/v1/payment-links",
        json={
            "customer_id": customer_id,
            "amount": amount,
            "currency": "usd",
            "description": "Order 1042 — two tickets",
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


class PaymentPage:
    """The page as a customer uses it: read, type a card, press Pay, read what it says."""

    def __init__(self, driver: WebDriver, url: str) -> None:
        self.driver = driver
        self.wait = WebDriverWait(driver, 40)
        driver.get(url)
        self.wait.until(expected_conditions.visibility_of_element_located((By.ID, "amount")))

    def text(self, element_id: str) -> str:
        return str(self.driver.find_element(By.ID, element_id).text)

    def type_card(self, number: str) -> None:
        """localstripe's card element is plain inputs (Stripe's own is an iframe)."""
        for field, value in (
            ("number", number),
            ("exp_month", "12"),
            ("exp_year", "34"),
            ("cvc", "123"),
            ("postal_code", "10115"),
        ):
            box = self.driver.find_element(By.CSS_SELECTOR, f"#card input[placeholder={field}]")
            box.clear()
            box.send_keys(value)

    def pay(self) -> None:
        self.driver.find_element(By.ID, "pay-card").click()

    def message(self) -> str:
        self.wait.until(lambda _: self.text("message") != "")
        return self.text("message")

    def receipt(self) -> str:
        self.wait.until(expected_conditions.visibility_of_element_located((By.ID, "receipt")))
        return self.text("receipt")

    def authenticate(self) -> None:
        """The bank's 3-D Secure challenge (localstripe's Stripe.js shows it as a dialog)."""
        self.wait.until(
            expected_conditions.element_to_be_clickable(
                (By.XPATH, "//button[text()='Complete authentication']")
            )
        ).click()


def declined_then_paid(driver: WebDriver, url: str, screenshots: Path) -> dict[str, str]:
    page = PaymentPage(driver, url)
    seen = {"amount": page.text("amount"), "customer": page.text("customer")}
    page.type_card(CARD_DECLINED_AT_ATTACH)
    page.pay()
    seen["declined"] = page.message()
    page.type_card(CARD_OK)
    driver.save_screenshot(str(screenshots / "payment-page.png"))
    page.pay()
    seen["receipt"] = page.receipt()
    driver.save_screenshot(str(screenshots / "payment-receipt.png"))
    driver.refresh()
    seen["after_reload"] = page.receipt()
    return seen


async def test_a_link_pays_once_in_the_browser(
    api: httpx.AsyncClient, stack: Stack, browser: WebDriver, tmp_path: Path
) -> None:
    link = await new_link(api)

    seen = await asyncio.to_thread(declined_then_paid, browser, link["url"], tmp_path)

    assert seen["amount"] == "42.00 USD"
    assert seen["customer"] == "For l***@example.com"
    assert seen["declined"] == "Your card was declined."
    assert "Paid — thank you" in seen["receipt"] and "42.00 USD" in seen["receipt"]
    assert seen["after_reload"] == seen["receipt"]
    async with httpx.AsyncClient(base_url=stack.api_url) as customer:
        after = await customer.get(f"/v1/public/payment/{link['url'].rsplit('/', 1)[1]}")
    assert (after.status_code, after.json()["code"]) == (410, "link_used")
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert [(p["status"], p["amount"]) for p in payments["data"]] == [("succeeded", 4200)]
    for name in ("payment-page.png", "payment-receipt.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)


def with_3ds(driver: WebDriver, url: str) -> str:
    page = PaymentPage(driver, url)
    page.type_card(CARD_3DS)
    page.pay()
    page.authenticate()  # the card's setup
    page.authenticate()  # the payment
    return page.receipt()


async def test_3d_secure_in_the_browser(
    api: httpx.AsyncClient, stack: Stack, browser: WebDriver
) -> None:
    link = await new_link(api, amount=1999)

    receipt = await asyncio.to_thread(with_3ds, browser, link["url"])

    assert "19.99 USD" in receipt
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert [p["status"] for p in payments["data"]] == ["succeeded"]


def with_paypal(driver: WebDriver, url: str) -> tuple[str, str, str]:
    page = PaymentPage(driver, url)
    driver.find_element(By.ID, "pay-paypal").click()
    approve = page.wait.until(
        expected_conditions.element_to_be_clickable((By.LINK_TEXT, "Approve"))
    )
    at_paypal = str(driver.current_url)
    approve.click()
    receipt = page.receipt()
    return at_paypal, str(driver.current_url), receipt


async def test_paypal_in_the_browser(
    api: httpx.AsyncClient, stack: Stack, browser: WebDriver
) -> None:
    link = await new_link(api, amount=3100)
    token = link["url"].rsplit("/", 1)[1]

    at_paypal, back_at, receipt = await asyncio.to_thread(with_paypal, browser, link["url"])

    assert at_paypal.startswith(stack.paypal_url) and token not in at_paypal
    assert back_at.startswith(f"{stack.api_url}/pay/return?") and token not in back_at
    assert "31.00 USD" in receipt and "PayPal" in receipt
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert [(p["provider"], p["status"]) for p in payments["data"]] == [("paypal", "succeeded")]


def left_paypal_then_card(driver: WebDriver, url: str) -> tuple[str, str]:
    page = PaymentPage(driver, url)
    driver.find_element(By.ID, "pay-paypal").click()
    page.wait.until(expected_conditions.element_to_be_clickable((By.LINK_TEXT, "Cancel"))).click()
    left = page.message()
    page.type_card(CARD_OK)
    page.pay()
    return left, page.receipt()


async def test_leaving_paypal_then_paying_by_card(
    api: httpx.AsyncClient, stack: Stack, browser: WebDriver
) -> None:
    link = await new_link(api, amount=1500)

    left, receipt = await asyncio.to_thread(left_paypal_then_card, browser, link["url"])

    assert left == "You left PayPal without paying. Pay by card, or try PayPal again."
    assert "15.00 USD" in receipt and "Card" in receipt
    payments = (await api.get("/v1/payments", params={"customer_id": link["customer_id"]})).json()
    assert sorted((p["provider"], p["status"]) for p in payments["data"]) == [
        ("paypal", "canceled"),
        ("stripe", "succeeded"),
    ]
