"""The `loketbot` command: chat, serve, match, eval, kb, flows, officers, purge."""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from loketbot.config import Settings, load_settings
from loketbot.content.bundle import check_content, load_content
from loketbot.content.knowledge import LANGS, load_knowledge
from loketbot.errors import KnowledgeError, LoketbotError
from loketbot.understanding.matcher import Matcher

log = logging.getLogger("loketbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loketbot", description="Municipal guidance bot for citizen initiatives in Rotterdam."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--lang", choices=LANGS, help="answer in this language")
    chat.add_argument("--user", default="local", help="who you are (default: local)")
    chat.add_argument(
        "--console",
        action="store_true",
        help="also serve the web console on LOKETBOT_WEB_HOST:LOKETBOT_WEB_PORT",
    )

    serve = sub.add_parser("serve", help="run the Telegram bot and the web app")
    serve.add_argument(
        "--webhook-url", help="receive updates by webhook at this public URL instead of polling"
    )

    officers = sub.add_parser("officers", help="liaison officers and editors")
    officers_sub = officers.add_subparsers(dest="officers_command", required=True, metavar="CMD")
    add = officers_sub.add_parser("add", help="register an officer or editor")
    add.add_argument("name", help="the name shown on tickets")
    add.add_argument("--role", choices=("officer", "editor", "coordinator"), default="officer")
    add.add_argument(
        "--telegram-id", type=int, help="the Telegram user id allowed to act on tickets"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the console password from stdin"
    )
    _officer_options(add)
    officers_sub.add_parser("list", help="list officers and editors")
    change = officers_sub.add_parser("set", help="change an officer's team, areas, themes, ...")
    change.add_argument("name", help="the officer's name")
    change.add_argument("--role", choices=("officer", "editor", "coordinator"))
    change.add_argument("--telegram-id", type=int, help="the officer's Telegram user id")
    _officer_options(change)
    handover = officers_sub.add_parser(
        "handover", help="hand every initiative of one officer over to another (one action)"
    )
    handover.add_argument("source", metavar="FROM", help="the officer leaving the initiatives")
    handover.add_argument("target", metavar="TO", help="the officer taking them over")

    teams = sub.add_parser("teams", help="teams of officers, each optionally with its own group")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True, metavar="CMD")
    team_add = teams_sub.add_parser("add", help="add a team")
    team_add.add_argument("name")
    _team_options(team_add)
    team_set = teams_sub.add_parser("set", help="change a team's group, areas or themes")
    team_set.add_argument("name")
    _team_options(team_set)
    teams_sub.add_parser("list", help="list the teams")

    purge = sub.add_parser(
        "purge", help="delete messages and anonymise tickets older than the retention period"
    )
    purge.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="what is older than this many days (default: LOKETBOT_RETENTION_DAYS)",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="print what would be purged, change nothing"
    )

    match = sub.add_parser("match", help="route questions; prints one JSON object per question")
    match.add_argument("text", nargs="?", help="the question (omit with --jsonl)")
    match.add_argument("--jsonl", action="store_true", help="read one question per line from stdin")
    match.add_argument("--lang", choices=LANGS, help="force the answer language")
    _knowledge_option(match)

    evaluate = sub.add_parser("eval", help="accuracy report over labelled questions")
    evaluate.add_argument("file", type=Path, help='JSON lines {"text", "expect"}')
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--dialogue",
        action="store_true",
        help="read each question as a conversation's first message, as the bot does",
    )
    _knowledge_option(evaluate)

    kb = sub.add_parser("kb", help="knowledge base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    kb_check = kb_sub.add_parser("check", help="validate knowledge/ and flows/")
    _knowledge_option(kb_check)
    kb_check.add_argument("--flows", type=Path, help="flows folder (default: LOKETBOT_FLOWS_DIR)")
    kb_check.add_argument("--json", action="store_true", help="print problems as JSON")
    kb_check.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (sources, their age, home-page links, readability) as errors",
    )
    kb_examples = kb_sub.add_parser("examples", help="every example phrasing as JSON lines")
    _knowledge_option(kb_examples)

    flows = sub.add_parser("flows", help="guided flow tools")
    flows_sub = flows.add_subparsers(dest="flows_command", required=True, metavar="FLOWS_COMMAND")
    flows_test = flows_sub.add_parser("test", help="run the scripted flow conversations")
    flows_test.add_argument(
        "folder", nargs="?", type=Path, default=Path("tests/flows"), help="default: tests/flows"
    )
    _knowledge_option(flows_test)
    flows_test.add_argument("--flows", type=Path, help="flows folder (default: LOKETBOT_FLOWS_DIR)")
    return parser


def _officer_options(parser: argparse.ArgumentParser) -> None:
    """What an officer covers and how initiators see them (officers add / set)."""
    parser.add_argument(
        "--area", action="append", help="a Rotterdam area the officer covers (repeat for more)"
    )
    parser.add_argument(
        "--theme", action="append", help="a theme the officer covers (repeat for more)"
    )
    parser.add_argument("--team", help="the officer's team ('' for none)")
    parser.add_argument("--public-name", help="the name initiators see (default: first name)")
    parser.add_argument("--public-role", help="the role initiators see, e.g. wijknetwerker")
    parser.add_argument("--phone", help="a phone number initiators see (only when given)")


def _team_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat-id", help="the team's Telegram group id (default: the shared one)")
    parser.add_argument("--area", action="append", help="an area the team covers (repeat)")
    parser.add_argument("--theme", action="append", help="a theme the team covers (repeat)")


def _days(value: str) -> int:
    """A whole number of days, at least 1 (0 would delete everything, today's chats included)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of days, at least 1, not {value!r}"
        )
    return int(value)


# Libraries that log what users typed or secrets at levels we may enable: httpx logs every
# request URL at INFO (the Bot API's contain the token), PTB logs request parameters (texts) and
# aiosqlite SQL parameters at DEBUG.
QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
}


def configure_logging(verbose: bool) -> None:
    """WARNING (DEBUG with -v) for loketbot; never below QUIET_LOGGERS for those libraries."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


def _knowledge_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--knowledge", type=Path, help="knowledge folder (default: LOKETBOT_KNOWLEDGE_DIR)"
    )


class _Redact(logging.Filter):
    """Replaces secrets in every log line, its traceback included, with ***.

    The bot token is in every Bot API URL, and libraries put it in their messages (PTB's
    InvalidToken says "The token `...` was rejected"): whatever logs it, it is not written.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n"), self.secrets
            )
            record.exc_info = None
        return True


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret (and a bot token's secret half on its own) replaced by ***."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        _, _, half = secret.partition(":")
        if len(half) >= 8:
            text = text.replace(half, "***")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    secrets: list[str] = []
    try:
        settings = load_settings()
        secrets = [settings.telegram_token, settings.webhook_secret]
        for handler in logging.getLogger().handlers:
            handler.addFilter(_Redact(secrets))
        return _run(args, settings)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(exc.problems)} problem(s) in the knowledge; run `loketbot kb check`",
            file=sys.stderr,
        )
        return 1
    except LoketbotError as exc:
        print(redact(f"loketbot: {exc}", secrets), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`loketbot eval ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception:
        # A bug still shows its traceback, but never the token or the webhook secret in it.
        print(redact(traceback.format_exc(), secrets), file=sys.stderr, end="")
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    knowledge_dir: Path = getattr(args, "knowledge", None) or settings.knowledge_dir
    if args.command == "kb" and args.kb_command == "check":
        return _kb_check(
            knowledge_dir, args.flows or settings.flows_dir, as_json=args.json, strict=args.strict
        )
    if args.command == "kb" and args.kb_command == "examples":
        knowledge = load_knowledge(knowledge_dir)
        for entry in knowledge.answerable():
            for lang in LANGS:
                for text in entry.examples[lang]:
                    print(
                        json.dumps({"id": entry.id, "text": text, "lang": lang}, ensure_ascii=False)
                    )
        return 0
    if args.command == "match":
        return _match(Matcher.from_knowledge(knowledge_dir), args)
    if args.command == "eval":
        matcher = Matcher.from_knowledge(knowledge_dir)
        return _eval(matcher, args.file, as_json=args.json, as_dialogue=args.dialogue)
    if args.command == "flows":
        return _flows_test(knowledge_dir, args.flows or settings.flows_dir, args.folder)
    if args.command == "serve":
        from loketbot.server import serve

        return asyncio.run(serve(settings, webhook_url=args.webhook_url))
    if args.command == "officers":
        from loketbot.service.officers import add_officer, list_officers
        from loketbot.service.organisation import change_officer, hand_over_cli

        if args.officers_command == "list":
            return asyncio.run(list_officers(settings))
        if args.officers_command == "handover":
            return asyncio.run(hand_over_cli(settings, args.source, args.target))
        coverage = {
            "areas": args.area,
            "themes": args.theme,
            "team": args.team,
            "public_name": args.public_name,
            "public_role": args.public_role,
            "phone": args.phone,
        }
        if args.officers_command == "set":
            return asyncio.run(
                change_officer(
                    settings, args.name, role=args.role, telegram_id=args.telegram_id, **coverage
                )
            )
        code = asyncio.run(
            add_officer(
                settings,
                args.name,
                role=args.role,
                telegram_id=args.telegram_id,
                password_stdin=args.password_stdin,
            )
        )
        if any(value is not None for value in coverage.values()):
            code = asyncio.run(change_officer(settings, args.name.strip(), **coverage))
        return code
    if args.command == "teams":
        from loketbot.service.organisation import list_teams, save_team

        if args.teams_command == "list":
            return asyncio.run(list_teams(settings))
        return asyncio.run(
            save_team(
                settings,
                args.name,
                new=args.teams_command == "add",
                chat_id=args.chat_id,
                areas=args.area,
                themes=args.theme,
            )
        )
    if args.command == "purge":
        from loketbot.service.retention import purge

        days = args.older_than or settings.retention_days
        return asyncio.run(purge(settings, days=days, dry_run=args.dry_run, out=sys.stdout))
    if args.command == "chat":
        from loketbot.channels.terminal import run_terminal
        from loketbot.web.serve import serve_console

        console = serve_console if args.console else None
        return asyncio.run(run_terminal(settings, lang=args.lang, user=args.user, console=console))
    raise AssertionError(args.command)  # argparse only lets known commands through


def _kb_check(knowledge_dir: Path, flows_dir: Path, *, as_json: bool, strict: bool = False) -> int:
    from loketbot.content.sources import content_warnings

    content, problems = check_content(knowledge_dir, flows_dir)
    warnings = content_warnings(content.knowledge.entries, content.flows) if content else []
    if strict:
        problems, warnings = sorted(problems + warnings), []
    if as_json:
        print(
            json.dumps(
                {
                    "ok": not problems,
                    "entries": len(content.knowledge.entries) if content else 0,
                    "flows": len(content.flows) if content else 0,
                    "problems": [
                        {"file": p.file, "line": p.line, "message": p.message} for p in problems
                    ],
                    "warnings": [
                        {"file": p.file, "line": p.line, "message": p.message} for p in warnings
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in problems:
            print(problem)
        for warning in warnings:
            print(f"{warning.file}:{warning.line}: warning: {warning.message}")
        if content is not None and not problems:
            knowledge = content.knowledge
            print(
                f"ok: {len(knowledge.entries)} entries, {len(content.flows)} flows, "
                f"version {knowledge.version}"
                + (f", {len(warnings)} warning(s); --strict makes them errors" if warnings else "")
            )
        else:
            print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 0 if not problems else 1


def _flows_test(knowledge_dir: Path, flows_dir: Path, folder: Path) -> int:
    from loketbot.conversation.dialogue import Dialogue
    from loketbot.conversation.scripts import ends_of, run_folder

    content = load_content(knowledge_dir, flows_dir)
    results = run_folder(folder, Dialogue(content.knowledge, flows=content.flows))
    for result in results:
        print(f"{'ok  ' if result.passed else 'FAIL'} {result.file} {result.name}")
        for failure in result.failures:
            print(f"     {failure}")
    reached = set().union(*(r.ends for r in results)) if results else set()
    missing = sorted(ends_of(content.flows) - reached)
    for flow_id, step in missing:
        print(f"not covered: flow {flow_id!r} never reaches its end {step!r}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if not failed and not missing else 1


def _match(matcher: Matcher, args: argparse.Namespace) -> int:
    if args.jsonl:
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                # Not a JSON object with "text": match the line as typed.
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    text = str(json.loads(text)["text"])
            print(json.dumps(matcher.match(text, args.lang).as_dict(), ensure_ascii=False))
        return 0
    if args.text is None:
        print(
            "loketbot match: give a question, or --jsonl to read them from stdin", file=sys.stderr
        )
        return 2
    print(json.dumps(matcher.match(args.text, args.lang).as_dict(), ensure_ascii=False))
    return 0


def _eval(matcher: Matcher, path: Path, *, as_json: bool, as_dialogue: bool = False) -> int:
    from loketbot.understanding.evaluation import evaluate, read_cases

    if not path.is_file():
        raise LoketbotError(f"{path}: no such file")
    report = evaluate(matcher, read_cases(path), as_dialogue=as_dialogue)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"questions: {report.in_scope} in scope, {report.out_of_scope} handoff")
    print(f"top1     {report.top1:.3f}   (target >= 0.90)")
    print(f"safe     {report.safe:.3f}   (target >= 0.95)")
    print(f"wrong    {report.wrong:.3f}   (target <= 0.04)")
    print(f"handoff  {report.handoff:.3f}   (target >= 0.85)")
    if report.confusions:
        print("\nconfusions (expected -> got, count):")
        for expect, got, count in report.confusions[:15]:
            print(f"  {expect:28} -> {got:40} {count}")
    if report.misses:
        print(f"\n{len(report.misses)} missed:")
        for miss in report.misses:
            print(
                f"  expect {miss['expect']!s:28} got {miss['action']!s:8} {miss['intent']!s:28} "
                f"{miss['score']!s:>5}  {str(miss['text'])[:70]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
