"""Time the /bidders race chart and weigh its PNG for 10 and 30 bidders (and the whole /bidders answer).

Usage: python bench/chart.py [--bidders 10,30] [--runs 5]
The chart is drawn in the command's thread for every /bidders without a name, so it must stay a few
milliseconds and small enough to upload at once. Prints the best of --runs: render time, PNG bytes,
image size; then /bidders end to end (SQLite store, timelines read per bidder, table and chart).
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image as Picture  # noqa: E402

from bot.chart import Row, render  # noqa: E402
from bot.statuses import STATUSES  # noqa: E402

START = datetime(2020, 7, 1, 8, tzinfo=timezone.utc)


def race(count: int) -> list[Row]:
    """`count` bidders over three months, each with one to four status changes."""
    rows = []
    for i in range(count):
        changes = tuple((START + timedelta(days=3 * i + 9 * k, hours=i), STATUSES[(i + k) % len(STATUSES)].key)
                        for k in range(1 + i % 4))
        rows.append(Row(f"Bieter {i + 1} Holding", changes, confirmed=i < count * 4 // 5))
    return rows


def best_ms(call, runs: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return 1000 * best, result


def end_to_end(count: int, runs: int) -> float:
    """/bidders through Commands on a fresh SQLite store with `count` bidders, milliseconds."""
    from bot.commands import Caller, Commands
    from bot.config import load_config
    from bot.store import Store
    from tests.factories import article

    config = load_config(Path(__file__).resolve().parent.parent / "config" / "dealticker.toml", env={})
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{folder}/bench.db")
        store.migrate()
        store.add_articles([article(f"Bieter {i + 1} im Rennen, Runde {k}", "SPIEGEL", hours=24 * (3 * i + 9 * k),
                                    discovered=((f"Bieter {i + 1} Holding", STATUSES[(i + k) % len(STATUSES)].key),))
                            for i in range(count) for k in range(1 + i % 4)], 1)
        commands = Commands(config, store)
        ms, reply = best_ms(lambda: commands.handle(Caller("console", "1"), "/bidders"), runs)
        store.close()
    assert reply.image is not None, "no chart was made"
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bidders", default="10,30")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'bidders':>7}  {'render ms':>9}  {'PNG bytes':>9}  {'size':>9}  {'/bidders ms':>11}")
    for count in (int(n) for n in args.bidders.split(",")):
        rows = race(count)
        ms, png = best_ms(lambda: render(rows, "Europe/Berlin", "Bieter im TikTok-Verkauf: Verlauf"), args.runs)
        size = Picture.open(io.BytesIO(png)).size
        whole = end_to_end(count, args.runs)
        print(f"{count:>7}  {ms:>9.1f}  {len(png):>9,}  {size[0]:>4}×{size[1]:<4}  {whole:>11.1f}")


if __name__ == "__main__":
    main()
