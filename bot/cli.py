"""Command line: run, poll --once, classify, chat, check-config."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import TextIO

from bot.config import Config, ConfigError, load_config

log = logging.getLogger("dealticker")
EXIT_CONFIG = 2


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # httpx logs every request URL at INFO; Bot API URLs carry the token, so keep it quiet.
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _open_store(config: Config):
    from bot.store import Store

    store = Store(config.database_url)
    store.migrate()
    return store


def cmd_check_config(args, config: Config) -> int:
    print(f"{config.source}: OK — {len(config.feeds)} feeds, {len(config.deal.bidders)} bidders, "
          f"languages {', '.join(config.languages)}")
    return 0


def cmd_run(args, config: Config) -> int:
    from bot.runner import run

    store = _open_store(config)
    try:
        asyncio.run(run(config, store))
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0


def cmd_poll(args, config: Config) -> int:
    from bot.messages import alert_message
    from bot.pipeline import Pipeline
    from bot.platforms.console import render

    store = _open_store(config)
    try:
        print(f"Abruf von {len(config.feeds)} Feeds …", file=sys.stderr)
        report = asyncio.run(Pipeline(config, store).poll_once())
    finally:
        store.close()
    alerts = report.new_alerts + report.updated_alerts
    if args.json:
        for a in alerts:
            print(json.dumps({"id": a.id, "update": a.is_update, "title": a.title, "link": a.link,
                              "source": a.source, "published": a.published.isoformat(), "summary": a.summary,
                              "bidders": [{"name": b.name, "role": b.role} for b in a.bidders],
                              "sources": [s for s, _ in a.sources], "reasons": list(a.reasons)},
                             ensure_ascii=False))
    else:
        for a in alerts:
            print(render(alert_message(a, config.timezone)), end="\n\n")
    print(f"{report.feeds_ok} Feeds neu, {report.feeds_unchanged} unverändert, {report.feeds_failed} gestört; "
          f"{report.entries} Einträge, {len(report.new_alerts)} neue Meldungen.", file=sys.stderr)
    return 0


def classify_stream(config: Config, stdin: TextIO, stdout: TextIO) -> int:
    """One JSON line out per JSON line in; a bad line gets an error line and the rest go on."""
    from bot.pipeline import Analyser

    analyser = Analyser(config)
    bad = 0
    for number, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        ident: object = number
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("each line must be a JSON object")
            ident = item.get("id", number)
            title, summary, lang = item.get("title") or "", item.get("summary") or "", item.get("lang")
            if not isinstance(title, str) or not isinstance(summary, str):
                raise ValueError("title and summary must be strings")
            if lang is not None and not isinstance(lang, str):
                raise ValueError("lang must be a language code such as \"de\"")
            if not title.strip() and not summary.strip():
                raise ValueError("title and summary are both empty")
            a = analyser.analyse(title, summary, lang, always_detect=True)
            out = {"id": ident, "relevant": a.verdict.relevant, "score": a.verdict.score,
                   "language": a.language, "bidders": [{"name": b.name, "role": b.role} for b in a.bidders],
                   "summary": a.summary, "reasons": list(a.verdict.reasons)}
        except ValueError as exc:  # json.JSONDecodeError is one too
            bad += 1
            out = {"id": ident, "error": f"line {number}: {exc}"}
        except Exception as exc:  # one hostile line must not end the stream
            log.exception("classify: line %d failed", number)
            bad += 1
            out = {"id": ident, "error": f"line {number}: {type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")
        stdout.flush()
    return 1 if bad else 0


def cmd_classify(args, config: Config) -> int:
    return classify_stream(config, sys.stdin, sys.stdout)


def cmd_chat(args, config: Config) -> int:
    from bot.commands import Commands
    from bot.platforms.console import chat_loop

    store = _open_store(config)
    try:
        chat_loop(Commands(config, store), sys.stdin, sys.stdout)
    finally:
        store.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dealticker", description="Follow one business deal in German news.")
    parser.add_argument("--config", help="configuration file (default: $DEALTICKER_CONFIG or config/dealticker.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log detail, tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="poll on schedule and serve the configured chat platforms").set_defaults(func=cmd_run)
    poll = sub.add_parser("poll", help="run poll cycles by hand")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.add_argument("--json", action="store_true", help="one JSON line per new alert")
    poll.set_defaults(func=cmd_poll)
    sub.add_parser("classify", help="classify JSON lines from stdin").set_defaults(func=cmd_classify)
    sub.add_parser("chat", help="a local console chat with the bot").set_defaults(func=cmd_chat)
    sub.add_parser("check-config", help="validate the configuration file").set_defaults(func=cmd_check_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Die Konfiguration ist ungültig ({len(exc.problems)} Problem(e)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return args.func(args, config)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one place a surprise becomes one line instead of a traceback
        if args.verbose:
            log.exception("failed")
        else:
            print(f"dealticker {args.command}: {type(exc).__name__}: {exc} (mehr mit --verbose)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
