"""Telegram fan-out benchmark: one alert to N subscribed chats through the real delivery path.

Usage: .venv/bin/python bench/telegram_fanout.py [--chats 10000] [--groups-share 0.0] [--quick]
                                                 [--deadline SECONDS] [--progress SECONDS]

What it does (prints figures, asserts nothing about timing; the set-up is bench/telegram_rig.py's Rig,
shared with bench/reply_burst.py):
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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.telegram_rig import Rig, busiest_window, chat_ids, pct, setup_logging  # noqa: E402


async def bench(args) -> int:
    counter = setup_logging()
    n = args.chats
    deadline_s = args.deadline or (n / 27.0) * 1.5 + 60
    chats = chat_ids(n, args.groups_share)
    groups = sum(c.startswith("-") for c in chats)
    async with Rig(chats) as rig:
        # Time each send as the worker sees it (PTB request + the stub's answer), without changing it.
        latencies: list[float] = []
        real_send = rig.platform.send

        async def timed_send(chat_id, thread_id, reply):
            t0 = time.perf_counter()
            try:
                return await real_send(chat_id, thread_id, reply)
            finally:
                latencies.append(time.perf_counter() - t0)

        rig.platform.send = timed_send
        cpu0, loop_cpu0 = time.process_time(), time.thread_time()
        wall0, epoch0 = time.perf_counter(), time.time()
        await rig.publish()
        timed_out = not await rig.drain(deadline_s, args.progress)
        wall = time.perf_counter() - wall0
        cpu, loop_cpu = time.process_time() - cpu0, time.thread_time() - loop_cpu0
        failures_before_stop = len(rig.stub.failures)
    deliverer, crashed, final_counts = rig.deliverer, rig.crashed, rig.final_counts
    sent, rate_limited, failures, drops = rig.sent, rig.rate_limited, rig.failures, rig.drops

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
                                   if not f["reason"].startswith("rate_limit"))
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
