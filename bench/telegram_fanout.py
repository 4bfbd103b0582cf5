"""Telegram fan-out benchmark: one alert to N subscribed chats through the real delivery path.

Usage: .venv/bin/python bench/telegram_fanout.py [--chats 10000] [--groups-share 0.0] [--quick]
                                                 [--deadline SECONDS] [--progress SECONDS]

What it does (prints figures, asserts nothing about timing):
  * starts the loopback Bot API stand-in (tests.telegram_stub.TelegramStub) with Telegram's limits
    enforced: stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20);
  * builds a throwaway SQLite store (bot.store.Store, migrate()), subscribes --chats Telegram chats
    (--groups-share of them groups, i.e. negative ids, spread evenly), and starts the real
    python-telegram-bot client (bot.platforms.telegram.TelegramPlatform, pointed at the stub) with
    bot.commands.Commands for the shipped config/dealticker.toml;
  * runs the real delivery worker (bot.deliver.Deliverer.run) and then stores ONE article with
    store.add_articles(..., 48), which creates the alert and its N outbox rows in one transaction;
  * waits until no outbox row is pending or sending (store.delivery_counts()) or --deadline passes,
    printing progress every --progress seconds, then stops the worker, the platform and the stub.

The bot paces itself ~10 % under Telegram's 30 messages/s, so 10,000 chats take about six minutes
by design; --chats 1000 (or --quick) is the short run.

Printed: chats, messages sent, wall time, messages per second (overall and in steady state, i.e.
without the first and the last second of sending), the busiest 1-s window, 429s received, lost
(chats that got no message) and duplicated (chats that got more than one) messages, the store's
delivery_counts, and CPU seconds. The stub's HTTP server runs in threads of this process, so the
process CPU figure includes the stub's work; the event-loop thread's own CPU is printed beside it.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import dataclasses
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import Commands  # noqa: E402
from bot.config import TelegramConfig, load_config  # noqa: E402
from bot.deliver import Deliverer  # noqa: E402
from bot.platforms.telegram import TelegramPlatform  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.factories import article  # noqa: E402
from tests.telegram_stub import TelegramStub  # noqa: E402

warnings.filterwarnings("ignore", message=".*retry_after.*")
TITLE = "TikTok-Verkauf: Oracle und Silver Lake unterzeichnen Vertrag für das US-Geschäft"
UNFINISHED = ("pending", "sending")


class CountingHandler(logging.Handler):
    """Counts warnings and errors by logger and keeps the first few lines for the report."""

    def __init__(self, keep: int = 10):
        super().__init__(logging.WARNING)
        self.counts: collections.Counter = collections.Counter()
        self.first: list[str] = []
        self.keep = keep

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[(record.levelname, record.name)] += 1
        if len(self.first) < self.keep:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
            self.first.append(line)


def chat_ids(n: int, groups_share: float) -> list[str]:
    """n distinct chat ids; chat i is a group (negative id) when the running share steps up."""
    out = []
    for i in range(n):
        group = int((i + 1) * groups_share) > int(i * groups_share)
        out.append(str(-(100000 + i)) if group else str(100000 + i))
    return out


def busiest_window(times: list[float], window: float = 1.0) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def bench(args) -> int:
    counter = CountingHandler()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(counter)

    n = args.chats
    deadline_s = args.deadline or (n / 27.0) * 1.5 + 60
    shipped = load_config(ROOT / "config" / "dealticker.toml", env={})
    tmp = tempfile.TemporaryDirectory(prefix="telegram-fanout-")
    stub = TelegramStub().start()
    platform = None
    worker = None
    stop = asyncio.Event()
    store = None
    crashed: list[str] = []
    try:
        stub.limit_rate(per_second=30, per_chat_per_second=1, per_group_per_minute=20)
        config = dataclasses.replace(shipped, feeds=(), database_url=f"sqlite:///{Path(tmp.name) / 'bench.db'}",
                                     telegram=TelegramConfig(token=stub.token, api_url=stub.base_url))
        store = Store(config.database_url)
        store.migrate()

        chats = chat_ids(n, args.groups_share)
        t = time.perf_counter()
        for chat in chats:
            store.subscribe("telegram", chat)
        subscribe_s = time.perf_counter() - t
        groups = sum(c.startswith("-") for c in chats)
        print(f"setup: {n} chats subscribed ({groups} groups) in {subscribe_s:.1f} s; "
              f"deadline {deadline_s:.0f} s; stub at {stub.base_url}", flush=True)

        platform = TelegramPlatform(config.telegram, Commands(config, store))
        # Time each send as the worker sees it (PTB request + the stub's answer), without changing it.
        latencies: list[float] = []
        real_send = platform.send

        async def timed_send(chat_id, thread_id, reply):
            t0 = time.perf_counter()
            try:
                return await real_send(chat_id, thread_id, reply)
            finally:
                latencies.append(time.perf_counter() - t0)

        platform.send = timed_send
        t = time.perf_counter()
        await platform.start()
        print(f"setup: platform started in {time.perf_counter() - t:.2f} s "
              f"(getMe, setMyCommands, long polling)", flush=True)

        deliverer = Deliverer(store, {"telegram": platform}, config.timezone)
        worker = asyncio.create_task(deliverer.run(stop))
        await asyncio.sleep(0.2)  # the worker's first (empty) round

        cpu0, loop_cpu0 = time.process_time(), time.thread_time()
        wall0 = time.perf_counter()
        epoch0 = time.time()
        new, _updated = await asyncio.to_thread(store.add_articles, [article(TITLE)], 48)
        deliverer.wake()
        enqueue_s = time.perf_counter() - wall0
        counts = await asyncio.to_thread(store.delivery_counts)
        print(f"setup: add_articles -> {len(new)} alert, outbox {counts} in {enqueue_s:.2f} s", flush=True)

        next_progress = wall0 + args.progress
        last_sent, last_t = 0, wall0
        timed_out = False
        while True:
            if worker.done():
                crashed.append(f"delivery worker ended early: {worker.exception()!r}")
                break
            counts = await asyncio.to_thread(store.delivery_counts)
            now = time.perf_counter()
            if now >= next_progress:
                sent_now = counts.get("sent", 0)
                print(f"[{now - wall0:6.1f} s] sent {sent_now:6d}/{n}  "
                      f"{(sent_now - last_sent) / (now - last_t):5.1f}/s last interval  "
                      f"429s {stub.rate_limited}  outbox {counts}  cpu {time.process_time() - cpu0:.1f} s",
                      flush=True)
                last_sent, last_t = sent_now, now
                next_progress += args.progress
            if not any(counts.get(s, 0) for s in UNFINISHED):
                break
            if now - wall0 > deadline_s:
                timed_out = True
                break
            await asyncio.sleep(0.25)
        wall = time.perf_counter() - wall0
        cpu, loop_cpu = time.process_time() - cpu0, time.thread_time() - loop_cpu0
        failures_before_stop = len(stub.failures)
    except Exception as exc:  # report, then still clean up and print what we have
        logging.getLogger("bench").exception("benchmark crashed")
        crashed.append(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        stop.set()
        if worker is not None:
            try:
                await asyncio.wait_for(worker, 30)
            except Exception as exc:
                crashed.append(f"stopping the worker: {type(exc).__name__}: {exc}")
        if platform is not None:
            try:
                await asyncio.wait_for(platform.stop(), 30)
            except Exception as exc:
                crashed.append(f"stopping the platform: {type(exc).__name__}: {exc}")
        final_counts = store.delivery_counts() if store is not None else {}
        sent = stub.sent()
        rate_limited, failures, drops = stub.rate_limited, stub.failures, stub.drops
        stub.stop()
        if store is not None:
            store.close()
        tmp.cleanup()

    # --- figures ------------------------------------------------------------------------
    per_chat = collections.Counter(str(m["chat_id"]) for m in sent)
    subscribed = set(chats)
    alert_msgs = [m for m in sent if str(m["chat_id"]) in subscribed]
    lost = [c for c in chats if per_chat[c] == 0]
    dup = [c for c in chats if per_chat[c] > 1]
    wrong_text = sum(1 for m in alert_msgs if "TikTok-Verkauf" not in m["plain_text"])
    times = sorted(m["time"] for m in alert_msgs)
    if times:
        first, last = times[0], times[-1]
        span = last - first
        overall = len(times) / wall if wall else float("nan")
        sending_rate = (len(times) - 1) / span if span > 0 else float("nan")
        if span > 2:
            lo, hi = bisect.bisect_left(times, first + 1), bisect.bisect_right(times, last - 1)
            steady = (hi - lo) / (span - 2)
            buckets = collections.Counter(int(t - first) for t in times[lo:hi])
            full = [buckets.get(s, 0) for s in range(1, int(span) - 1)]  # whole seconds only
            per_sec = f"min {min(full)} / median {statistics.median(full):g} / max {max(full)}" if full else "n/a"
        else:
            steady, per_sec = float("nan"), "n/a"
        first_latency = first - epoch0
        busiest = busiest_window(times)
    else:
        overall = sending_rate = steady = first_latency = float("nan")
        per_sec, busiest = "n/a", 0

    print()
    print("=== Telegram fan-out: one alert to every subscribed chat ===")
    print(f"chats                         {n} ({groups} groups, groups-share {args.groups_share:g})")
    print(f"messages sent (stub accepted) {len(sent)}  (to subscribed chats: {len(alert_msgs)}, "
          f"without the alert title: {wrong_text})")
    print(f"wall time                     {wall:.1f} s  (add_articles -> no row pending/sending"
          f"{'; DEADLINE HIT' if timed_out else ''})")
    print(f"first message after           {first_latency:.2f} s")
    print(f"messages/s overall            {overall:.2f}  (sent / wall time)")
    print(f"messages/s while sending      {sending_rate:.2f}  (first to last message)")
    print(f"messages/s steady state       {steady:.2f}  (without the first and the last second)")
    print(f"messages per whole second     {per_sec}  (steady state)")
    print(f"busiest 1-s window            {busiest} messages  (Telegram limit 30)")
    print(f"send latency (worker view)    p50 {pct(latencies, .5) * 1000:.1f} ms / "
          f"p99 {pct(latencies, .99) * 1000:.1f} ms / max {max(latencies, default=float('nan')) * 1000:.1f} ms "
          f"over {len(latencies)} sends")
    print(f"429s received                 {rate_limited}")
    def errors(fs):
        return collections.Counter(f"{f['method']} {f['status']} {f['reason']}" for f in fs
                                   if f["reason"] != "rate_limit")
    during, at_stop = errors(failures[:failures_before_stop]), errors(failures[failures_before_stop:])
    print(f"other error answers           {sum(during.values())} during the fan-out {dict(during) or ''}; "
          f"{sum(at_stop.values())} while stopping {dict(at_stop) or ''}; connection drops {drops}")
    print(f"lost (chats with no message)  {len(lost)}{'  e.g. ' + ', '.join(lost[:5]) if lost else ''}")
    print(f"duplicated (chats with >1)    {len(dup)}{'  e.g. ' + ', '.join(dup[:5]) if dup else ''}")
    print(f"delivery_counts               {final_counts}")
    print(f"CPU seconds (process)         {cpu:.1f} s  ({100 * cpu / wall:.0f} % of one core; "
          f"includes the stub's server threads and the SQLite worker threads)")
    print(f"CPU seconds (event loop)      {loop_cpu:.1f} s  (PTB client, Deliverer, asyncio)")
    print(f"deliverer.sent                {deliverer.sent}")
    if counter.counts:
        print(f"log warnings/errors           {dict(counter.counts)}")
        for line in counter.first:
            print(f"  {line}")
    if crashed:
        print("PROBLEMS: " + "; ".join(crashed))
    problems = []
    if rate_limited:
        problems.append(f"{rate_limited} 429s")
    if lost:
        problems.append(f"{len(lost)} chats got nothing")
    if dup:
        problems.append(f"{len(dup)} chats got duplicates")
    if timed_out:
        problems.append("deadline hit")
    if times and steady == steady and steady < 24:
        problems.append(f"steady rate {steady:.1f}/s well under the ~27/s the bot aims for")
    print("verdict                       " + ("; ".join(problems) if problems else "ok"))
    return 1 if (crashed or timed_out) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10000, help="subscribed Telegram chats (default 10000)")
    parser.add_argument("--quick", action="store_true", help="shorthand for --chats 1000")
    parser.add_argument("--groups-share", type=float, default=0.0,
                        help="share of the chats that are groups (negative ids), 0..1 (default 0)")
    parser.add_argument("--deadline", type=float, default=0.0,
                        help="give up after this many seconds (default: 1.5 x N/27 + 60)")
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    args = parser.parse_args()
    if args.quick:
        args.chats = 1000
    if args.chats < 1 or not 0.0 <= args.groups_share <= 1.0:
        parser.error("--chats must be >= 1 and --groups-share within 0..1")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
