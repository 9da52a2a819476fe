"""Settings from LOKETBOT_* environment variables, or the same names in loketbot.toml."""

from __future__ import annotations

__all__ = [
    "DEFAULT_FLOOD_LIMIT",
    "DEFAULT_RETENTION_DAYS",
    "OFF",
    "Settings",
    "flood_problem",
    "load_settings",
]

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from limits import parse_many

from loketbot.errors import ConfigError

# Per chat, in the `limits` notation: a person typing or tapping never gets there, a script does.
DEFAULT_FLOOD_LIMIT = "8 per 10 seconds; 30 per minute"
OFF = "off"

# How long messages and tickets' texts are kept (see `loketbot purge` and /privacy).
DEFAULT_RETENTION_DAYS = 365

DEFAULTS = {
    "LOKETBOT_TELEGRAM_TOKEN": "",
    "LOKETBOT_TELEGRAM_API_URL": "https://api.telegram.org/bot",
    "LOKETBOT_TELEGRAM_MAX_RATE": "30",
    "LOKETBOT_OFFICERS_CHAT_ID": "",
    "LOKETBOT_DATABASE_URL": "sqlite+aiosqlite:///loketbot.db",
    "LOKETBOT_KNOWLEDGE_DIR": "knowledge",
    "LOKETBOT_FLOWS_DIR": "flows",
    "LOKETBOT_WEB_HOST": "127.0.0.1",
    "LOKETBOT_WEB_PORT": "8080",
    "LOKETBOT_WEBHOOK_SECRET": "",
    "LOKETBOT_REOPEN_DAYS": "3",
    "LOKETBOT_SESSION_KEY": "",
    "LOKETBOT_COOKIE_SECURE": "false",
    "LOKETBOT_EXPECTED_ANSWER": "",
    "LOKETBOT_RETENTION_DAYS": str(DEFAULT_RETENTION_DAYS),
    "LOKETBOT_FLOOD_LIMIT": DEFAULT_FLOOD_LIMIT,
    "LOKETBOT_TRUSTED_PROXIES": "",
}


def flood_problem(spec: str) -> str | None:
    """What is wrong with a limit setting ("8 per 10 seconds; 30 per minute", or "off")."""
    if spec == OFF:
        return None
    try:
        items = parse_many(spec)
    except ValueError:
        items = []
    if not items:
        return f"{spec!r} is not a limit; write it like {DEFAULT_FLOOD_LIMIT!r}, or 'off' for none"
    return None


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; see the table in README.md."""

    telegram_token: str
    telegram_api_url: str
    telegram_max_rate: float  # requests/s the bot sends at most; 0: only Telegram's 429s
    officers_chat_id: str
    database_url: str
    knowledge_dir: Path
    flows_dir: Path
    web_host: str
    web_port: int
    webhook_secret: str
    reopen_days: float
    expected_answer: str
    session_key: str  # empty: a random key per process (logins do not survive a restart)
    cookie_secure: bool
    retention_days: int = DEFAULT_RETENTION_DAYS
    flood_limit: str = DEFAULT_FLOOD_LIMIT  # "off": no limit
    deadline_check_seconds: float = 30.0  # how often reminders and escalations are looked for
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For counts


def load_settings(
    environ: Mapping[str, str] | None = None, toml_path: Path | None = None
) -> Settings:
    """Environment first, then loketbot.toml (in the working directory), then defaults."""
    env = os.environ if environ is None else environ
    path = toml_path or Path(env.get("LOKETBOT_CONFIG", "loketbot.toml"))
    from_file: dict[str, object] = {}
    if path.is_file():
        try:
            from_file = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        unknown = sorted(set(from_file) - set(DEFAULTS))
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}"
            )

    def get(name: str) -> str:
        return str(env.get(name) or from_file.get(name) or DEFAULTS[name])

    port = get("LOKETBOT_WEB_PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"LOKETBOT_WEB_PORT must be a port number (1-65535), not {port!r}")
    reopen = get("LOKETBOT_REOPEN_DAYS")
    try:
        reopen_days = float(reopen)
    except ValueError:
        raise ConfigError(
            f"LOKETBOT_REOPEN_DAYS must be a number of days, not {reopen!r}"
        ) from None
    retention = get("LOKETBOT_RETENTION_DAYS")
    if not retention.isdigit() or int(retention) < 1:
        raise ConfigError(
            f"LOKETBOT_RETENTION_DAYS must be a whole number of days, at least 1, not {retention!r}"
        )
    max_rate = get("LOKETBOT_TELEGRAM_MAX_RATE")
    try:
        telegram_max_rate = float(max_rate)
    except ValueError:
        telegram_max_rate = -1.0
    if not 0 <= telegram_max_rate < 1e6:
        raise ConfigError(
            "LOKETBOT_TELEGRAM_MAX_RATE must be requests per second (30 is Telegram's documented "
            f"limit; 0 leaves it to Telegram's 429 answers), not {max_rate!r}"
        )
    flood_limit = get("LOKETBOT_FLOOD_LIMIT").strip()
    problem = flood_problem(flood_limit)
    if problem:
        raise ConfigError(f"LOKETBOT_FLOOD_LIMIT: {problem}")
    proxies = tuple(p.strip() for p in get("LOKETBOT_TRUSTED_PROXIES").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                "LOKETBOT_TRUSTED_PROXIES must be addresses or networks separated by commas "
                f"(e.g. 10.0.0.0/8, 127.0.0.1), not {proxy!r}"
            ) from None
    return Settings(
        trusted_proxies=proxies,
        telegram_token=get("LOKETBOT_TELEGRAM_TOKEN"),
        telegram_api_url=get("LOKETBOT_TELEGRAM_API_URL"),
        telegram_max_rate=telegram_max_rate,
        officers_chat_id=get("LOKETBOT_OFFICERS_CHAT_ID"),
        database_url=get("LOKETBOT_DATABASE_URL"),
        knowledge_dir=Path(get("LOKETBOT_KNOWLEDGE_DIR")),
        flows_dir=Path(get("LOKETBOT_FLOWS_DIR")),
        web_host=get("LOKETBOT_WEB_HOST"),
        web_port=int(port),
        webhook_secret=get("LOKETBOT_WEBHOOK_SECRET"),
        reopen_days=reopen_days,
        session_key=get("LOKETBOT_SESSION_KEY"),
        cookie_secure=get("LOKETBOT_COOKIE_SECURE").lower() in ("1", "true", "yes"),
        expected_answer=env.get("LOKETBOT_EXPECTED_ANSWER")
        or str(from_file.get("LOKETBOT_EXPECTED_ANSWER", "")),
        retention_days=int(retention),
        flood_limit=flood_limit,
        deadline_check_seconds=float(env.get("LOKETBOT_DEADLINE_CHECK_SECONDS") or 30.0),
    )
