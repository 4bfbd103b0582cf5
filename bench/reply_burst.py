"""Reply burst during a fan-out: M new chats send /subscribe while one alert goes out to N chats.

Usage: .venv/bin/python bench/reply_burst.py [--chats 2000] [--burst 1000] [--window 5] [--after 2]
                                             [--quick] [--deadline SECONDS] [--progress SECONDS]

What it does (prints figures, asserts nothing about timing): bench/telegram_rig.py's Rig (the Bot API
stand-in enforcing 30/s overall, 1/s per chat, 20/min per group; a throwaway SQLite store with --chats
subscribed; the real python-telegram-bot client with long polling; the delivery worker) publishes ONE
article, and --after seconds into that fan-out --burst other private chats send /subscribe, spread evenly
over --window seconds (stub.push_message: the updates reach the bot through getUpdates, as from Telegram).
It waits until every burst chat has a reply and the outbox is empty, or --deadline passes.

Printed: reply latency (the user's view: from the update being queued at the stand-in to the stand-in
accepting the reply) p50/p95/max, confirmations received, 429s, the fan-out rate before, during and after
the replies, the busiest 1-s window of all messages, and alerts delivered once / lost / duplicated.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.telegram_rig import TITLE, Rig, busiest_window, chat_ids, pct, setup_logging  # noqa: E402


async def burst(rig: Rig, chats: list[int], window: float, pushed: dict[int, float]) -> None:
    """Queue /subscribe from every chat, evenly over `window` seconds."""
    start = time.perf_counter()
    for i, chat in enumerate(chats):
        due = start + i * window / len(chats)
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        pushed[chat] = time.time()
        rig.stub.push_message(chat, "/subscribe")


def rate(times: list[float]) -> str:
    if len(times) < 2 or times[-1] <= times[0]:
        return f"n/a ({len(times)} msgs)"
    return f"{(len(times) - 1) / (times[-1] - times[0]):5.1f}/s over {times[-1] - times[0]:5.1f} s ({len(times)} msgs)"


async def bench(args) -> int:
    counter = setup_logging()
    fanout = chat_ids(args.chats, 0.0)
    newcomers = [900000 + i for i in range(args.burst)]
    deadline = args.deadline or (args.chats + args.burst) / 27.0 * 1.5 + 60
    pushed: dict[int, float] = {}
    async with Rig(fanout) as rig:
        wall0 = time.perf_counter()
        await rig.publish()
        await asyncio.sleep(args.after)
        pusher = asyncio.create_task(burst(rig, newcomers, args.window, pushed))

        def answered() -> int:
            return len({m["chat_id"] for m in rig.stub.sent()} & set(newcomers))

        ok = await rig.drain(deadline, args.progress, done=lambda: pusher.done() and answered() == len(newcomers),
                             status=lambda: f"  replies {answered()}/{len(newcomers)}")
        wall = time.perf_counter() - wall0
        await asyncio.sleep(1.5)  # a late duplicate would arrive now
    sent = rig.sent

    by_chat: dict[str, list[dict]] = collections.defaultdict(list)
    for m in sent:
        by_chat[str(m["chat_id"])].append(m)
    replies = {c: by_chat[str(c)] for c in newcomers}
    latencies = [ms[0]["time"] - pushed[c] for c, ms in replies.items() if ms and c in pushed]
    confirmed = sum(1 for ms in replies.values() if ms and "Abonniert" in ms[0]["plain_text"])
    alerts = [m for c in fanout for m in by_chat[c]]
    once = sum(1 for c in fanout if len(by_chat[c]) == 1)
    lost = [c for c in fanout if not by_chat[c]]
    dup = [c for c in fanout if len(by_chat[c]) > 1]
    alert_times = sorted(m["time"] for m in alerts)
    reply_times = sorted(m["time"] for ms in replies.values() for m in ms)
    first_reply, last_reply = (reply_times[0], reply_times[-1]) if reply_times else (0.0, 0.0)

    print()
    print("=== Reply burst during a Telegram fan-out ===")
    print(f"fan-out                       {len(fanout)} chats, one alert each; burst of {len(newcomers)} "
          f"/subscribe from new chats over {args.window:g} s, starting {args.after:g} s in")
    print(f"wall time                     {wall:.1f} s{'' if ok else '  (DEADLINE HIT)'}")
    print(f"confirmations received        {confirmed}/{len(newcomers)}  (chats answered more than once: "
          f"{sum(1 for ms in replies.values() if len(ms) > 1)})")
    print(f"reply latency                 p50 {pct(latencies, .5):.2f} s / p95 {pct(latencies, .95):.2f} s / "
          f"max {max(latencies, default=float('nan')):.2f} s  (update queued -> reply accepted)")
    print(f"replies sent at               {rate(reply_times)}")
    print(f"429s received                 {rig.rate_limited}")
    print(f"fan-out rate, whole           {rate(alert_times)}")
    print(f"  before the first reply      {rate([t for t in alert_times if t < first_reply])}")
    print(f"  while replies went out      {rate([t for t in alert_times if first_reply <= t <= last_reply])}")
    print(f"  after the last reply        {rate([t for t in alert_times if t > last_reply])}")
    print(f"all messages                  {rate(sorted(m['time'] for m in sent))}; busiest 1-s window "
          f"{busiest_window(sorted(m['time'] for m in sent))} (Telegram limit 30)")
    print(f"alerts                        once {once} / lost {len(lost)} / duplicated {len(dup)}  "
          f"(without the title: {sum(1 for m in alerts if TITLE not in m['plain_text'])})")
    print(f"delivery_counts               {rig.final_counts}")
    if counter.counts:
        print(f"log warnings/errors           {dict(counter.counts)}")
        for line in counter.first:
            print(f"  {line}")
    problems = [p for p, bad in ((f"{rig.rate_limited} 429s", rig.rate_limited),
                                 (f"{len(newcomers) - confirmed} chats without confirmation", confirmed < len(newcomers)),
                                 (f"{len(lost)} alerts lost", lost), (f"{len(dup)} alerts duplicated", dup),
                                 ("deadline hit", not ok)) if bad] + rig.crashed
    print("verdict                       " + ("; ".join(problems) if problems else "ok"))
    return 1 if rig.crashed or not ok else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=2000, help="subscribed chats in the fan-out (default 2000)")
    parser.add_argument("--burst", type=int, default=1000, help="new chats sending /subscribe (default 1000)")
    parser.add_argument("--window", type=float, default=5.0, help="seconds the burst is spread over (default 5)")
    parser.add_argument("--after", type=float, default=2.0, help="seconds into the fan-out the burst starts")
    parser.add_argument("--quick", action="store_true", help="shorthand for --chats 400 --burst 200")
    parser.add_argument("--deadline", type=float, default=0.0, help="give up after this many seconds")
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    args = parser.parse_args()
    if args.quick:
        args.chats, args.burst = 400, 200
    if args.chats < 1 or args.burst < 1 or args.window <= 0:
        parser.error("--chats and --burst must be >= 1, --window > 0")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
