"""Stripe at the HTTP boundary, for what localstripe lacks: ACH (`us_bank_account`) set-ups and debits, and hard
declines.

localstripe does not know `us_bank_account` and declines every failing card with the one code
`card_declined`. This server answers the few requests billing makes exactly as Stripe's API reference
documents them, so the official SDK parses real wire responses:
- a SetupIntent for `us_bank_account` is created `requires_payment_method`; confirmed with a bank account (by
  Stripe.js in the page, with the publishable key and the client secret) it is `succeeded`, and the account is
  attached to the SetupIntent's customer, as `GET /v1/payment_methods/{id}` then shows
  (docs: "Save details for future payments with ACH Direct Debit", "Confirm a SetupIntent");
- a `us_bank_account` PaymentIntent confirmed off-session is `processing`; it settles days later to
  `succeeded`, or fails back to `requires_payment_method` with a `last_payment_error`
  (docs: "ACH Direct Debit payments", "PaymentIntent lifecycle");
- a declined card is HTTP 402 with an error of type `card_error` carrying `code` and `decline_code`
  (docs: "Error codes", "Decline codes"), for Stripe's test methods `pm_card_visa_chargeDeclinedStolenCard`
  and `pm_card_chargeDeclinedExpiredCard`.
Bank accounts are Stripe's test methods with their documented account numbers (docs: "ACH Direct Debit",
testing): `pm_usBankAccount_success` (000123456789) settles, `pm_usBankAccount_noAccount` (000111111116) is
returned because no account is found (R03), `pm_usBankAccount_insufficientFunds` (000222222227) for insufficient
funds (R01). `settle()` plays the days passing. `pm_card_visa` succeeds at once.

It also serves, under `/js.stripe.com/v3/`, a stand-in for Stripe.js (tests/stripe_boundary.js) with the calls the
Billing page makes to add a bank account; it talks to this server as Stripe.js talks to Stripe (any origin may call,
as Stripe allows).

A POST repeated with the same Idempotency-Key gets the first answer again, as Stripe does.
What billing sent is kept in `requests` (method, path, headers, form), for tests that check the wire: the
Idempotency-Key of each charge. `fail_next` answers the next request to a path with an error, `drop_next`
does the request but closes the connection before answering (a lost response), and `hold` makes requests to a
path wait on something (`threading.Barrier` to meet, `threading.Event` to be released).
"""
from __future__ import annotations

import itertools
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

STRIPE_JS = Path(__file__).with_name("stripe_boundary.js")

# test method: (last 4 digits of the account number, what settling does, the ACH return code)
BANK_ACCOUNTS = {"pm_usBankAccount_success": ("6789", "succeeded", None),
                 "pm_usBankAccount_noAccount": ("1116", "no_account", "R03"),
                 "pm_usBankAccount_insufficientFunds": ("2227", "insufficient_funds", "R01")}
SUCCEEDING_CARDS = {"pm_card_visa": "4242"}
LOST = 0  # a fault whose answer never arrives
DECLINING_CARDS = {"pm_card_visa_chargeDeclinedStolenCard": ("9979", "card_declined", "stolen_card"),
                   "pm_card_chargeDeclinedExpiredCard": ("0069", "expired_card", None)}


def _form(body: str) -> dict:
    """Stripe's form encoding (`metadata[invoice_id]=...`, `payment_method_types[0]=...`) back into nested dicts
    and lists."""
    params: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        *parents, last = re.findall(r"[^\[\]]+", key)
        node = params
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return _lists(params)


def _lists(node):
    """`{"0": a, "1": b}` is the list `[a, b]`."""
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


class StripeBoundary:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> "StripeBoundary":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.intents: dict[str, dict] = {}
            self.setup_intents: dict[str, dict] = {}
            self.customers: dict[str, dict] = {}
            self.attached: dict[str, str] = {}  # payment method: the customer it was set up for
            self.requests: list[tuple[str, str, dict, dict]] = []
            self._faults: dict[tuple[str, str], list[tuple[int, dict | None]]] = {}
            self._holds: dict[str, object] = {}
            self._replies: dict[str, tuple[int, dict]] = {}  # by Idempotency-Key
            self.waiting = 0
            self._ids = itertools.count(1)

    def fail_next(self, method: str, path: str, status: int, error: dict) -> None:
        """The next `method` request to `path` (e.g. POST /v1/payment_intents) is answered `status` with `error`."""
        self._faults.setdefault((method, path), []).append((status, error))

    def drop_next(self, method: str, path: str) -> None:
        """The next `method` request to `path` is done, and the connection closed before the answer."""
        self._faults.setdefault((method, path), []).append((LOST, None))

    def hold(self, path: str, waiter) -> None:
        """POST requests to `path` wait on `waiter` (its `wait()`) before they are done; `waiting` counts them."""
        self._holds[path] = waiter

    def sent(self, method: str, path: str) -> list[tuple[dict, dict]]:
        """(headers, form) of each request billing sent to `path`, in order."""
        return [(headers, form) for m, p, headers, form in self.requests if (m, p) == (method, path)]

    def settle(self) -> None:
        """Days pass: every processing ACH debit settles, or fails as its account says."""
        with self._lock:
            for intent in self.intents.values():
                if intent["status"] != "processing":
                    continue
                _, outcome, return_code = BANK_ACCOUNTS[intent["payment_method"]]
                if outcome == "succeeded":
                    intent["status"] = "succeeded"
                else:
                    intent["status"] = "requires_payment_method"
                    intent["last_payment_error"] = {"type": "invalid_request_error", "code": "payment_method_provider_decline",
                                                    "decline_code": outcome,
                                                    "message": f"The bank returned the debit ({return_code})."}

    def _id(self, prefix: str) -> str:
        return f"{prefix}_boundary{next(self._ids):06d}"

    def _answer(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")[1:]  # after v1
        if method == "POST" and parts == ["customers"]:
            customer = {"id": self._id("cus"), "object": "customer", "name": params.get("name"),
                        "metadata": params.get("metadata", {})}
            self.customers[customer["id"]] = customer
            return 200, customer
        if method == "GET" and len(parts) == 2 and parts[0] == "customers" and parts[1] in self.customers:
            return 200, self.customers[parts[1]]
        if method == "POST" and len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "attach":
            return 200, self._payment_method(parts[1], params["customer"])
        if method == "GET" and len(parts) == 2 and parts[0] == "payment_methods":
            return self._retrieve_payment_method(parts[1])
        if method == "POST" and parts == ["setup_intents"]:
            return self._create_setup_intent(params)
        if method == "POST" and len(parts) == 3 and parts[0] == "setup_intents" and parts[2] == "confirm":
            return self._confirm_setup_intent(parts[1], params)
        if method == "POST" and parts == ["payment_intents"]:
            return self._confirm(params)
        if method == "GET" and parts == ["payment_intents"]:
            return 200, {"object": "list", "url": "/v1/payment_intents", "has_more": False,
                         "data": sorted(self.intents.values(), key=lambda i: i["id"], reverse=True)}
        if method == "GET" and len(parts) == 2 and parts[0] == "payment_intents" and parts[1] in self.intents:
            return 200, self.intents[parts[1]]
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: {path})"}}

    def _payment_method(self, pm: str, customer: str) -> dict:
        method = {"id": pm, "object": "payment_method", "customer": customer}
        if pm in BANK_ACCOUNTS:
            return {**method, "type": "us_bank_account", "us_bank_account": {
                "account_holder_type": "company", "account_type": "checking", "bank_name": "STRIPE TEST BANK",
                "last4": BANK_ACCOUNTS[pm][0], "routing_number": "110000000"}}
        last4 = SUCCEEDING_CARDS[pm] if pm in SUCCEEDING_CARDS else DECLINING_CARDS[pm][0]
        return {**method, "type": "card", "card": {"brand": "visa", "last4": last4}}

    def _retrieve_payment_method(self, pm: str) -> tuple[int, dict]:
        if pm not in BANK_ACCOUNTS and pm not in SUCCEEDING_CARDS and pm not in DECLINING_CARDS:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                                   "message": f"No such PaymentMethod: '{pm}'"}}
        return 200, self._payment_method(pm, self.attached.get(pm))

    def _create_setup_intent(self, params: dict) -> tuple[int, dict]:
        setup_id = self._id("seti")
        intent = {"id": setup_id, "object": "setup_intent", "client_secret": f"{setup_id}_secret_boundary",
                  "customer": params.get("customer"), "payment_method": None, "status": "requires_payment_method",
                  "payment_method_types": params.get("payment_method_types", ["card"]),
                  "payment_method_options": params.get("payment_method_options", {}), "usage": params.get("usage"),
                  "metadata": params.get("metadata", {}), "mandate": None, "next_action": None,
                  "last_setup_error": None, "livemode": False}
        self.setup_intents[setup_id] = intent
        return 200, intent

    def _confirm_setup_intent(self, setup_id: str, params: dict) -> tuple[int, dict]:
        """As Stripe.js confirms it in a browser: the publishable key and the client secret, never the secret key."""
        intent, pm = self.setup_intents.get(setup_id), params.get("payment_method")
        if intent is None or params.get("client_secret") != intent["client_secret"]:
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"No such setupintent: '{setup_id}'"}}
        kind = "us_bank_account" if pm in BANK_ACCOUNTS else "card" if pm in SUCCEEDING_CARDS else None
        if kind not in intent["payment_method_types"]:
            return 400, {"error": {"type": "invalid_request_error", "code": "payment_intent_incompatible_payment_method",
                                   "message": f"The PaymentMethod provided ({pm}) is not allowed for this SetupIntent."}}
        self.attached[pm] = intent["customer"]
        intent.update(status="succeeded", payment_method=pm,
                      mandate=self._id("mandate") if kind == "us_bank_account" else None)
        return 200, intent

    def _confirm(self, params: dict) -> tuple[int, dict]:
        intent = {"id": self._id("pi"), "object": "payment_intent", "amount": int(params["amount"]),
                  "currency": params["currency"], "customer": params["customer"],
                  "payment_method": params["payment_method"], "metadata": params.get("metadata", {}),
                  "last_payment_error": None}
        pm = params["payment_method"]
        if pm in BANK_ACCOUNTS:
            intent.update(status="processing", payment_method_types=["us_bank_account"])
            self.intents[intent["id"]] = intent
            return 200, intent
        if pm in SUCCEEDING_CARDS:
            intent.update(status="succeeded", payment_method_types=["card"])
            self.intents[intent["id"]] = intent
            return 200, intent
        _, code, decline_code = DECLINING_CARDS[pm]
        error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": "Your card was declined.",
                 "payment_intent": {**intent, "status": "requires_payment_method"}}
        intent.update(status="requires_payment_method", last_payment_error=error)
        self.intents[intent["id"]] = intent
        return 402, {"error": error}

    def _handler(self):
        boundary = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                url = urlsplit(self.path)
                if url.path == "/js.stripe.com/v3/":
                    self._send(200, STRIPE_JS.read_bytes(), "text/javascript")
                    return
                form = _form(body or url.query)
                waiter = boundary._holds.get(url.path) if method == "POST" else None
                if waiter is not None:
                    with boundary._lock:
                        boundary.waiting += 1
                    waiter.wait()
                with boundary._lock:
                    boundary.requests.append((method, url.path, dict(self.headers), form))
                    faults = boundary._faults.get((method, url.path))
                    fault = faults.pop(0) if faults else None
                    key = self.headers.get("Idempotency-Key")
                    if fault is None or fault[0] == LOST:
                        # Stripe answers a repeated Idempotency-Key with the first answer, doing nothing again
                        status, payload = boundary._replies.get(key) or boundary._answer(method, url.path, form)
                        # A request refused before it ran (429: rate limited) is not saved under its key
                        if key and method == "POST" and status != 429:
                            boundary._replies[key] = (status, payload)
                    else:
                        status, payload = fault[0], {"error": fault[1]}
                if fault is not None and fault[0] == LOST:  # done, and the answer never arrives
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", boundary._id("req"))
                self.send_header("Access-Control-Allow-Origin", "*")  # Stripe.js calls from the page's origin
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._respond("GET")

            def do_POST(self):
                self._respond("POST")

            def log_message(self, *args):
                pass

        return Handler
