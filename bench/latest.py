"""`/latest` against a store of 1,000,000 items on SQLite and PostgreSQL: fill time, then p50/p95/max.

Usage: .venv/bin/python bench/latest.py [--items 1000000] [--runs 50] [--backends sqlite,postgresql]
                                        [--sqlite PATH] [--pg URL]

The store is filled the way the bot fills it (Store.migrate() first, so every index of the schema is
there while rows go in), with stories as they come: 1 to 40 items per story (mean about 4.6), the first
report spread over 90 days (the retention period), later reports up to 48 hours after it from other
outlets, bidder mentions on about a quarter of the items, and several languages (German stories with some
English items, English-only and French-only stories), so the shipped language filter ("de") has work to do.
PostgreSQL gets its own schema in the database at --pg (default: the test database), dropped afterwards;
ANALYZE runs there after the fill, as autovacuum would. SQLite gets no ANALYZE: the bot never runs it.

Timed, per backend, for n = 5 and 20: the store call alone (`latest_alerts`) and the whole answer
(`Commands.handle("/latest n")` plus rendering it for Telegram and for Slack). Prints figures only; it
asserts nothing about timing. To time another version of the code, copy this file into that checkout's
bench/ and run it there (it imports `bot` from the checkout it lies in).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot import schema as t  # noqa: E402
from bot.commands import Caller, Commands  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.platforms.slack_blocks import render_blocks  # noqa: E402
from bot.platforms.telegram import render_html  # noqa: E402
from bot.store import Store  # noqa: E402

PG_URL = os.environ.get("DEALTICKER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OUTLETS = ("SPIEGEL", "FAZ", "heise", "tagesschau", "Handelsblatt", "Süddeutsche", "ZEIT", "t3n", "golem",
           "WELT", "n-tv", "Tagesspiegel", "Reuters", "dpa-AFX", "Bloomberg", "CNBC", "Le Monde", "NZZ")
BIDDERS = (("Oracle", "approved"), ("Microsoft", "negotiating"), ("Walmart", None), ("Blackstone", "interested"),
           ("Perplexity", "bid_submitted"), ("Frank McCourt", None))
WORDS = ("Tiktok", "Verkauf", "Oracle", "Bieter", "Frist", "Washington", "Peking", "Algorithmus", "Investoren",
         "Zuschlag", "Gespräche", "Milliarden", "Bewertung", "Regierung", "Gericht", "Einigung", "Kartell")
STORY_SIZES = ((1, 0.30), (3, 0.40), (7, 0.25), (25, 0.05))  # (mean items, share of stories)
CHUNK = 20_000


def story_size(rnd: random.Random) -> int:
    mean = rnd.choices([m for m, _ in STORY_SIZES], [w for _, w in STORY_SIZES])[0]
    return 1 if mean == 1 else rnd.randint(max(2, mean // 2), mean * 3 // 2 + 1)


def sentence(rnd: random.Random, words: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(words)) + "."


MENTIONS_PER_ITEM = (0, 0, 0, 1, 1, 2)  # drawn per item: about 0.67 bidder mentions per item


def generate(total: int, seed: int = 8, mentions_per_item: tuple[int, ...] = MENTIONS_PER_ITEM):
    """Yields (alerts, items, mentions) chunks of rows, oldest story first, with explicit ids."""
    rnd = random.Random(seed)
    end = datetime(2025, 9, 30, tzinfo=timezone.utc)
    stories, planned = [], 0
    while planned < total:
        size = min(story_size(rnd), total - planned)
        stories.append((size, rnd.random() * 90 * 86400))
        planned += size
    stories.sort(key=lambda s: s[1])
    item_id = mention_id = 0
    alerts, items, mentions = [], [], []
    for alert_id, (size, offset) in enumerate(stories, start=1):
        first = end - timedelta(days=90) + timedelta(seconds=offset)
        kind = rnd.choices(("de", "en", "fr"), (0.80, 0.15, 0.05))[0]
        title = sentence(rnd, 9)
        times = sorted([first] + [first + timedelta(minutes=rnd.randint(-120, 48 * 60)) for _ in range(size - 1)])
        for n, when in enumerate(times):
            item_id += 1
            language = "en" if kind == "de" and rnd.random() < 0.15 else kind
            source = OUTLETS[rnd.randrange(len(OUTLETS))]
            link = f"https://{source.lower()}.example/{alert_id}/{n}"
            items.append({"id": item_id, "key": uuid.UUID(int=rnd.getrandbits(128)).hex, "link_key":
                          uuid.UUID(int=rnd.getrandbits(128)).hex, "alert_id": alert_id,
                          "feed_url": f"https://{source.lower()}.example/feed", "source": source,
                          "title": title if n == 0 else sentence(rnd, 9), "teaser": sentence(rnd, 25),
                          "link": link, "published": when, "fetched": when + timedelta(minutes=rnd.randint(1, 30)),
                          "language": language, "score": 0.9, "reasons": '["subject:tiktok"]',
                          "summary": sentence(rnd, 30)})
            for name, role in rnd.sample(BIDDERS, rnd.choice(mentions_per_item)):
                mention_id += 1
                mentions.append({"id": mention_id, "item_id": item_id, "bidder": name, "role": role,
                                 "published": when})
        alerts.append({"id": alert_id, "title": title, "link": items[-size]["link"], "source": items[-size]["source"],
                       "summary": items[-size]["summary"], "published": times[0], "created": times[0],
                       "updated": max(i["fetched"] for i in items[-size:]), "fingerprint": title.lower(),
                       "reasons": '["subject:tiktok"]', "version": size})
        if len(items) >= CHUNK:
            yield alerts, items, mentions
            alerts, items, mentions = [], [], []
    yield alerts, items, mentions


def fill(store: Store, total: int, mentions_per_item: tuple[int, ...] = MENTIONS_PER_ITEM) -> tuple[int, int, int]:
    counts = [0, 0, 0]
    with store.engine.begin() as conn:
        for chunk in generate(total, mentions_per_item=mentions_per_item):
            for i, (table, rows) in enumerate(zip((t.alerts, t.items, t.mentions), chunk)):
                if rows:
                    conn.execute(insert(table), rows)
                    counts[i] += len(rows)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return counts[0], counts[1], counts[2]


def timed(call, runs: int) -> list[float]:
    for _ in range(3):  # warm the caches and the connection pool
        call()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def answer(commands: Commands, caller: Caller, command: str) -> None:
    reply = commands.handle(caller, command)
    render_html(reply)
    render_blocks(reply)


def line(label: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"  {label:<34} p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms   max {ms[-1]:8.2f} ms"


def measure(name: str, url: str, args) -> None:
    config = dataclasses.replace(load_config(ROOT / "config" / "dealticker.toml", env={}), database_url=url)
    store = Store(url)
    store.migrate()
    start = time.perf_counter()
    alerts, items, mentions = fill(store, args.items)
    print(f"{name}: filled {items:,} items, {alerts:,} stories, {mentions:,} mentions in "
          f"{time.perf_counter() - start:.1f} s; languages shown: {', '.join(config.languages)}", flush=True)
    commands = Commands(config, store)
    caller = Caller("console", "bench")
    for n in (5, 20):
        shown = commands.handle(caller, f"/latest {n}")
        print(f"  /latest {n}: {shown.plain().splitlines()[0]}")
        print(line(f"store.latest_alerts({n})", timed(lambda: store.latest_alerts(n, config.languages), args.runs)))
        print(line(f"/latest {n} + Telegram + Slack", timed(
            lambda: answer(commands, caller, f"/latest {n}"), args.runs)), flush=True)
    store.close()


def backend_parser(description: str, items: int | None = 1_000_000) -> argparse.ArgumentParser:
    """The options every store benchmark shares: how many items (None: the bench has no such option),
    timed runs, which backends, which PostgreSQL."""
    parser = argparse.ArgumentParser(description=description)
    if items is not None:
        parser.add_argument("--items", type=int, default=items)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=PG_URL)
    return parser


def on_backends(args, measure, name: str) -> None:
    """Run `measure(label, url, args)` on a temporary SQLite file (or `args.sqlite`) and on a PostgreSQL
    schema of its own in `args.pg`, dropped afterwards, as `args.backends` asks."""
    backends = args.backends.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite", f"sqlite:///{getattr(args, 'sqlite', None) or Path(tmp) / f'{name}.db'}", args)
    if "postgresql" in backends:
        schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg else "?"
            measure("PostgreSQL", f"{args.pg}{sep}options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> int:
    parser = backend_parser(__doc__.splitlines()[0])
    parser.add_argument("--sqlite", help="SQLite file to fill (default: a temporary file, deleted afterwards)")
    args = parser.parse_args()
    on_backends(args, measure, "latest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
