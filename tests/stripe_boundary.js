// A stand-in for Stripe.js v3, served by tests/stripe_boundary.py at /js.stripe.com/v3/: the calls the Billing page
// makes to add a US bank account, which localstripe's test Stripe.js lacks. Stripe's bank window (Financial
// Connections) is reduced to a dialog listing Stripe's test accounts; the confirmation goes over the wire to the
// boundary server as Stripe.js sends it to Stripe: the publishable key and the SetupIntent's client secret.
(function () {
  const api = new URL(document.currentScript.src).origin;
  const ACCOUNTS = [["pm_usBankAccount_success", "STRIPE TEST BANK, checking ending 6789"],
                    ["pm_usBankAccount_insufficientFunds", "STRIPE TEST BANK, checking ending 2227"]];
  const chosen = {};  // SetupIntent id: the account chosen for it

  function chooseAccount() {
    return new Promise(function (resolve) {
      const dialog = document.createElement("dialog");
      dialog.setAttribute("aria-label", "Link a bank account (Stripe test)");
      const choose = function (account) { dialog.close(); dialog.remove(); resolve(account); };
      for (const [account, label] of ACCOUNTS) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = label;
        button.addEventListener("click", function () { choose(account); });
        dialog.append(button);
      }
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", function () { choose(null); });
      dialog.append(cancel);
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  window.Stripe = function (publishableKey) {
    return {
      elements: function () {
        return { create: function () { return { mount: function () {} }; } };  // no card field here
      },
      collectBankAccountForSetup: async function (options) {
        const setupIntent = options.clientSecret.split("_secret_")[0];
        const account = await chooseAccount();
        if (!account) return { setupIntent: { id: setupIntent, status: "requires_payment_method" } };
        chosen[setupIntent] = account;
        return { setupIntent: { id: setupIntent, status: "requires_confirmation", payment_method: account } };
      },
      confirmUsBankAccountSetup: async function (clientSecret) {
        const setupIntent = clientSecret.split("_secret_")[0];
        const response = await fetch(api + "/v1/setup_intents/" + setupIntent + "/confirm", { method: "POST",
          body: new URLSearchParams({ key: publishableKey, client_secret: clientSecret,
                                      payment_method: chosen[setupIntent] }) });
        const body = await response.json();
        return response.ok ? { setupIntent: body } : { error: body.error };
      },
    };
  };
})();
