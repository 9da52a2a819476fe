"""PTB's networking on aiohttp instead of httpx: the same requests at a fraction of the CPU.

PTB sends every Bot API call through a BaseRequest; its default (HTTPXRequest) costs about as
much CPU per call as everything else loketbot does for a message (httpcore's pool, anyio and
h11 are pure Python). aiohttp, already serving the console, parses HTTP in C. This adapter only
maps PTB's request onto aiohttp and aiohttp's failures onto PTB's errors; PTB still turns
status codes and Telegram's answers into BadRequest, RetryAfter and the rest.
"""

from __future__ import annotations

__all__ = ["AiohttpRequest"]


import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A BaseRequest on one aiohttp session with at most `connections` open connections."""

    def __init__(
        self,
        *,
        connections: int = 32,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        pool_timeout: float = 10.0,
    ) -> None:
        """Timeouts in seconds, as in HTTPXRequest (without a write timeout); waiting for a
        free connection counts towards `pool_timeout`."""
        if connections < 1:
            raise ValueError(f"connections must be at least 1, not {connections}")
        self._connections = connections
        self._defaults = {
            "connect": connect_timeout,
            "read": read_timeout,
            "pool": pool_timeout,
        }
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, which PTB adds to getUpdates' long-polling timeout."""
        return self._defaults["read"]

    async def initialize(self) -> None:
        """Open the session (and its connection pool)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; returns the status code and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        # aiohttp's connect timeout covers the wait for a free connection as well. It has no
        # write timeout: what is sent here are small form posts (no file uploads).
        connect = _sum(
            self._seconds(pool_timeout, "pool"), self._seconds(connect_timeout, "connect")
        )
        timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_read=self._seconds(read_timeout, "read")
        )
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            data = request_data.json_parameters
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData(data)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _seconds(self, value: ODVInput[float], name: str) -> float | None:
        return self._defaults[name] if isinstance(value, DefaultValue) else value


def _sum(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else first + second
