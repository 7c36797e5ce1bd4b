// Adds a card with Stripe.js: ask the page for a SetupIntent, confirm it in Stripe's own card field (the
// card number never reaches the Billing Service), then post the payment method id Stripe returns.
(function () {
  const form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    errors.textContent = "";
    const body = new FormData();
    body.append("type", "card");
    body.append("csrf_token", form.elements["csrf_token"].value);
    const response = await fetch(form.dataset.setupIntent, { method: "POST", body: body, credentials: "same-origin" });
    if (!response.ok) { errors.textContent = "The card could not be set up. Try again."; return; }
    const intent = await response.json();
    const result = await stripe.confirmCardSetup(intent.client_secret, { payment_method: { card: card } });
    if (result.error) { errors.textContent = result.error.message; return; }
    form.elements["stripe_payment_method"].value = result.setupIntent.payment_method;
    form.submit();
  });
})();
