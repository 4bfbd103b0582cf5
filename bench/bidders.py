"""`/bidders` against a store of 1,000,000 items and about 1.8 million bidder mentions on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/bidders.py [--items 1000000] [--runs 50] [--backends sqlite,postgresql]
                                         [--before-runs 3]

The store is filled as bench/latest.py fills it (raw rows, stories of 1 to 40 items over 90 days), with
1 to 3 bidder mentions per item (mean 1.8) among six bidders in several statuses. The rows go in directly,
as an existing database would hold them, so the standings are then built the way a database upgraded to
migration 0006 gets them (Store.rebuild_standings, timed). Timed, per backend: the whole `/bidders`
answer (Commands.handle plus rendering for Telegram and Slack) and `/bidders Oracle` (the timeline), and,
for comparison, the code before the standings table (every mention joined to its item, sorted and
aggregated in Python: `before_standings` below, as it was in bot/store/news.py). Prints figures only.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.latest import answer, backend_parser, fill, line, on_backends, timed  # noqa: E402
from bot import schema as t  # noqa: E402
from bot.commands import Caller, Commands  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.store import Store  # noqa: E402

MENTIONS_PER_ITEM = (1, 2, 2, 2, 2)  # mean 1.8


def before_standings(store: Store) -> int:
    """The aggregation /bidders ran before migration 0006 (commit acc40db), for the comparison."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.mentions.c.bidder, t.mentions.c.role, t.mentions.c.published,
                                   t.items.c.link, t.items.c.title)
                            .join(t.items, t.items.c.id == t.mentions.c.item_id)
                            .order_by(t.mentions.c.published, t.mentions.c.id)).all()
    standings: dict[str, dict] = {}
    for r in rows:
        s = standings.setdefault(r.bidder, {"role": None, "articles": set()})
        s["articles"].add(r.link)
        s.update(last_seen=r.published, last_link=r.link, last_title=r.title)
        if r.role:
            s["role"] = r.role
    return len(standings)


def measure(name: str, url: str, args) -> None:
    config = dataclasses.replace(load_config(ROOT / "config" / "dealticker.toml", env={}), database_url=url)
    store = Store(url)
    store.migrate()
    start = time.perf_counter()
    alerts, items, mentions = fill(store, args.items, MENTIONS_PER_ITEM)
    print(f"{name}: filled {items:,} items, {alerts:,} stories, {mentions:,} mentions in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    store.rebuild_standings()
    print(f"  standings rebuilt from the mentions (migration 0006 on such a database) in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    commands = Commands(config, store)
    caller = Caller("console", "bench")
    print("  " + commands.handle(caller, "/bidders").plain().split("\n\n")[1][:110])
    print(line("/bidders + Telegram + Slack", timed(lambda: answer(commands, caller, "/bidders"), args.runs)))
    print(line("/bidders Oracle + Telegram + Slack", timed(
        lambda: answer(commands, caller, "/bidders oracle"), args.runs)), flush=True)
    if args.before_runs:
        ms = []
        for _ in range(args.before_runs):
            start = time.perf_counter()
            before_standings(store)
            ms.append((time.perf_counter() - start) * 1000)
        print(line(f"before: aggregation ({args.before_runs} runs)", ms), flush=True)
    store.close()


def main() -> int:
    parser = backend_parser(__doc__.splitlines()[0])
    parser.add_argument("--before-runs", type=int, default=3)
    args = parser.parse_args()
    on_backends(args, measure, "bidders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
