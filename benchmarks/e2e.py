"""End to end: updates/s and reply latency through the whole stack, against a bare PTB echo bot.

Run from the repository root: .venv/bin/python benchmarks/e2e.py [--users 1000] [--updates 3000]
    [--paced-updates 2000] [--rate 100] [--backends sqlite,postgresql] [--pg-url URL]
    [--telegram-max-rate 0]

One Bot API emulator (tests/botapi/emulator.py) runs in this process, with the simulated users.
Each contender runs as a subprocess polling it, one after the other, in the same run:
the bare echo bot (benchmarks/echo_bot.py), then `loketbot serve` on a fresh SQLite file and on
a fresh PostgreSQL database (created and dropped here; skipped with a message when the server
cannot be reached). Every contender gets the same users and the same questions.

Two phases per contender, after a short warm-up:

- saturated: every user sends a question at once, and the next one as soon as the bot's first
  reply to the previous one arrived (a closed loop: one outstanding message per chat, so each
  chat's order is what a person would produce). The bot always has `--users` messages waiting,
  so updates/s is its capacity. Latency here is mostly queueing: by Little's law it is about
  users / (updates/s), so it is reported but not judged.
- paced: as many new users, whose messages arrive as a Poisson stream of `--rate` per second
  (each user writes about every users/rate seconds, never before the reply to its previous
  message). This phase's p95 is the reply latency at that many users, judged against the
  target.

Latency of one message: from the emulator enqueueing the update to the emulator receiving the
bot's first sendMessage to that chat after it (chat actions and edits do not count).
Peak RSS: VmHWM of the bot process (and of any children) just before it is stopped.
Exit status 1 when a target is missed: loketbot's saturated updates/s at least 50% of the echo
bot's, paced p95 under 250 ms, peak RSS under 250 MB, and no reply missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import math
import os
import platform
import random
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.botapi.emulator import JSON, BotApiEmulator  # noqa: E402
from tests.scratch_db import scratch_postgres  # noqa: E402

TOKEN = "4242:bench-token"
OFFICERS_CHAT = -100777
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TARGET_RATIO = 0.5
TARGET_P95_MS = 250.0
TARGET_RSS_MB = 250.0

# Questions as initiators type them: Dutch, informal, some off-topic or garbled, covering
# answers, clarifications, flows and handoffs. Written for this benchmark; not the eval set.
QUESTIONS = [
    "hoe richt ik een stichting op voor ons buurtproject?",
    "wat kost het om een coöperatie op te richten bij de notaris",
    "we willen in augustus een straatfeest houden, moet dat ergens aangemeld worden?",
    "mogen we bier verkopen op ons buurtfeest",
    "waar vraag ik subsidie aan voor een moestuin in de wijk",
    "hoe krijg ik geld voor een bewonersinitiatief in Feijenoord",
    "wat is nou eigenlijk het verschil tussen een vereniging en een stichting",
    "moeten we ons inschrijven bij de kvk als vrijwilligersgroep",
    "hoe worden we een ANBI",
    "wie is mijn vaste contactpersoon bij de gemeente",
    "kunnen we een leegstaand pand van de gemeente huren voor een buurthuis",
    "we willen een geveltuin aanleggen, mag dat zomaar?",
    "mag er live muziek op het plein tot 11 uur 's avonds",
    "hoe zit het met aansprakelijkheid als je bestuurslid bent",
    "we willen met de buurt zonnepanelen op het dak van de school, waar begin ik",
    "zijn er fondsen die een buurtkeuken willen steunen",
    "hoe moet ik verantwoorden wat we met de subsidie gedaan hebben",
    "kunnen we een lening krijgen voor onze sociale onderneming",
    "wat is right to challenge precies",
    "hoe doen we mee met opzoomer mee in onze straat",
    "mag ik een kraam neerzetten op de markt voor ons initiatief",
    "we willen een verloting houden voor het goede doel, is daar een vergunning voor nodig",
    "hoe kunnen wij als sociale onderneming opdrachten krijgen van de gemeente",
    "wat is een wijkcoöperatie en hoe begin je er een",
    "mogen vrijwilligers een vergoeding krijgen naast hun uitkering",
    "kan ik met iemand van de gemeente praten",
    "hallo",
    "dankjewel, dat was duidelijk",
    "wat kun je allemaal",
    "wanneer wordt mijn huurtoeslag uitbetaald",
    "hoeveel graden wordt het morgen in rotterdam",
    "asdfghjkl",
    "wie kan ons helpen aan een ruimte voor de jongerenclub",
    "welke rechtsvorm past bij een energiecoöperatie",
    "we willen de boomspiegels in onze straat beplanten",
    "moeten we een container aanvragen voor de opruimactie in de wijk",
    "wat is basisfinanciering voor coöperaties",
    "hebben we eherkenning nodig om subsidie aan te vragen",
    "onze vereniging wil een kantine openen, wat moeten we regelen",
    "hoe meld ik een evenement in het park aan",
    "kan de wijkraad ons project steunen",
    "waar vind ik de gebiedscommissie van charlois",
    "is een notaris verplicht als je een stichting opricht",
    "wat doet een verbindingsofficier eigenlijk",
    "we zijn met vijf buren en willen samen iets starten, hoe pakken we dat aan",
    "hoe lang duurt het voordat een subsidieaanvraag wordt goedgekeurd",
    "mag een stichting winst maken",
    "kunnen we crowdfunding gebruiken voor een buurtproject",
    "heeft de gemeente geld voor een energiecoop",
    "mijn aanvraag voor een evenementenvergunning is afgewezen, wat nu",
]


# ---------------------------------------------------------------------------------------------
# The emulator, with a hook that times the first reply to each message


class BenchEmulator(BotApiEmulator):
    """BotApiEmulator that resolves a future on the bot's first sendMessage after a message.

    The test helpers `sent()` and `wait_for()` scan every message and poll every 10 ms; with
    thousands of chats that costs more than the bot does, so the load generator uses `ask()`.
    """

    def __init__(self, token: str) -> None:
        super().__init__(token=token)
        self._waiting: dict[int, asyncio.Future[float]] = {}
        self.polled = asyncio.Event()
        self.counts: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget chats, calls and undelivered updates between contenders; return nothing."""
        self._log.clear()
        self._chats.clear()
        self._users.clear()
        self._pending.clear()
        self._waiting.clear()
        self.counts.clear()
        self.polled = asyncio.Event()

    async def ask(self, chat_id: int, text: str) -> tuple[float, float | None]:
        """Send `text` as the user of `chat_id`; return (sent, first reply) perf_counter times.

        The reply time is None when nothing came within the timeout given to `answer_by`.
        """
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = future
        sent = time.perf_counter()
        await self.user_sends(chat_id, text, first_name="Bewoner", language_code="nl")
        return sent, await self._reply_time(chat_id, future)

    reply_timeout = 300.0

    async def _reply_time(self, chat_id: int, future: asyncio.Future[float]) -> float | None:
        try:
            return await asyncio.wait_for(future, self.reply_timeout)
        except TimeoutError:
            self._waiting.pop(chat_id, None)
            self.counts["lost"] += 1
            return None

    async def _send_message(self, params: JSON) -> JSON:
        arrived = time.perf_counter()
        message = await super()._send_message(params)
        chat_id = message["chat"]["id"]
        future = self._waiting.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result(arrived)
            self.counts["replies"] += 1
        elif chat_id > 0:
            self.counts["unasked"] += 1  # a second message for the same question
        else:
            self.counts["group"] += 1
        return message

    async def _send_chat_action(self, params: JSON) -> bool:
        self.counts["chat_actions"] += 1
        return await super()._send_chat_action(params)

    async def _edit_message_text(self, params: JSON) -> JSON:
        self.counts["edits"] += 1
        return await super()._edit_message_text(params)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        self.counts["edits"] += 1
        return await super()._edit_message_reply_markup(params)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        self.polled.set()
        self.counts["get_updates"] += 1
        return await super()._get_updates(params)


class _HungUp(logging.Filter):
    """Drop aiohttp's traceback for a request whose client went away (a bot being stopped
    in the middle of a long poll), counting them instead."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ConnectionResetError):
            self.count += 1
            return False
        return True


# ---------------------------------------------------------------------------------------------
# Processes, memory and CPU


_TICKS = os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, key: str) -> int:
    """A `kB` line of /proc/PID/status, or 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = [int(c) for c in (task / "children").read_text().split()]
                found.extend(children)
                todo.extend(children)
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs together, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Meter:
    """CPU use of the bot, of this process and of the whole machine over one phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = time.perf_counter()
        self.bot = _cpu_seconds(pid)
        self.ours = time.process_time()
        self.machine = _machine_ticks()

    def read(self) -> dict[str, float]:
        """Percent of one core for the bot and for this process; percent of all cores busy."""
        wall = max(time.perf_counter() - self.wall, 1e-9)
        busy, total = _machine_ticks()
        return {
            "bot_cpu_pct": 100 * (_cpu_seconds(self.pid) - self.bot) / wall,
            "bench_cpu_pct": 100 * (time.process_time() - self.ours) / wall,
            "machine_busy_pct": 100 * (busy - self.machine[0]) / max(total - self.machine[1], 1),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This process's environment without LOKETBOT_* settings a developer may have exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKETBOT_")}
    env["LOKETBOT_CONFIG"] = os.devnull  # never pick up a loketbot.toml from the working dir
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ---------------------------------------------------------------------------------------------
# Databases


def postgres_database(url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh database on the server of `url`, dropped afterwards."""
    return scratch_postgres(url, "loketbot_bench")


@contextlib.asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    """A database file in a fresh temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="loketbot-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'loketbot.db'}"


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Phase:
    """What one phase of one contender measured."""

    users: int
    updates: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    lost: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """The q-th percentile (nearest rank) of the latencies, in ms."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

    def summary(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "updates": self.updates,
            "seconds": round(self.seconds, 3),
            "updates_per_s": round(self.rate, 1),
            "p50_ms": round(self.pct(50), 1),
            "p95_ms": round(self.pct(95), 1),
            "p99_ms": round(self.pct(99), 1),
            "max_ms": round(self.pct(100), 1),
            "lost": self.lost,
            **{k: round(v, 1) for k, v in self.cpu.items()},
        }


def scripts(chat_ids: Sequence[int], per_user: int, seed: int) -> dict[int, list[str]]:
    """The questions each user will ask, the same for every contender."""
    rng = random.Random(seed)
    return {chat: [rng.choice(QUESTIONS) for _ in range(per_user)] for chat in chat_ids}


async def run_users(
    emu: BenchEmulator,
    plan: dict[int, list[str]],
    *,
    rate: float | None,
    seed: int,
    phase: Phase,
) -> None:
    """Each user asks its questions in order, never before the reply to the previous one.

    `rate` None: the next question goes as soon as the reply came (saturation). Otherwise the
    questions are due as a Poisson stream of `rate` per second over all users, taking turns
    (a user's next question is due about users/rate seconds after the previous one), and a
    question whose user still waits for a reply goes when that reply came.
    """
    due: dict[int, list[float]] = {chat: [] for chat in plan}
    if rate is not None:
        rng = random.Random(seed)
        order = list(plan)
        rng.shuffle(order)
        at = 0.0
        for turn in range(max(len(q) for q in plan.values())):
            for chat in order:
                if turn < len(plan[chat]):
                    at += rng.expovariate(rate)
                    due[chat].append(at)
    first_sent: list[float] = []
    last_reply: list[float] = []
    loop = asyncio.get_running_loop()
    begin = loop.time()

    async def user(chat: int) -> None:
        for index, question in enumerate(plan[chat]):
            if due[chat]:
                await asyncio.sleep(max(0.0, begin + due[chat][index] - loop.time()))
            sent, replied = await emu.ask(chat, question)
            first_sent.append(sent)
            if replied is None:
                phase.lost += 1
                continue
            last_reply.append(replied)
            phase.latencies_ms.append((replied - sent) * 1000)

    await asyncio.gather(*(user(chat) for chat in plan))
    phase.updates = len(phase.latencies_ms)
    if first_sent and last_reply:
        phase.seconds = max(last_reply) - min(first_sent)


# ---------------------------------------------------------------------------------------------
# Contenders


@dataclass
class Result:
    """Everything measured for one contender."""

    name: str
    saturated: Phase | None = None
    paced: Phase | None = None
    start_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None
    exit_code: int | None = None


@dataclass
class Options:
    users: int
    updates: int
    paced_updates: int
    rate: float
    warmup: int
    seed: int
    start_timeout: float


async def start(
    emu: BenchEmulator, argv: list[str], env: dict[str, str], log: IO[bytes], within: float
) -> asyncio.subprocess.Process:
    """Start the bot and wait until its first getUpdates arrives."""
    emu.reset()
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    deadline = time.monotonic() + within
    while not emu.polled.is_set():
        if proc.returncode is not None or time.monotonic() > deadline:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            await stop(proc)
            raise RuntimeError(f"{' '.join(argv)} did not start polling:\n{output}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(emu.polled.wait(), 0.2)
    return proc


async def stop(proc: asyncio.subprocess.Process) -> int:
    """SIGTERM, then SIGKILL after 30 s; the exit code."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
    return await proc.wait()


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process plus that of its descendants, in MB."""
    kb = _status_kb(pid, "VmHWM") + sum(_status_kb(c, "VmHWM") for c in _descendants(pid))
    return kb / 1024


async def measure(
    emu: BenchEmulator,
    name: str,
    argv: list[str],
    env: dict[str, str],
    opts: Options,
    base_chat: int,
) -> Result:
    """Run one contender through warm-up, the saturated and the paced phase."""
    result = Result(name)
    with tempfile.TemporaryFile() as log:
        proc = await start(emu, argv, env, log, opts.start_timeout)
        result.start_rss_mb = _status_kb(proc.pid, "VmRSS") / 1024
        try:
            warm_ids = [base_chat + 900_000 + i for i in range(max(opts.warmup, 1))]
            await run_users(
                emu,
                scripts(warm_ids, 2, opts.seed + 1),
                rate=None,
                seed=opts.seed,
                phase=Phase(len(warm_ids)),
            )
            await asyncio.sleep(0.5)  # let the warm-up's follow-ups (typing, outbox) settle

            per_user = max(1, math.ceil(opts.updates / opts.users))
            ids = [base_chat + i for i in range(opts.users)]
            phase = Phase(opts.users)
            meter = Meter(proc.pid)
            await run_users(
                emu, scripts(ids, per_user, opts.seed), rate=None, seed=opts.seed, phase=phase
            )
            phase.cpu = meter.read()
            result.saturated = phase
            await asyncio.sleep(1.0)

            if opts.paced_updates > 0:
                per_user = max(1, math.ceil(opts.paced_updates / opts.users))
                ids = [base_chat + 100_000 + i for i in range(opts.users)]
                phase = Phase(opts.users)
                meter = Meter(proc.pid)
                await run_users(
                    emu,
                    scripts(ids, per_user, opts.seed + 2),
                    rate=opts.rate,
                    seed=opts.seed + 3,
                    phase=phase,
                )
                phase.cpu = meter.read()
                result.paced = phase
            await asyncio.sleep(0.5)
            result.peak_rss_mb = peak_rss_mb(proc.pid)
            result.counts = dict(emu.counts)
        finally:
            result.exit_code = await stop(proc)
            if result.exit_code not in (0, -signal.SIGTERM):
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                print(f"{name}: exited with {result.exit_code}; log tail:\n{tail}", file=sys.stderr)
    return result


async def bench(args: argparse.Namespace) -> list[Result]:
    opts = Options(
        users=args.users,
        updates=args.updates,
        paced_updates=args.paced_updates,
        rate=args.rate,
        warmup=args.warmup,
        seed=args.seed,
        start_timeout=args.start_timeout,
    )
    results: list[Result] = []
    logging.getLogger("aiohttp.server").addFilter(_HungUp())
    async with BenchEmulator(TOKEN) as emu:
        emu.reply_timeout = args.reply_timeout
        env = clean_env()
        echo_env = {**env, "ECHO_TOKEN": TOKEN, "ECHO_API_URL": emu.base_url}
        argv = [sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")]
        print("running: echo bot", file=sys.stderr, flush=True)
        results.append(await measure(emu, "echo bot (bare PTB)", argv, echo_env, opts, 1_000_000))
        for index, backend in enumerate(args.backends, start=2):
            name = f"loketbot {backend}"
            if backend == "postgresql" and (problem := await pg_problem(args.pg_url)):
                message = f"PostgreSQL at {args.pg_url} is unreachable: {problem}"
                print(f"skipping {name}: {message}", file=sys.stderr)
                results.append(Result(name, skipped=message))
                continue
            print(f"running: {name}", file=sys.stderr, flush=True)
            async with _database(backend, args.pg_url) as url:
                bot_env = {
                    **env,
                    "LOKETBOT_TELEGRAM_TOKEN": TOKEN,
                    "LOKETBOT_TELEGRAM_API_URL": emu.base_url,
                    "LOKETBOT_DATABASE_URL": url,
                    "LOKETBOT_OFFICERS_CHAT_ID": str(OFFICERS_CHAT),
                    "LOKETBOT_WEB_PORT": str(free_port()),
                }
                if args.telegram_max_rate is not None:
                    bot_env["LOKETBOT_TELEGRAM_MAX_RATE"] = args.telegram_max_rate
                argv = [sys.executable, "-m", "loketbot.cli", "serve"]
                results.append(await measure(emu, name, argv, bot_env, opts, index * 1_000_000))
    return results


async def pg_problem(url: str) -> str | None:
    """Why the PostgreSQL server of `url` cannot be used, or None when it answers."""
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql", database="postgres")
    try:
        conn = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@contextlib.asynccontextmanager
async def _database(backend: str, pg_url: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        async with sqlite_database() as url:
            yield url
    elif backend == "postgresql":
        async with postgres_database(pg_url) as url:
            yield url
    else:
        raise SystemExit(f"unknown backend {backend!r}: choose sqlite or postgresql")


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load}, {now}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    for row in rows:
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def report(results: list[Result], args: argparse.Namespace) -> list[str]:
    """Print the tables; return the targets missed."""
    echo = results[0].saturated
    echo_rate = echo.rate if echo else 0.0
    print(f"machine: {machine()}")
    print(
        f"users: {args.users}; saturated: {args.updates} updates, closed loop; paced: "
        f"{args.paced_updates} updates offered at {args.rate:g}/s "
        f"(each user writes every {args.users / args.rate:.0f} s on average)\n"
    )
    rows = []
    for r in results:
        if r.skipped or r.saturated is None:
            rows.append([r.name, *(["-"] * 11)])
            continue
        s = r.saturated
        replies = r.counts.get("replies", 0)
        extra = r.counts.get("unasked", 0)
        rows.append(
            [
                r.name,
                str(s.updates),
                f"{s.seconds:.2f}",
                f"{s.rate:.0f}",
                f"{s.rate / echo_rate:.2f}" if echo_rate else "-",
                f"{s.pct(50):.0f}",
                f"{s.pct(95):.0f}",
                f"{s.pct(99):.0f}",
                f"{r.start_rss_mb:.0f} / {r.peak_rss_mb:.0f}",
                f"{s.cpu.get('bot_cpu_pct', 0):.0f}",
                f"{s.cpu.get('bench_cpu_pct', 0):.0f}",
                f"{(replies + extra) / max(replies, 1):.2f}",
            ]
        )
    print("saturated (latency here is queueing: about users / updates-per-second)")
    print(
        table(
            [
                "contender",
                "updates",
                "seconds",
                "updates/s",
                "x echo",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "RSS MB start/peak",
                "bot CPU%",
                "emu CPU%",
                "msgs/update",
            ],
            rows,
        )
    )
    rows = []
    echo_p95 = results[0].paced.pct(95) if results[0].paced else math.nan
    for r in results:
        p = r.paced
        if r.skipped or p is None:
            rows.append([r.name, *(["-"] * 10)])
            continue
        rows.append(
            [
                r.name,
                str(p.updates),
                f"{p.rate:.0f}",
                f"{p.pct(50):.0f}",
                f"{p.pct(95):.0f}",
                f"{p.pct(95) / echo_p95:.1f}" if echo_p95 > 0 else "-",
                f"{p.pct(99):.0f}",
                f"{p.pct(100):.0f}",
                str(r.counts.get("chat_actions", 0)),
                f"{p.cpu.get('bot_cpu_pct', 0):.0f}",
                f"{p.cpu.get('machine_busy_pct', 0):.0f}",
            ]
        )
    if args.paced_updates > 0:
        print(f"\npaced ({args.users} users offering {args.rate:g} updates/s)")
        print(
            table(
                [
                    "contender",
                    "updates",
                    "updates/s",
                    "p50 ms",
                    "p95 ms",
                    "p95 x echo",
                    "p99 ms",
                    "max ms",
                    "typing",
                    "bot CPU%",
                    "machine busy%",
                ],
                rows,
            )
        )
    missed: list[str] = []
    for r in results:
        if r.skipped:
            print(f"\n{r.name}: skipped: {r.skipped}")
            continue
        lost = (r.saturated.lost if r.saturated else 0) + (r.paced.lost if r.paced else 0)
        if lost:
            missed.append(f"{r.name}: {lost} messages got no reply within {args.reply_timeout:g} s")
        if r is results[0]:
            continue
        sat, pace = r.saturated, r.paced
        if sat is not None and echo_rate and sat.rate < TARGET_RATIO * echo_rate:
            missed.append(
                f"{r.name}: {sat.rate:.0f} updates/s is {sat.rate / echo_rate:.0%} of the echo "
                f"bot's {echo_rate:.0f} (target >= {TARGET_RATIO:.0%})"
            )
        if pace is not None and not pace.pct(95) < TARGET_P95_MS:
            missed.append(
                f"{r.name}: paced p95 {pace.pct(95):.0f} ms (target < {TARGET_P95_MS:.0f})"
            )
        if r.peak_rss_mb >= TARGET_RSS_MB:
            missed.append(
                f"{r.name}: peak RSS {r.peak_rss_mb:.0f} MB (target < {TARGET_RSS_MB:.0f})"
            )
    print()
    for line in missed:
        print(f"MISSED {line}")
    skipped = [r.name for r in results if r.skipped]
    if not missed:
        print("all targets met" + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
    return missed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000, help="simulated users (chats)")
    parser.add_argument("--updates", type=int, default=3000, help="saturated phase: messages")
    parser.add_argument(
        "--paced-updates", type=int, default=2000, help="paced phase: messages (0 skips it)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="paced phase: updates/s")
    parser.add_argument(
        "--backends",
        type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
        default=["sqlite", "postgresql"],
        help="loketbot stores to measure, comma-separated (the echo bot always runs)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LOKETBOT_TEST_DATABASE_URL") or DEFAULT_PG_URL,
        help="a PostgreSQL server to create a scratch database on",
    )
    parser.add_argument(
        "--telegram-max-rate",
        default="0",
        help="LOKETBOT_TELEGRAM_MAX_RATE for loketbot (default 0: no client-side cap, as the "
        "echo bot, so both are measured against the same emulator alike; 30 is loketbot's "
        "production default, Telegram's documented limit, and caps it at about 30 updates/s)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="users in the warm-up")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--reply-timeout", type=float, default=300.0)
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    results = asyncio.run(bench(args))
    missed = report(results, args)
    if args.json is not None:
        figures = [
            {
                "name": r.name,
                "skipped": r.skipped,
                "peak_rss_mb": round(r.peak_rss_mb, 1),
                "counts": r.counts,
                "saturated": r.saturated.summary() if r.saturated else None,
                "paced": r.paced.summary() if r.paced else None,
            }
            for r in results
        ]
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "args": _jsonable(vars(args)),
                    "results": figures,
                    "missed": missed,
                },
                indent=2,
            )
        )
    return 1 if missed else 0


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


if __name__ == "__main__":
    sys.exit(main())
