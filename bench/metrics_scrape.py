"""What a probe and a scrape cost with a large outbox, on SQLite and PostgreSQL: p50/p95/max.

Usage: .venv/bin/python bench/metrics_scrape.py [--sent 500000] [--pending 2000] [--runs 50]
                                                [--backends sqlite,postgresql] [--pg URL]

The deliveries table is filled as 1,000 subscribers over 500 stories leave it (--sent rows "sent",
spread over 90 days) plus --pending rows still queued (a story just fanned out). Timed: the liveness
query (`Store.ping`), the readiness read (`Store.last_poll`), the outbox gauges (`Store.outbox_backlog`)
and a whole /metrics exposition (`Metrics.exposition`, which reads the last two). PostgreSQL gets its own
schema in the database at --pg, dropped afterwards, and ANALYZE after the fill as autovacuum would.
Prints figures only; asserts nothing about timing.
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bot import schema as t  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.models import PollSummary  # noqa: E402
from bot.platforms.console import ConsolePlatform  # noqa: E402
from bench.latest import backend_parser, on_backends  # noqa: E402
from bot.store import Store  # noqa: E402

CHUNK = 20_000


def fill(store: Store, sent: int, pending: int) -> float:
    began = time.perf_counter()
    now = datetime.now(timezone.utc)
    rows = []

    def row(i: int, status: str, created: datetime) -> dict:
        return {"alert_id": i // 1000 + 1, "followup_id": 0, "platform": "telegram", "chat_id": str(i % 1000),
                "thread_id": "", "status": status, "attempts": 0, "next_attempt": created, "needs_edit": False,
                "created": created, "sent": created if status == "sent" else None}

    with store.engine.begin() as conn:
        for i in range(sent + pending):
            queued = i >= sent
            created = now - (timedelta(seconds=(i - sent) % 600) if queued else timedelta(days=90 * (1 - i / sent)))
            rows.append(row(i, "pending" if queued else "sent", created))
            if len(rows) == CHUNK:
                conn.execute(insert(t.deliveries), rows)
                rows = []
        if rows:
            conn.execute(insert(t.deliveries), rows)
    store.save_poll(PollSummary(finished=now, started=now - timedelta(seconds=20), feeds=500, ok=480))
    return time.perf_counter() - began


def timed(call, runs: int) -> str:
    call()  # warm: the first call opens the connection
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return (f"p50 {statistics.median(times):7.2f} ms  p95 {times[int(0.95 * (len(times) - 1))]:7.2f} ms  "
            f"max {times[-1]:7.2f} ms")


def bench(name: str, store: Store, args) -> None:
    store.migrate()
    took = fill(store, args.sent, args.pending)
    if name == "PostgreSQL":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    metrics = Metrics()
    metrics.watch(store, {"telegram": ConsolePlatform()})
    backlog = store.outbox_backlog()
    print(f"{name}: {args.sent:,} sent + {args.pending:,} pending deliveries, filled in {took:.1f} s; "
          f"backlog {backlog[0][1]} rows, oldest {backlog[0][2]:%H:%M:%S}")
    for label, call in (("ping (/healthz)", store.ping), ("last_poll (/readyz)", store.last_poll),
                        ("outbox_backlog", store.outbox_backlog), ("exposition (/metrics)", metrics.exposition)):
        print(f"  {label:24} {timed(call, args.runs)}")
    print(f"  exposition size {len(metrics.exposition()):,} bytes")


def measure(label: str, url: str, args) -> None:
    store = Store(url)
    try:
        bench(label, store, args)
    finally:
        store.close()


def main() -> None:
    parser = backend_parser(__doc__.splitlines()[0], items=None)
    parser.add_argument("--sent", type=int, default=500_000)
    parser.add_argument("--pending", type=int, default=2_000)
    on_backends(parser.parse_args(), measure, "metrics")


if __name__ == "__main__":
    main()
