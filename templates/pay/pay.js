// The payment page: shows what a link asks for, pays it with Stripe.js's card form or PayPal,
// and shows the receipt. Everything it knows comes from the public routes of the link's token;
// the card number goes from the card form to Stripe only.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const TOKEN_KEY = "durapay-payment-link";
  const returning = config.returning;
  const token = returning ? sessionStorage.getItem(TOKEN_KEY) : config.token;
  const api = "/v1/public/payment/" + encodeURIComponent(token || "-");
  const $ = (id) => document.getElementById(id);
  const stripe = Stripe(config.publishable_key);
  const card = stripe.elements().create("card");
  let polling = false;
  // The failed attempt already shown: waiting for the next one must not take it for its outcome
  // (an invoice's retry shows up only once its subscription has started it).
  let staleFailure = null;

  function say(text) { $("status").textContent = text; }
  function fail(text) { $("message").textContent = text; say(""); busy(false); }
  function failed(payment) {
    staleFailure = payment.id;
    fail((payment.failure && payment.failure.message) || "The payment did not go through.");
  }
  function isFailure(payment) {
    return payment && payment.id !== staleFailure &&
      (payment.status === "failed" || payment.status === "canceled");
  }
  function busy(on) { $("pay-card").disabled = on; $("pay-paypal").disabled = on; }

  async function call(method, path, body) {
    const response = await fetch(api + path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await response.json().catch(() => ({}));
    return { status: response.status, ok: response.ok, answer };
  }

  function showProblem(text) {
    $("due").hidden = true;
    $("problem").hidden = false;
    $("problem").textContent = text;
  }

  function showReceipt(receipt) {
    $("due").hidden = true;
    $("problem").hidden = true;
    $("receipt").hidden = false;
    $("receipt-amount").textContent = receipt.amount_display;
    $("receipt-for").textContent = receipt.description || "";
    $("receipt-for-label").hidden = !receipt.description;
    $("receipt-paid-at").textContent = new Date(receipt.paid_at).toLocaleString();
    $("receipt-payment").textContent = receipt.payment_id;
    $("receipt-provider").textContent = receipt.provider === "paypal" ? "PayPal" : "Card";
  }

  // Reads the link; true when nothing is left to do on this page (paid, expired, unknown).
  async function load() {
    const { status, answer } = await call("GET", "");
    if (status === 410 && answer.code === "link_used") { showReceipt(answer.receipt); return true; }
    if (status === 410) { showProblem("This payment link has expired."); return true; }
    if (status === 404) { showProblem("This payment link does not exist."); return true; }
    if (status !== 200) { fail(answer.detail || "The page could not load; try again."); return false; }
    $("due").hidden = false;
    $("amount").textContent = answer.amount_display;
    $("description").textContent = answer.description || "";
    $("customer").textContent = answer.customer_email ? "For " + answer.customer_email : "";
    $("expires").textContent = "Link valid until " + new Date(answer.expires_at).toLocaleString();
    return answer;
  }

  async function waitForOutcome() {
    if (polling) return;
    polling = true;
    say("Confirming your payment…");
    for (let i = 0; i < 120; i++) {
      const { status, answer } = await call("GET", "");
      if (status === 410) { polling = false; await load(); return; }
      if (isFailure(answer.payment)) {
        polling = false;
        failed(answer.payment);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    polling = false;
    fail("The payment is taking longer than usual; reload this page in a minute.");
  }

  async function follow(payment) {
    if (payment.status === "succeeded") { await load(); return; }
    if (isFailure(payment)) { failed(payment); return; }
    const action = payment.next_action;
    if (payment.status === "requires_action" && action && action.type === "redirect_to_url") {
      sessionStorage.setItem(TOKEN_KEY, token);
      window.location.assign(action.url);
      return;
    }
    if (payment.status === "requires_action" && action && action.type === "stripe_sdk") {
      say("Your bank asks you to confirm this payment…");
      const result = await stripe.confirmCardPayment(action.client_secret);
      if (result.error) { fail(result.error.message); return; }
    }
    await waitForOutcome();
  }

  async function payByCard(event) {
    event.preventDefault();
    busy(true);
    $("message").textContent = "";
    say("Checking your card…");
    const setup = await call("POST", "/card-setup");
    if (!setup.ok) { fail(setup.answer.detail || "The card form is unavailable."); return; }
    const confirmed = await stripe.confirmCardSetup(setup.answer.client_secret, {
      payment_method: { card },
    });
    if (confirmed.error) { fail(confirmed.error.message || "Your card was not accepted."); return; }
    const pm = confirmed.setupIntent.payment_method;
    const saved = await call("POST", "/methods", {
      provider: "stripe",
      token: typeof pm === "string" ? pm : pm.id,
    });
    if (!saved.ok) { fail(saved.answer.detail || "Your card was not accepted."); return; }
    say("Paying…");
    const intent = await call("POST", "/intent", { payment_method_id: saved.answer.id });
    if (!intent.ok) { fail(intent.answer.detail || "The payment could not start."); return; }
    await follow(intent.answer);
  }

  async function payWithPayPal() {
    busy(true);
    $("message").textContent = "";
    say("Opening PayPal…");
    const intent = await call("POST", "/intent", { provider: "paypal" });
    if (!intent.ok) { fail(intent.answer.detail || "PayPal is unavailable."); return; }
    await follow(intent.answer);
  }

  async function start() {
    if (!token) { showProblem("This payment link does not exist."); return; }
    const due = await load();
    if (due === true) return;
    card.mount("#card");
    card.on("change", () => { $("message").textContent = ""; });
    $("pay-form").addEventListener("submit", payByCard);
    $("pay-paypal").addEventListener("click", payWithPayPal);
    const last = due && due.payment;
    if (last && (last.status === "failed" || last.status === "canceled")) staleFailure = last.id;
    const leftPayPal = returning && new URLSearchParams(window.location.search).has("canceled");
    if (leftPayPal) {
      fail("You left PayPal without paying. Pay by card, or try PayPal again.");
    } else if (returning || (last && (last.status === "processing" || last.status === "requires_action"))) {
      busy(true);
      await waitForOutcome();
    }
  }

  start();
})();
