"""Console accounts: login, logout, sessions in encrypted cookies, CSRF tokens, login throttling."""

from __future__ import annotations

__all__ = [
    "PUBLIC",
    "SESSION_SECONDS",
    "Throttle",
    "check_csrf",
    "current_user",
    "flash",
    "page_context",
    "require",
    "setup",
]

import asyncio
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session import setup as session_setup
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from yarl import URL

from loketbot.service.officers import hash_password, verify_password
from loketbot.store.store import OfficerRecord
from loketbot.web.context import CONSOLE

log = logging.getLogger(__name__)

SESSION_SECONDS = 8 * 3600
COOKIE_NAME = "loketbot"
MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
MAX_NEXT = 2000  # a longer `next` is no page of ours

# Paths anyone may reach; the webhook path is added by create_app (Telegram has no session).
PUBLIC: web.AppKey[set[str]] = web.AppKey("public_paths")
THROTTLE: web.AppKey[Throttle] = web.AppKey("login_throttle")

_USER = "officer"  # session key: the officer's name
_CSRF = "csrf"
_FLASHES = "flashes"
# The user looked up once per request (the middleware, then the view).
_CACHED_USER: web.RequestKey[OfficerRecord | None] = web.RequestKey("loketbot_user")

_dummy_hash: str | None = None


class Throttle:
    """Failed logins per name and per remote address in a sliding window.

    Kept in memory: one console process serves the officers, and a restart only forgets recent
    failures (worst case an attacker gets 5 more tries per restart), so no table is needed.
    """

    def __init__(
        self,
        *,
        limit: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait(self, *keys: str) -> float:
        """Seconds until a login for these keys may be tried again; 0 when it may now."""
        longest = 0.0
        for key in keys:
            times = self._recent(key)
            if len(times) >= self.limit:
                longest = max(longest, times[-self.limit] + self.window - self.clock())
        return max(longest, 0.0)

    def fail(self, *keys: str) -> None:
        """Count one failed login for each key."""
        now = self.clock()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        """Forget the failures of one key (the name, after a successful login)."""
        self._failures.pop(key, None)


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
    app[THROTTLE] = Throttle()
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
    user = None
    if isinstance(name, str):
        found = await request.app[CONSOLE].store.officer_by_name(name)
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
    if role is not None and user.role != role:
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
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def flash(request: web.Request, message: str) -> None:
    """Show `message` once on the next page this session sees."""
    session = await get_session(request)
    session[_FLASHES] = [*session.get(_FLASHES, []), message]


async def page_context(request: web.Request, user: OfficerRecord | None) -> dict[str, Any]:
    """What base.html needs: the user, the CSRF token and the flashes (shown once)."""
    session = await get_session(request)
    flashes = session.pop(_FLASHES, [])
    context: dict[str, Any] = {"user": user, "csrf": _csrf_token(session), "flashes": flashes}
    console = request.app.get(CONSOLE)
    if user is not None and user.role == "editor" and console is not None:
        # An editor sees a refused reload on every page until the files are mended.
        context["reload_problems"] = console.shown(console.reloader.last_problems)
        context["knowledge_version"] = console.reloader.content.knowledge.version
    return context


def _home(user: OfficerRecord) -> str:
    return "/" if user.role == "officer" else "/editor"


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
    next_path = form.get("next", "")
    throttle = request.app[THROTTLE]
    # request.remote is the proxy when behind one; the per-name count still holds then.
    keys = (f"name:{name.casefold()}", f"addr:{request.remote or '-'}")
    wait = throttle.wait(*keys)
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
    officer = await request.app[CONSOLE].store.officer_by_name(name) if name else None
    stored = officer.password_hash if officer is not None else None
    # argon2 takes tens of milliseconds: off the event loop. An unknown name is checked against
    # a dummy hash so the answer takes as long and does not tell which names exist.
    ok = await asyncio.to_thread(verify_password, stored or _dummy(), password)
    if officer is None or not stored or not ok:
        throttle.fail(*keys)
        log.warning("failed console login (%s)", keys[1])
        return await _login_form(
            request, name, next_path, "Naam of wachtwoord klopt niet.", status=200
        )
    throttle.clear(keys[0])
    session = await new_session(request)  # a fresh session: no fixation of an old one
    session[_USER] = officer.name
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
    session.invalidate()
    raise web.HTTPFound("/login?out=1")
