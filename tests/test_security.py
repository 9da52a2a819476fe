"""Regression tests for the security review of 2026-12 (F1-F15), one or more per finding."""

from __future__ import annotations

import pytest

from tests.test_console_officer import Env, env, login  # noqa: F401  (env is a fixture)


# --- F1: redirects only to paths of this site ---------------------------------------------------

EVIL_NEXT = [
    "/\t/evil.example/phish",
    "/\n/evil.example/phish",
    "/\r/evil.example/phish",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("next_path", EVIL_NEXT)
async def test_login_redirect_stays_on_this_site(env: Env, next_path: str) -> None:  # noqa: F811
    response = await login(env.client, "anna", next_path=next_path)
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    # Already logged in: GET /login?next=... redirects at once, the same way.
    again = await env.client.get("/login", params={"next": next_path}, allow_redirects=False)
    assert again.status == 302
    assert again.headers["Location"].startswith("/")
    assert not again.headers["Location"].startswith("//")


async def test_login_redirect_keeps_a_path_with_query(env: Env) -> None:  # noqa: F811
    response = await login(env.client, "anna", next_path="/tickets/7?x=1")
    assert response.headers["Location"] == "/tickets/7?x=1"
