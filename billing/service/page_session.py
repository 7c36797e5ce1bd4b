"""Sign-in to the Billing page (docs/page.md).

On embedded defaults `billing login-link` prints a one-time link: its token is random, kept only as a hash,
spent once, and expires in LINK_MINUTES. Spending it starts a session: a random id, kept only as a hash with
its own CSRF token and expiry; the cookie carries the id with an HMAC of it (signed with a key made once under
BILLING_HOME), HttpOnly, SameSite=Lax, Secure over HTTPS. Sign-out deletes the session row.

In production the platform's authenticating proxy forwards a verified bearer JWT on every request; the page
verifies it again with the API's own Verifier and binds a session (for the CSRF token) to its subject.

Link and session times are security times, from the wall clock, never business dates.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from billing.ledger import Ledger
from billing.service.identity import secret_file
from billing.settings import BillingError, Settings
from billing.sql import query

LINK_MINUTES = 10
SESSION_MINUTES = 60
COOKIE = "billing_session"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_minutes(env: dict[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get("BILLING_PAGE_SESSION_MINUTES") or str(SESSION_MINUTES)
    if not raw.isdigit() or int(raw) < 1:
        raise BillingError(f"BILLING_PAGE_SESSION_MINUTES must be a whole number of minutes above 0, got {raw!r}")
    return int(raw)


def signing_key(path: Path) -> bytes:
    """The cookie signing key, made once."""
    return secret_file(path, lambda: secrets.token_bytes(32))


@dataclass(frozen=True)
class Session:
    subject: str
    platform_admin: bool
    csrf_token: str
    cookie: str | None = None  # set when the session was just started: the response sets the cookie


class Sessions:
    def __init__(self, ledger: Ledger, settings: Settings, minutes: int | None = None):
        self.ledger = ledger
        self.minutes = minutes or session_minutes()
        self._key = signing_key(settings.home / "service" / "page_session_key")

    # -- one-time sign-in links -------------------------------------------------------------------------
    def make_link(self, subject: str, platform_admin: bool, minutes: int = LINK_MINUTES) -> str:
        token = secrets.token_urlsafe(32)
        with self.ledger.engine.begin() as con:
            con.execute(sa.text(query("ledger/page_login_link_insert")), {
                "token_hash": _hash(token), "subject": subject, "platform_admin": int(platform_admin),
                "expires_at": int(time.time()) + minutes * 60})
        return token

    def spend_link(self, token: str) -> Session | None:
        """The session a link starts; None for a link unknown, used or expired."""
        now = int(time.time())
        with self.ledger.engine.begin() as con:
            spent = con.execute(sa.text(query("ledger/page_login_link_use")),
                                {"token_hash": _hash(token), "now": now}).rowcount
            if spent != 1:
                return None
            row = con.execute(sa.text(query("ledger/page_login_link_get")), {"token_hash": _hash(token)}).one()
            con.execute(sa.text(query("ledger/page_expired_links_delete")), {"now": now})
        return self.start(row.subject, bool(row.platform_admin))

    # -- sessions ------------------------------------------------------------------------------------------
    def start(self, subject: str, platform_admin: bool) -> Session:
        session_id, csrf_token, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), int(time.time())
        with self.ledger.engine.begin() as con:
            con.execute(sa.text(query("ledger/page_expired_delete")), {"now": now})
            con.execute(sa.text(query("ledger/page_session_insert")), {
                "session_hash": _hash(session_id), "subject": subject, "platform_admin": int(platform_admin),
                "csrf_token": csrf_token, "expires_at": now + self.minutes * 60})
        return Session(subject, platform_admin, csrf_token, self._sign(session_id))

    def of_cookie(self, cookie: str | None) -> Session | None:
        session_id = self._verified(cookie)
        if session_id is None:
            return None
        with self.ledger.engine.connect() as con:
            row = con.execute(sa.text(query("ledger/page_session_get")),
                              {"session_hash": _hash(session_id), "now": int(time.time())}).first()
        return Session(row.subject, bool(row.platform_admin), row.csrf_token) if row else None

    def end(self, cookie: str | None) -> None:
        session_id = self._verified(cookie)
        if session_id is not None:
            with self.ledger.engine.begin() as con:
                con.execute(sa.text(query("ledger/page_session_delete")), {"session_hash": _hash(session_id)})

    def _sign(self, session_id: str) -> str:
        return f"{session_id}.{hmac.new(self._key, session_id.encode(), 'sha256').hexdigest()}"

    def _verified(self, cookie: str | None) -> str | None:
        session_id = (cookie or "").rpartition(".")[0]
        if not session_id or not hmac.compare_digest(self._sign(session_id), cookie):
            return None
        return session_id


def csrf_ok(session: Session | None, presented: str | None) -> bool:
    return bool(session and presented and hmac.compare_digest(session.csrf_token, presented))


def login_link(ledger: Ledger, settings: Settings, base_url: str, subject: str, platform_admin: bool) -> str:
    """`billing login-link`: a one-time link for a directory user (who must be in it now) or a platform admin."""
    from billing.service.identity import directory_roles

    if not subject.strip():
        raise BillingError("name whom the link signs in")
    if not platform_admin and not directory_roles(ledger, subject):
        raise BillingError(f"no user {subject!r} in the tenant directory")
    token = Sessions(ledger, settings).make_link(subject, platform_admin)
    return f"{base_url.rstrip('/')}/billing/login?token={token}"


def demo_sign_in(ledger: Ledger, settings: Settings, base_url: str) -> dict[str, str]:
    """What `billing demo` prints last: how to start the page, and sign-in links of a tenant admin and a billing
    contact of one tenant, and of a platform administrator."""
    tenant = next((t for t in ledger.tenants() if {"tenant_admin", "billing_contact"} <= {u.role for u in t.users
                                                                                        if u.current}), None)
    shown = {"billing_page": f"start it with `billing serve`, then open {base_url.rstrip('/')}/billing with a link "
                             f"below (each works once, within {LINK_MINUTES} minutes; `billing login-link` makes more)"}
    if tenant is not None:
        for role in ("tenant_admin", "billing_contact"):
            user = next(u for u in tenant.users if u.role == role and u.current)
            shown[f"sign_in_{role}"] = f"{user.user_id} of {tenant.tenant_id}: " + login_link(ledger, settings, base_url,
                                                                                             user.user_id, False)
    shown["sign_in_platform_admin"] = "operator: " + login_link(ledger, settings, base_url, "operator", True)
    return shown
