"""Console accounts: login, logout, sessions in encrypted cookies, CSRF tokens, login throttling."""

from __future__ import annotations

__all__ = [
    "PUBLIC",
    "SESSION_SECONDS",
    "Throttle",
    "check_csrf",
    "current_user",
    "flash",
    "id_or_404",
    "page_context",
    "parse_id",
    "require",
    "setup",
]

import asyncio
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as session_setup
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from yarl import URL

from loketbot.service.officers import hash_password, verify_password
from loketbot.store.guards import (
    count_hits,
    drop_hits,
    end_session,
    hit,
    session_officer,
    start_session,
)
from loketbot.store.store import OfficerRecord, Store
from loketbot.web.context import CONSOLE
from loketbot.web.headers import csp_nonce

log = logging.getLogger(__name__)

SESSION_SECONDS = 8 * 3600
COOKIE_NAME = "loketbot"
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_NEXT = 2000  # a longer `next` is no page of ours
MAX_NAME = 200  # longer login names are refused before any work (and never become a key)
MAX_PASSWORD = 1024
MAX_FIELD = 50_000  # characters in any one form field: far above any answer or entry
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers; a bigger number names nothing

# Paths anyone may reach; the webhook path is added by create_app (Telegram has no session).
PUBLIC: web.AppKey[set[str]] = web.AppKey("public_paths")
THROTTLE: web.AppKey[Throttle] = web.AppKey("login_throttle")

_USER = "officer"  # session key: the officer's name
_SID = "sid"  # session key: the login's token, whose row in console_sessions must still exist
_CSRF = "csrf"
_FLASHES = "flashes"
# The user looked up once per request (the middleware, then the view).
_CACHED_USER: web.RequestKey[OfficerRecord | None] = web.RequestKey("loketbot_user")

_dummy_hash: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One login attempt as the throttle counted it: its rows, and how long to wait if refused."""

    ids: list[int]
    wait: float  # seconds; 0 when the password may be checked


class Throttle:
    """Password checks per name and per address in a sliding window, kept in the database.

    Each attempt is counted *before* its password is checked and committed, so concurrent
    attempts cannot all pass a check that only looked at finished ones, and every instance on
    the database counts the same attempts. A refused attempt is uncounted again (no password
    was checked), so hammering a locked name does not lengthen its lock.
    """

    def __init__(
        self,
        store: Store,
        *,
        limit: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def attempt(self, *keys: str) -> Attempt:
        """Count one attempt under every key; refused (wait > 0) when any is over the limit."""
        now = self._now()
        window = timedelta(seconds=self.window)
        ids = await hit(self.store, keys, now=now, keep=window)
        wait = 0.0
        for key in keys:
            (count,), oldest = await count_hits(self.store, key, now=now, windows=[window])
            if count > self.limit and oldest is not None:
                wait = max(wait, self.window - (now - oldest).total_seconds(), 1.0)
        if wait > 0:
            await drop_hits(self.store, ids=ids)
        return Attempt(ids, wait)

    async def succeeded(self, attempt: Attempt, name_key: str) -> None:
        """A right password: its attempt does not count, nor do the name's earlier failures."""
        await drop_hits(self.store, ids=attempt.ids, key=name_key)


def client_address(request: web.Request, trusted: Sequence[str] = ()) -> str:
    """Who is asking, for the per-address count: the peer, or behind a trusted proxy the last
    address it put in X-Forwarded-For. An IPv6 address counts as its /64, because one home or
    server gets a whole /64 and could otherwise take a fresh address for every attempt."""
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted]
    chain = [request.remote or "-"]
    if networks:
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        chain = [part.strip() for part in forwarded.split(",") if part.strip()] + chain
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    # From the peer back towards the client: skip our own proxies, stop at the first other.
    for item in reversed(chain):
        try:
            address = ipaddress.ip_address(item)
        except ValueError:
            return "-" if address is None else str(address)
        if not any(address in network for network in networks):
            break
    if address is None:
        return "-"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else address)


def setup(app: web.Application, *, session_key: bytes, cookie_secure: bool) -> None:
    """Encrypted cookie sessions, the session check for every non-public page, login routes."""
    storage = EncryptedCookieStorage(
        # As text: aiohttp-session would base64-encode bytes a second time.
        session_key.decode("ascii"),
        cookie_name=COOKIE_NAME,
        httponly=True,
        samesite="Lax",
        secure=cookie_secure,
        max_age=SESSION_SECONDS,
    )
    session_setup(app, storage)
    app.middlewares.append(require_session)
    app.setdefault(PUBLIC, set()).update({"/login", "/healthz", "/metrics"})
    app[THROTTLE] = Throttle(app[CONSOLE].store)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


@web.middleware
async def require_session(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every page but the public ones needs a logged-in user (views still check the role)."""
    if request.path in request.app[PUBLIC]:
        return await handler(request)
    if await current_user(request) is None:
        if request.method in ("GET", "HEAD"):
            raise _to_login(request)
        raise web.HTTPForbidden(text="Log eerst in.")
    return await handler(request)


def _to_login(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound("/login?" + urlencode({"next": request.path_qs}))


async def current_user(request: web.Request) -> OfficerRecord | None:
    """The logged-in officer or editor, or None; looked up again so a removed account is out."""
    if _CACHED_USER in request:
        return request[_CACHED_USER]
    session = await get_session(request)
    name = session.get(_USER)
    sid = session.get(_SID)
    user = None
    if isinstance(name, str) or isinstance(sid, str):
        store = request.app[CONSOLE].store
        # The cookie alone is not enough: its login must still be live in the database, so a
        # logout (on any instance) ends it even for someone who kept a copy of the cookie.
        live = (
            await session_officer(store, sid, now=datetime.now(UTC))
            if isinstance(sid, str)
            else None
        )
        found = await store.officer_by_name(name) if live is not None and live == name else None
        if found is not None and found.password_hash:
            user = found
        else:
            session.invalidate()
    request[_CACHED_USER] = user
    return user


async def require(request: web.Request, role: str | None = None) -> OfficerRecord:
    """The logged-in user; HTTPFound to /login without a session, HTTPForbidden for another role."""
    user = await current_user(request)
    if user is None:
        raise _to_login(request)
    # A coordinator does everything an officer does (and sees every ticket and figure).
    if role is not None and user.role != role and (role, user.role) != ("officer", "coordinator"):
        raise web.HTTPForbidden(text="Deze pagina is niet voor jouw rol.")
    return user


def _csrf_token(session: Session) -> str:
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


async def check_csrf(request: web.Request) -> dict[str, str]:
    """The POST form's fields; HTTPForbidden when its `csrf` field is not this session's token."""
    form = await request.post()
    session = await get_session(request)
    expected = session.get(_CSRF)
    given = form.get("csrf")
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        raise web.HTTPForbidden(text="Dit formulier is verlopen. Laad de pagina opnieuw.")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if any(len(value) > MAX_FIELD for value in form.values() if isinstance(value, str)):
        raise web.HTTPRequestEntityTooLarge(
            MAX_FIELD, len(max(fields.values(), key=len)), text="Een veld is te lang."
        )
    return fields


def parse_id(value: str | None) -> int | None:
    """A ticket or suggestion number from a form or URL: ASCII digits, in range; else None.

    str.isdigit() and int() also take Unicode digits ("١" is 1) and numbers the database
    cannot hold (SQLite raises OverflowError: a 500).
    """
    if not value or len(value) > 10 or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def id_or_404(value: str, what: str) -> int:
    """parse_id, or 404 Not Found: no such number can exist."""
    number = parse_id(value)
    if number is None:
        raise web.HTTPNotFound(text=f"{what} {value[:12]} bestaat niet.")
    return number


async def flash(request: web.Request, message: str) -> None:
    """Show `message` once on the next page this session sees."""
    session = await get_session(request)
    session[_FLASHES] = [*session.get(_FLASHES, []), message]


async def page_context(request: web.Request, user: OfficerRecord | None) -> dict[str, Any]:
    """What base.html needs: the user, the CSRF token and the flashes (shown once)."""
    session = await get_session(request)
    flashes = session.pop(_FLASHES, [])
    context: dict[str, Any] = {
        "user": user,
        "csrf": _csrf_token(session),
        "flashes": flashes,
        "csp_nonce": csp_nonce(request),
    }
    console = request.app.get(CONSOLE)
    if user is not None and user.role == "editor" and console is not None:
        # An editor sees a refused reload on every page until the files are mended.
        context["reload_problems"] = console.shown(console.reloader.last_problems)
        context["knowledge_version"] = console.reloader.content.knowledge.version
    return context


def _home(user: OfficerRecord) -> str:
    return "/editor" if user.role == "editor" else "/"


def _safe_next(value: str | None) -> str | None:
    """Only a path on this site, as the Location header will carry it; otherwise None.

    Parsed, not pattern-matched: yarl drops tabs and newlines, so `/\t/evil.example` becomes
    the protocol-relative `//evil.example`. What is checked is the URL as it will be sent.
    """
    if not value or len(value) > MAX_NEXT:
        return None
    try:
        url = URL(value)
        shown = str(url)
        again = URL(shown)
    except ValueError:
        return None
    if url.scheme or url.host is not None or again.scheme or again.host is not None:
        return None
    if not shown.startswith("/") or shown.startswith("//"):
        return None
    return shown


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form; a logged-in user goes straight to their home page."""
    user = await current_user(request)
    if user is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")) or _home(user))
    context = await page_context(request, None)
    context.update(name="", next=request.query.get("next", ""), error=None)
    if "out" in request.query:
        context["flashes"] = [*context["flashes"], "Je bent uitgelogd."]
    return aiohttp_jinja2.render_template("auth_login.html", request, context)


async def login(request: web.Request) -> web.StreamResponse:
    """Check name and password; throttled per name and per address."""
    form = await check_csrf(request)
    name = form.get("name", "").strip()
    password = form.get("password", "")
    next_path = form.get("next", "")[:MAX_NEXT]
    if len(name) > MAX_NAME or len(password) > MAX_PASSWORD or not name:
        # No officer has such a name: refused before it costs a hash, a row or a key.
        return await _login_form(
            request, name[:MAX_NAME], next_path, "Naam of wachtwoord klopt niet.", status=400
        )
    throttle = request.app[THROTTLE]
    address = client_address(request, request.app[CONSOLE].trusted_proxies)
    keys = (f"login-name:{name.casefold()}", f"login-addr:{address}")
    attempt = await throttle.attempt(*keys)
    wait = attempt.wait
    if wait > 0:
        log.warning("login refused: too many failed attempts (%s)", keys[1])
        minutes = max(1, round(wait / 60))
        return await _login_form(
            request,
            name,
            next_path,
            f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
            status=429,
        )
    store = request.app[CONSOLE].store
    officer = await store.officer_by_name(name)
    stored = officer.password_hash if officer is not None else None
    # argon2 takes tens of milliseconds: off the event loop. An unknown name is checked against
    # a dummy hash so the answer takes as long and does not tell which names exist.
    ok = await asyncio.to_thread(verify_password, stored or _dummy(), password)
    if officer is None or not stored or not ok:
        log.warning("failed console login (%s)", keys[1])
        return await _login_form(
            request, name, next_path, "Naam of wachtwoord klopt niet.", status=200
        )
    await throttle.succeeded(attempt, keys[0])
    token = secrets.token_urlsafe(32)
    await start_session(
        store,
        token,
        officer.name,
        now=datetime.now(UTC),
        lifetime=timedelta(seconds=SESSION_SECONDS),
    )
    session = await new_session(request)  # a fresh session: no fixation of an old one
    session[_USER] = officer.name
    session[_SID] = token
    _csrf_token(session)
    request[_CACHED_USER] = officer
    log.info("console login by %s", officer.name)
    raise web.HTTPFound(_safe_next(next_path) or _home(officer))


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_hex(16))
    return _dummy_hash


async def _login_form(
    request: web.Request, name: str, next_path: str, error: str, *, status: int
) -> web.StreamResponse:
    context = await page_context(request, None)
    context.update(name=name, next=next_path, error=error)
    return aiohttp_jinja2.render_template("auth_login.html", request, context, status=status)


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session (POST with CSRF, so no other site can log someone out)."""
    await check_csrf(request)
    session = await get_session(request)
    sid = session.get(_SID)
    if isinstance(sid, str):
        await end_session(request.app[CONSOLE].store, sid)
    session.invalidate()
    raise web.HTTPFound("/login?out=1")
