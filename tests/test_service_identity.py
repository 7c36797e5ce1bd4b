"""Identity: bearer JWTs verified against a JWKS document served over HTTP on loopback (rotation, expiry,
audience, issuer, alg none, HS256 signed with the public key), roles read from the ledger on every request,
and `billing token` on the embedded key."""
import base64
import hashlib
import hmac
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import Metering, tenant
from tests.service_fixtures import API, BILLING, BillingService, api, billing_service, people, service_environment, service_home, tokens  # noqa: F401

ISSUER, AUDIENCE = "https://idp.example/", "billing"


class Jwks:
    """An identity provider's JWKS endpoint on loopback, whose keys a test rotates."""

    def __init__(self):
        self.keys: list[dict] = []
        self.fetches = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *keys: tuple[str, object]) -> None:
        published = []
        for kid, private in keys:
            public = private.public_key()
            algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
            published.append({**algorithm.to_jwk(public, as_dict=True), "kid": kid, "use": "sig"})
        self.keys = published


def claims(sub="acme-tenant_admin", **extra):
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 300, **extra}


def signed(private, kid, **extra) -> dict:
    algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    return {"Authorization": f"Bearer {jwt.encode(claims(**extra), private, algorithm=algorithm, headers={'kid': kid})}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_or_hmac(header: dict, payload: dict, secret: bytes | None) -> dict:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()) if secret else ""
    return {"Authorization": f"Bearer {signing_input}.{signature}"}


@pytest.fixture(scope="module")
def idp():
    jwks = Jwks()
    first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.publish(("k1", first))
    yield jwks, first
    jwks.server.shutdown()


@pytest.fixture(scope="module")
def production(tmp_path_factory, idp):
    """The service verifying against the identity provider's JWKS, on a ledger of its own."""
    jwks, _ = idp
    home = tmp_path_factory.mktemp("idp") / "billing"
    Metering(home).import_tenants(tenant("acme", users=people("acme")), tenant("beta", users=people("beta")))
    server = BillingService(home, BILLING_JWKS_URL=jwks.url, BILLING_JWT_ISSUER=ISSUER,
                            BILLING_JWT_AUDIENCE=AUDIENCE, BILLING_JWKS_COOLDOWN_SECONDS="1").start()
    yield server, home
    server.stop()


def status(server, headers, path="/tenants/acme/plan") -> int:
    return httpx.get(f"{server.url}{API}{path}", headers=headers, timeout=30).status_code


def test_a_token_of_the_identity_provider_verifies(production, idp):
    server, _ = production
    _, key = idp
    assert status(server, signed(key, "k1")) == 200
    assert status(server, signed(key, "k1", sub="olga", billing_platform_admin=True), "/tenants/beta/plan") == 200


def test_expired_wrong_audience_wrong_issuer_and_unknown_keys_are_refused(production, idp):
    server, _ = production
    _, key = idp
    assert status(server, signed(key, "k1", exp=int(time.time()) - 120)) == 401
    assert status(server, signed(key, "k1", aud="another-service")) == 401
    assert status(server, signed(key, "k1", iss="https://evil.example/")) == 401
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert status(server, signed(stranger, "k1")) == 401  # a known kid, another key
    token = jwt.encode({k: v for k, v in claims().items() if k != "exp"}, key, algorithm="RS256", headers={"kid": "k1"})
    assert status(server, {"Authorization": f"Bearer {token}"}) == 401  # no expiry: not a short-lived token
    assert status(server, {"Authorization": "Bearer not-a-jwt"}) == 401
    assert status(server, {"Authorization": f"Basic {b64(b'acme:secret')}"}) == 401


def test_alg_none_and_hs256_signed_with_the_public_key_are_refused(production, idp):
    server, _ = production
    _, key = idp
    assert status(server, unsigned_or_hmac({"alg": "none", "typ": "JWT", "kid": "k1"}, claims(), None)) == 401
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert status(server, unsigned_or_hmac({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), public_pem)) == 401
    # the same forgery, done right with the private key, passes: the refusals above are the algorithm's
    assert status(server, signed(key, "k1")) == 200


def test_a_rotated_key_is_fetched_and_the_retired_one_refused(production, idp):
    server, _ = production
    jwks, first = idp
    assert status(server, signed(first, "k1")) == 200
    second = ec.generate_private_key(ec.SECP256R1())
    jwks.publish(("k2", second))  # the provider rotates: k1 retired
    time.sleep(1.1)  # the refetch cooldown
    assert status(server, signed(second, "k2")) == 200  # an unknown kid refetches the key set
    assert status(server, signed(first, "k1")) == 401
    jwks.publish(("k1", first))  # restore for the other tests
    time.sleep(1.1)
    assert status(server, signed(first, "k1")) == 200


def test_roles_come_from_the_ledger_on_each_request(production, idp):
    """A user removed from the directory loses access at once; a role changed there applies at once."""
    server, home = production
    _, key = idp
    metering = Metering(home)
    assert status(server, signed(key, "k1", sub="acme-member")) == 403
    promoted = [dict(p, role="billing_contact") if p["role"] == "member" else p for p in people("acme")]
    metering.import_tenants(tenant("acme", users=promoted), tenant("beta", users=people("beta")))
    assert status(server, signed(key, "k1", sub="acme-member")) == 200
    metering.import_tenants(tenant("acme", users=[p for p in promoted if p["role"] != "billing_contact"]),
                            tenant("beta", users=people("beta")))
    assert status(server, signed(key, "k1", sub="acme-billing_contact")) == 404
    assert status(server, signed(key, "k1", sub="acme-billing_contact"), "/tenants") == 403


def test_billing_token_mints_short_lived_tokens_for_directory_users_and_platform_admins(billing_service, service_home):
    def run(*args):
        return subprocess.run([BILLING, "token", *args], capture_output=True, text=True,
                              env=service_environment(service_home), timeout=120)

    user = run("--user", "acme-tenant_admin")
    assert user.returncode == 0, user.stderr
    token = user.stdout.strip()
    assert status(billing_service, {"Authorization": f"Bearer {token}"}) == 200
    assert status(billing_service, {"Authorization": f"Bearer {token}"}, "/tenants/beta/plan") == 404
    lifetime = jwt.decode(token, options={"verify_signature": False})
    assert lifetime["exp"] - lifetime["iat"] == 15 * 60
    admin = json.loads(run("--platform-admin", "olga", "--json").stdout)
    assert status(billing_service, {"Authorization": f"Bearer {admin['token']}"}, "/tenants/beta/plan") == 200
    nobody = run("--user", "nobody")
    assert nobody.returncode == 1 and nobody.stderr.strip() == "billing: error: no user 'nobody' in the tenant directory"
