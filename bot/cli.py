"""Command line: run, poll --once, feeds, classify, chat, check-config."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from enum import IntEnum

from bot.config import Config, ConfigError, load_config

log = logging.getLogger("dealticker")


class Exit(IntEnum):
    """The process exit codes, documented in README.md ("Exit codes")."""

    OK = 0
    FAILURE = 1  # the command ran and failed: every polled feed failed, a bad classify line, a crash
    USAGE = 2  # bad configuration or command line (argparse exits with 2 by itself)
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


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
    return Exit.OK


def _interrupt(signum: int, _frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_run(args, config: Config) -> int:
    from bot.runner import run

    # Until the event loop takes the signals over, SIGTERM (docker stop) ends the start-up as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    store = None
    try:
        from bot.store import Store, migrate_apart

        migrate_apart(config.database_url)  # done before anything else, and alembic stays out of the poller
        store = Store(config.database_url)
        asyncio.run(run(config, store))
    except KeyboardInterrupt as exc:
        log.info("Dealticker stopped (%s) before it was running.", exc.args[0] if exc.args else "SIGINT")
    finally:
        if store is not None:
            store.close()
    return Exit.OK  # a service asked to stop has done what it should


def cmd_feeds(args, config: Config) -> int:
    from bot.feedstate import retried, troubled as is_troubled
    from bot.messages import count, feed_counts, feed_line

    store = _open_store(config)
    try:
        configured = [(f.url, f.name) for f in config.feeds]
        states = store.feed_states(configured)
        if args.retry is not None:
            wanted = args.retry.strip().lower()
            chosen = [s for s in states if not wanted or wanted in (s.name.lower(), s.url.lower())]
            if not chosen:
                print(f"Keinen Feed „{args.retry[:80]}“ gefunden. Die Namen stehen in der Liste von "
                      "`dealticker feeds`.", file=sys.stderr)
                return Exit.USAGE
            troubled = [s for s in chosen if is_troubled(s)]
            store.save_feed_states([retried(s) for s in troubled])
            print(f"{count(len(troubled), 'gestörter Feed wird', 'gestörte Feeds werden')} beim nächsten Abruf "
                  "wieder versucht"
                  f"{'' if troubled else ' (keiner war gestört)'}.")
            states = store.feed_states(configured)
        for state in states:
            print(feed_line(state, config.timezone, detail=True))
            print(f"    {state.url}" + (f" → {state.moved_to}" if state.moved_to else ""))
        print(f"Feeds: {feed_counts(states)}")
    finally:
        store.close()
    return Exit.OK


def cmd_poll(args, config: Config) -> int:
    from bot.messages import alert_message, count
    from bot.pipeline import Pipeline
    from bot.platforms.console import render

    store = _open_store(config)
    try:
        print(f"Abruf von {count(len(config.feeds), 'Feed', 'Feeds')} …", file=sys.stderr)
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
    print(f"{count(report.feeds_ok, 'Feed', 'Feeds')} neu, {report.feeds_unchanged} unverändert, {report.feeds_failed} "
          f"gestört; {count(report.entries, 'Eintrag', 'Einträge')}, "
          f"{count(len(report.new_alerts), 'neue Meldung', 'neue Meldungen')}.", file=sys.stderr)
    if report.feeds_failed and not (report.feeds_ok or report.feeds_unchanged):
        print(f"Kein abgerufener Feed war erreichbar ({report.feeds_failed} gestört); die Gründe stehen im Log.",
              file=sys.stderr)
        return Exit.FAILURE
    return Exit.OK


def cmd_classify(args, config: Config) -> int:
    from bot.classify import classify_stream

    # Bytes in and out: the answers are UTF-8 whatever the locale, and a bad byte is reported, not echoed.
    bad = classify_stream(config, sys.stdin.buffer, sys.stdout.buffer)
    return Exit.FAILURE if bad else Exit.OK


def cmd_chat(args, config: Config) -> int:
    from bot.commands import Commands
    from bot.platforms.console import chat_loop

    store = _open_store(config)
    try:
        chat_loop(Commands(config, store), sys.stdin, sys.stdout)
    finally:
        store.close()
    return Exit.OK


def _global_options(in_command: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command's name. After it, an absent
    option must not overwrite the value given before it: argparse.SUPPRESS sets nothing then."""
    unset = {"default": argparse.SUPPRESS} if in_command else {}
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--config", **unset,
                         help="configuration file (default: $DEALTICKER_CONFIG or config/dealticker.toml)")
    options.add_argument("-v", "--verbose", action="store_true", **unset, help="more log detail, tracebacks on errors")
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dealticker", description="Follow one business deal in German news.",
                                     parents=[_global_options(in_command=False)])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    per_command = [_global_options(in_command=True)]

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        child = sub.add_parser(name, parents=per_command, help=help, description=help)
        child.set_defaults(func=func)
        return child

    command("run", cmd_run, "poll on schedule and serve the configured chat platforms")
    poll = command("poll", cmd_poll, "run poll cycles by hand")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.add_argument("--json", action="store_true", help="one JSON line per new alert")
    feeds = command("feeds", cmd_feeds, "list every feed: state, last success, error, next try")
    feeds.add_argument("--retry", nargs="?", const="", metavar="NAME",
                       help="clear the back-off of the failing feed NAME (of every failing feed without NAME)")
    command("classify", cmd_classify, "classify JSON lines from stdin")
    command("chat", cmd_chat, "a local console chat with the bot")
    command("check-config", cmd_check_config, "validate the configuration file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # a usage error exits here with Exit.USAGE
    _setup_logging(args.verbose)
    for stream in (sys.stdout, sys.stderr):
        # A title with a character the terminal's encoding lacks must not end a command.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        n = len(exc.problems)  # the problems themselves are English, like the logs: one language per message
        print(f"The configuration is invalid ({n} problem{'' if n == 1 else 's'}):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return Exit.USAGE
    try:
        return int(args.func(args, config))
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except Exception as exc:  # the one place a surprise becomes one line instead of a traceback
        if args.verbose:
            log.exception("failed")
        else:
            print(f"dealticker {args.command}: {type(exc).__name__}: {exc} (more with --verbose)", file=sys.stderr)
        return Exit.FAILURE


if __name__ == "__main__":
    sys.exit(main())
