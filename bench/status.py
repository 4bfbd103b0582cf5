"""`/status` and the retention step against a store of 1,000,000 items on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/status.py [--items 1000000] [--chats 1000] [--stories-sent 55] [--feeds 1000]
                                        [--runs 50] [--backends sqlite,postgresql] [--pg URL]

The store is filled by bench/latest.py's builder (1M items in about 217,000 stories over 90 days), plus
the outbox: each of --chats subscribed chats got the newest --stories-sent stories (mostly sent, some
failed or uncertain, the newest still pending), and --feeds feeds with their fetch state, a few failing.
PostgreSQL gets ANALYZE after the fill. Timed, per backend, with the 0008 indexes and again without them
(dropped, as a database at 0007 has it): `/status` answered in a subscribed chat (p50/p95/max), and the
retention step of a poll cycle when nothing is due for deletion (store.purge + purge_deliveries with a
retention reaching before the oldest row) and drop_chat. Prints the query plans of those statements.
Prints figures only; it asserts nothing about timing.
"""
from __future__ import annotations

import dataclasses
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, exists, func, insert, select, text, update  # noqa: E402

from bench.latest import backend_parser, fill, line, on_backends, timed  # noqa: E402
from bot import schema as t  # noqa: E402
from bot.commands import Caller, Commands  # noqa: E402
from bot.config import FeedConfig, load_config  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.outbox import FINAL  # noqa: E402

INDEXES = ("ix_alerts_updated", "ix_deliveries_status_created", "ix_deliveries_chat", "ix_followups_item_id")


def fill_outbox(store: Store, chats: int, stories: int, feeds: list[FeedConfig]) -> int:
    rnd = random.Random(10)
    with store.engine.begin() as conn:
        newest = conn.execute(select(t.alerts.c.id, t.alerts.c.created).order_by(t.alerts.c.id.desc())
                              .limit(stories)).all()
        conn.execute(insert(t.subscriptions), [{"platform": "telegram", "chat_id": str(c), "thread_id": "",
                                                "created": newest[-1].created} for c in range(chats)])
        rows, total = [], 0
        for n, (alert_id, created) in enumerate(newest):
            for c in range(chats):
                status = "pending" if n < 2 else rnd.choices(FINAL, (0.97, 0.02, 0.01))[0]
                rows.append({"alert_id": alert_id, "followup_id": 0, "platform": "telegram", "chat_id": str(c),
                             "thread_id": "", "status": status, "attempts": 1, "next_attempt": created,
                             "needs_edit": False, "message_id": str(n) if status == "sent" else None,
                             "created": created, "sent": created if status == "sent" else None})
            if len(rows) >= 20_000:
                conn.execute(insert(t.deliveries), rows)
                total, rows = total + len(rows), []
        if rows:
            conn.execute(insert(t.deliveries), rows)
            total += len(rows)
    states = store.feed_states([(f.url, f.name) for f in feeds])
    failing = [dataclasses.replace(s, error_count=5, status="active", last_error="HTTP 503", error_kind="http",
                                   next_attempt=datetime.now(timezone.utc)) for s in states[::50]]
    store.save_feed_states(failing)
    store.set_meta("last_poll", {"finished": datetime.now(timezone.utc).isoformat(), "feeds": len(feeds)})
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return total


def plans(store: Store, days: int) -> None:
    """The query plans of the statements the retention step and blocking a chat run."""
    d = t.deliveries.c
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    statements = {
        "story purge (old stories)": select(t.alerts.c.id).where(t.alerts.c.updated < cutoff),
        "delivery purge (one batch)": select(d.id).where(
            (d.created < cutoff) & d.status.in_(FINAL) & d.needs_edit.is_(False)
            & ((d.followup_id != 0) | ~exists().where(t.alerts.c.id == d.alert_id))).limit(5000),
        "drop_chat": update(t.deliveries).where((d.platform == "telegram") & (d.chat_id == "7")
                                                & d.status.in_(("pending", "sending"))).values(status="failed"),
        "/status delivery counts": select(d.status, func.count()).group_by(d.status),
    }
    pg = store.engine.dialect.name == "postgresql"
    with store.engine.connect() as conn:
        for label, stmt in statements.items():
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            rows = conn.execute(text(("EXPLAIN " if pg else "EXPLAIN QUERY PLAN ") + sql)).all()
            plan = [r[0] if pg else r[-1] for r in rows]
            print(f"    plan, {label}: " + " | ".join(p.strip() for p in plan[:4]))
        conn.rollback()


def measure(name: str, url: str, args) -> None:
    base = load_config(ROOT / "config" / "dealticker.toml", env={})
    feeds = tuple(FeedConfig(f"Feed {i}", f"https://feed{i}.example/rss", "de") for i in range(args.feeds))
    config = dataclasses.replace(base, database_url=url, feeds=feeds)
    store = Store(url)
    store.migrate()
    start = time.perf_counter()
    alerts, items, _ = fill(store, args.items)
    rows = fill_outbox(store, args.chats, args.stories_sent, list(feeds))
    print(f"{name}: filled {items:,} items, {alerts:,} stories, {rows:,} delivery records ({args.chats} chats), "
          f"{args.feeds} feeds in {time.perf_counter() - start:.1f} s", flush=True)
    with store.engine.connect() as conn:
        oldest = conn.execute(select(func.min(t.alerts.c.updated))).scalar()
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
    keep_all = (datetime.now(timezone.utc) - oldest).days + 2  # a retention under which nothing is due
    commands = Commands(config, store)
    caller = Caller("telegram", "7")
    print("  " + commands.handle(caller, "/status").plain().replace("\n", " / ")[:300])
    for first, label in ((True, "with the 0008 indexes"), (False, "without them (0007)")):
        print(f"  {label}:")
        print(line("/status", timed(lambda: commands.handle(caller, "/status"), args.runs)))
        print(line("store.delivery_counts()", timed(store.delivery_counts, args.runs)))
        print(line("store.purge (nothing due)", timed(lambda: store.purge(keep_all), max(5, args.runs // 5))))
        print(line("purge_deliveries (nothing due)", timed(lambda: store.purge_deliveries(keep_all),
                                                           max(5, args.runs // 5))))
        print(line("drop_chat (rolled back)", timed(lambda: _drop_chat_rolled_back(store), max(5, args.runs // 5))))
        plans(store, keep_all)
        if first:
            with store.engine.begin() as conn:
                for index in INDEXES:
                    conn.execute(text(f"DROP INDEX {index}"))
            store.engine.dispose()  # pooled SQLite connections kept plans that named the dropped indexes
            if store.engine.dialect.name == "postgresql":
                with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("ANALYZE"))
    store.close()


def _drop_chat_rolled_back(store: Store) -> None:
    d = t.deliveries.c
    with store.engine.connect() as conn:  # the statement drop_chat runs, undone so every run finds the same rows
        conn.execute(update(t.deliveries).where((d.platform == "telegram") & (d.chat_id == "7")
                                                & d.status.in_(("pending", "sending"))).values(status="failed"))
        conn.execute(delete(t.subscriptions).where(t.subscriptions.c.chat_id == "-1"))
        conn.rollback()


def main() -> int:
    parser = backend_parser(__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    # 55: what 1,000 chats keep with the delivery purge (bench/memory.py's 200 days: 50,000-55,000 rows).
    parser.add_argument("--stories-sent", type=int, default=55, help="newest stories every chat was sent")
    parser.add_argument("--feeds", type=int, default=1000)
    args = parser.parse_args()
    on_backends(args, measure, "status")
    return 0


if __name__ == "__main__":
    sys.exit(main())
