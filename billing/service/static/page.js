// Adds a card or a US bank account with Stripe.js: ask the page for a SetupIntent, let Stripe collect the card
// (in its own field) or the bank account (in its own window) and confirm it, so that no card or account number
// ever reaches the Billing Service; then post the payment method id Stripe returns.
(function () {
  const cardForm = document.getElementById("card-form");
  const bankForm = document.getElementById("bank-form");
  if (!(cardForm || bankForm) || typeof Stripe === "undefined") return;
  const stripe = Stripe((cardForm || bankForm).dataset.publishableKey);

  async function clientSecret(form) {
    const body = new FormData();
    body.append("type", form.elements["type"].value);
    body.append("csrf_token", form.elements["csrf_token"].value);
    const response = await fetch(form.dataset.setupIntent, { method: "POST", body: body, credentials: "same-origin" });
    return response.ok ? (await response.json()).client_secret : null;
  }

  function save(form, paymentMethod) {
    form.elements["stripe_payment_method"].value = paymentMethod;
    form.submit();
  }

  // Each form: `confirm(secret)` returns Stripe's { setupIntent, error }, or a sentence to show instead.
  function onSubmit(form, errors, failed, confirm) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      errors.textContent = "";
      const secret = await clientSecret(form);
      if (!secret) { errors.textContent = failed; return; }
      const result = await confirm(secret);
      if (typeof result === "string") { errors.textContent = result; return; }
      if (result.error) { errors.textContent = result.error.message; return; }
      save(form, result.setupIntent.payment_method);
    });
  }

  if (cardForm) {
    const card = stripe.elements().create("card");
    card.mount("#card-element");
    onSubmit(cardForm, document.getElementById("card-errors"), "The card could not be set up. Try again.",
             (secret) => stripe.confirmCardSetup(secret, { payment_method: { card: card } }));
  }

  if (bankForm) {
    onSubmit(bankForm, document.getElementById("bank-errors"), "The bank account could not be set up. Try again.",
             async function (secret) {
      const collected = await stripe.collectBankAccountForSetup({ clientSecret: secret, params: {
        payment_method_type: "us_bank_account",
        payment_method_data: { billing_details: { name: bankForm.elements["account_holder"].value } } } });
      if (collected.error) return collected;
      if (collected.setupIntent.status === "requires_payment_method") return "No bank account was connected.";
      const confirmed = await stripe.confirmUsBankAccountSetup(secret);
      // Verification is instant (the SetupIntent asks for it), so anything but success is not a usable account
      if (!confirmed.error && confirmed.setupIntent.status !== "succeeded") {
        return "The bank account could not be verified. Try another account, or add a card.";
      }
      return confirmed;
    });
  }
})();
