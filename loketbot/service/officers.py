"""`loketbot officers`: register officers and editors (console login, Telegram user)."""

from __future__ import annotations

__all__ = ["add_officer", "hash_password", "list_officers", "verify_password"]

import getpass
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from loketbot.config import Settings
from loketbot.errors import LoketbotError
from loketbot.store.store import Store

_HASHER = PasswordHasher()
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Wachtwoord voor de console (leeg: geen console-login): ")
    else:
        return None
    if not password:
        return None
    if len(password) < MIN_PASSWORD:
        raise LoketbotError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


async def add_officer(
    settings: Settings,
    name: str,
    *,
    role: str = "officer",
    telegram_id: int | None = None,
    password_stdin: bool = False,
) -> int:
    """Register one officer or editor; prints what was done."""
    password = _read_password(password_stdin)
    store = await Store.open(settings.database_url)
    try:
        officer = await store.add_officer(
            name.strip(),
            role=role,
            telegram_id=telegram_id,
            password_hash=hash_password(password) if password else None,
        )
    finally:
        await store.close()
    where = f", Telegram user {officer.telegram_id}" if officer.telegram_id else ""
    login = "with" if password else "without"
    print(f"added {officer.role} {officer.name!r}{where}, {login} a console password")
    return 0


async def list_officers(settings: Settings) -> int:
    """Print the registered officers and editors."""
    store = await Store.open(settings.database_url)
    try:
        for officer in await store.officers():
            telegram = officer.telegram_id if officer.telegram_id is not None else "-"
            print(f"{officer.name}\t{officer.role}\ttelegram {telegram}")
    finally:
        await store.close()
    return 0
