"""Security headers on every response of the web app, the console's pages above all.

The console shows citizens' questions and has one-click buttons (claim, close), so its pages
must not be framed by another site, cached by a browser or proxy, sniffed into another type,
or run scripts other than our own; the Server header need not tell which aiohttp runs.
"""

from __future__ import annotations

__all__ = ["csp_nonce", "setup"]

import secrets

from aiohttp import web

_NONCE: web.RequestKey[str] = web.RequestKey("csp_nonce")

FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that do not know CSP frame-ancestors
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Server": "loketbot",
}


def csp_nonce(request: web.Request) -> str:
    """The nonce this response's inline <script> must carry (made on first use)."""
    nonce = request.get(_NONCE)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        request[_NONCE] = nonce
    return nonce


def policy(nonce: str | None) -> str:
    """The Content-Security-Policy: our own origin only; inline script only with the nonce.

    Inline styles stay allowed: the templates use a few, and a style cannot run code.
    """
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return (
        "default-src 'none'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'"
    )


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in FIXED.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = policy(request.get(_NONCE))
    # Pages with personal data must not stay in a browser's or proxy's cache; nothing the app
    # serves is worth caching (no static files), so no response is stored anywhere.
    response.headers.setdefault("Cache-Control", "no-store")


def setup(app: web.Application) -> None:
    """Add the headers to every response, errors and redirects included."""
    app.on_response_prepare.append(_add_headers)
