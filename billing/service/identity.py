"""Who is asking: a bearer JWT, verified with fixed algorithms, issuer and audience.

In production the keys are the identity provider's JWKS (BILLING_JWKS_URL, with BILLING_JWT_ISSUER and
BILLING_JWT_AUDIENCE). On embedded defaults the service verifies against a key pair of its own under
BILLING_HOME, made on first use, with which `billing token` mints short-lived tokens.

A token's `sub` is a directory user id, or, with the claim `billing_platform_admin: true`, the name of a
platform administrator (who is not a tenant user). A tenant user's roles are read from the ledger on each
request, so a user removed from the directory loses access at once.
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from billing.ledger import Ledger
from billing.settings import BillingError, Settings
from billing.sql import query

ALGORITHMS = ["RS256", "ES256"]  # never `none`, never HS*: a public key must not become an HMAC secret
PLATFORM_ADMIN_CLAIM = "billing_platform_admin"
PLATFORM_ADMIN = "platform_admin"
EMBEDDED_ISSUER = "billing-embedded"
DEFAULT_AUDIENCE = "billing-api"
TOKEN_MINUTES = 15
CLOCK_SKEW_SECONDS = 30


class Unauthenticated(Exception):
    """No token, or one that does not verify: 401."""


class IdentityUnavailable(Exception):
    """The identity provider's keys cannot be fetched: 503, the caller may try again."""


@dataclass(frozen=True)
class IdentityConfig:
    jwks_url: str | None
    issuer: str
    audience: str
    key_file: Path  # the embedded signing key (when there is no JWKS URL)
    # An unknown key id refetches the JWKS (a rotation), at most once per this many seconds: a flood of
    # forged key ids never floods the identity provider.
    jwks_cooldown_seconds: float = 30

    @classmethod
    def from_env(cls, settings: Settings, env: dict[str, str] | None = None) -> "IdentityConfig":
        env = os.environ if env is None else env
        jwks_url = env.get("BILLING_JWKS_URL") or None
        issuer, audience = env.get("BILLING_JWT_ISSUER"), env.get("BILLING_JWT_AUDIENCE")
        if jwks_url and not (issuer and audience):
            raise BillingError("BILLING_JWKS_URL needs BILLING_JWT_ISSUER and BILLING_JWT_AUDIENCE set too")
        cooldown = env.get("BILLING_JWKS_COOLDOWN_SECONDS") or "30"
        try:
            cooldown_seconds = float(cooldown)
        except ValueError:
            raise BillingError(f"BILLING_JWKS_COOLDOWN_SECONDS must be a number of seconds, got {cooldown!r}") from None
        return cls(jwks_url, issuer or EMBEDDED_ISSUER, audience or DEFAULT_AUDIENCE,
                   settings.home / "service" / "signing_key.pem", cooldown_seconds)


def secret_file(path: Path, make) -> bytes:
    """A secret made once under BILLING_HOME (mode 0600): several workers starting together end up with one
    (each writes a candidate from `make()` and links it into place; the first link wins)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(make())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_bytes()


def embedded_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The service's own ES256 key, made once."""
    pem = secret_file(path, lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return serialization.load_pem_private_key(pem, password=None)


def mint_token(config: IdentityConfig, subject: str, platform_admin: bool = False,
               minutes: int = TOKEN_MINUTES) -> tuple[str, int]:
    """A token signed with the embedded key; returns it with its expiry (seconds since the epoch).
    Token times are security times, from the wall clock, not business dates."""
    if config.jwks_url:
        raise BillingError("BILLING_JWKS_URL is set: tokens come from the identity provider")
    issued = int(time.time())
    claims = {"iss": config.issuer, "aud": config.audience, "sub": subject, "iat": issued,
              "exp": issued + minutes * 60}
    if platform_admin:
        claims[PLATFORM_ADMIN_CLAIM] = True
    return jwt.encode(claims, embedded_key(config.key_file), algorithm="ES256"), claims["exp"]


@dataclass(frozen=True)
class Caller:
    subject: str
    platform_admin: bool
    roles: dict[str, str] = field(default_factory=dict)  # tenant_id -> directory role, read on this request

    def role_in(self, tenant_id: str | None) -> str | None:
        return PLATFORM_ADMIN if self.platform_admin else self.roles.get(tenant_id)


class Verifier:
    def __init__(self, config: IdentityConfig):
        self.config = config
        if config.jwks_url:
            # The key set is cached; a token signed with a key it does not hold (a rotation) refetches it.
            self._jwks = jwt.PyJWKClient(config.jwks_url, cache_jwk_set=True, lifespan=300, timeout=5,
                                         cooldown_duration=config.jwks_cooldown_seconds)
        else:
            self._jwks = None
            self._public_key = embedded_key(config.key_file).public_key()

    def claims(self, authorization: str | None) -> dict:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required (Authorization: Bearer <JWT>)")
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._public_key
            claims = jwt.decode(token.strip(), key, algorithms=ALGORITHMS, issuer=self.config.issuer,
                                audience=self.config.audience, leeway=CLOCK_SKEW_SECONDS,
                                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWKClientConnectionError as error:
            raise IdentityUnavailable(f"the identity provider's keys cannot be fetched: {error}") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the token does not verify: {str(error).splitlines()[0]}") from None
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthenticated("the token does not verify: sub must name a user")
        return claims

    def caller(self, authorization: str | None, ledger: Ledger) -> Caller:
        claims = self.claims(authorization)
        if claims.get(PLATFORM_ADMIN_CLAIM) is True:
            return Caller(claims["sub"], True)
        return Caller(claims["sub"], False, directory_roles(ledger, claims["sub"]))


def directory_roles(ledger: Ledger, user_id: str) -> dict[str, str]:
    """tenant_id -> role of a user in the directory now; empty for a user removed from it."""
    with ledger.engine.connect() as con:
        return {row.tenant_id: row.role for row in con.execute(sa.text(query("ledger/user_roles")), {"user_id": user_id})}
